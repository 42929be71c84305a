"""Exit codes, shared options and small output helpers. Imports nothing heavier than typer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

# Exit codes every command keeps to (documented in docs/cli.md).
EXIT_OK = 0
EXIT_FAILED = 1  # the operation ran and failed (engine error, failed check)
EXIT_INVALID = 2  # invalid input or configuration (no traceback; the key path or flag is named)
EXIT_CHANGES = 3  # changes found where none were expected (preview --expect-no-changes, drift)

ROOT = Path(__file__).resolve().parent.parent

StackOpt = typer.Option(None, "--stack", "-s", help="Stack name: reads stacks/Pulumi.NAME.yaml.")
FileOpt = typer.Option(None, "--config-file", "-f", help="Any stack file of that shape.", dir_okay=False)
JsonOpt = typer.Option(False, "--json", help="Machine-readable output on stdout.")


def err(message: str) -> None:
    print(message, file=sys.stderr)


def die(message: str, code: int = EXIT_INVALID) -> None:
    """Print one or more lines on stderr and exit with `code` (2: invalid input by default)."""
    err(message)
    raise typer.Exit(code)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", "<br>")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def plain_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*headers).rstrip(), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*(str(c) for c in row)).rstrip() for row in rows]
    return "\n".join(out)


def is_interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def stack_name_only(stack: Optional[str]) -> str:
    if not stack:
        die("--stack NAME is required for engine commands (the stack file is stacks/Pulumi.NAME.yaml)")
    assert stack is not None
    return stack
