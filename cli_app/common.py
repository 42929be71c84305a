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
EXIT_LOCKED = 4  # another operation holds the stack's lock (wait and retry, or `pulumi cancel` a stale one)

ROOT = Path(__file__).resolve().parent.parent



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
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)] if rows else [len(h) for h in headers]
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


# --- output paths: refused before anything is written ------------------------------------------------------


def _path_text(value: object, flag: str) -> str:
    text = "" if value is None else str(value)
    if not text.strip():
        die(f"{flag}: give a path (got an empty one)")
    if any(ord(c) < 32 or c == "\x7f" for c in text):
        die(f"{flag}: the path holds a control character (a newline?)")
    return text


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(".")


def _check_creatable(path: Path, flag: str) -> None:
    """Every missing directory up to `path` can be created: the nearest existing ancestor is a writable directory."""
    import os

    anchor = _first_existing(path)
    if not anchor.is_dir():
        die(f"{flag}: {anchor} is a file, so {path} cannot be created under it")
    if not os.access(anchor, os.W_OK | os.X_OK):
        die(f"{flag}: {anchor} is not writable")


def output_dir(value: Optional[str], flag: str, files: tuple[str, ...] = ()) -> Path:
    """A directory the command may create or write `files` into, or exit 2 naming the flag."""
    import os

    path = Path(_path_text(value, flag))
    if path.exists() and not path.is_dir():
        die(f"{flag}: {path} is a file, not a directory")
    if not path.exists():
        _check_creatable(path, flag)
    elif not os.access(path, os.W_OK | os.X_OK):
        die(f"{flag}: {path} is not writable")
    for name in files:
        target = path / name
        if target.is_dir():
            die(f"{flag}: {target} is a directory; it would be overwritten by a file")
        if target.exists() and not os.access(target, os.W_OK):
            die(f"{flag}: {target} is not writable")
    return path


def output_file(value: Optional[str], flag: str) -> Path:
    """A file path the command may create or overwrite, or exit 2 naming the flag."""
    import os

    text = _path_text(value, flag)
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        die(f"{flag}: {path} is a directory; give a file name")
    if path.exists():
        if not os.access(path, os.W_OK):
            die(f"{flag}: {path} is not writable")
    else:
        _check_creatable(path.parent, flag)
    return path


def write_text(path: Path, text: str, what: str = "file") -> None:
    """Write or exit 2 with one line (a race after the checks above, a full disk): never a traceback."""
    try:
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as exc:
        die(f"{path}: cannot write the {what}: {exc.strerror or type(exc).__name__}")
