"""Locating and loading stack files for commands; one place that turns config problems into exit code 2."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

import typer

EXIT_INVALID = 2


def stack_path(stack: Optional[str], config_file: Optional[Path]) -> tuple[str, Path]:
    """(stack name, stack file) from `--stack NAME` or `--config-file PATH`, exactly one of them."""
    from stack_config.loader import stack_file_path

    if (stack is None) == (config_file is None):
        fail(["give exactly one of --stack NAME or --config-file PATH"])
    if stack is not None:
        check_stack_name(stack, "--stack")
        path = stack_file_path(stack)
        if not path.exists():
            fail([f"--stack: no stack file {path.relative_to(path.parent.parent)}"])
        return stack, path
    assert config_file is not None
    if not config_file.exists():
        fail([f"--config-file: {config_file} does not exist"])
    name = config_file.name
    if name.startswith("Pulumi.") and name.endswith(".yaml") and name.count(".") >= 2:
        return name[len("Pulumi.") : -len(".yaml")], config_file
    return "offline", config_file


STACK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def check_stack_name(stack: str, flag: str) -> str:
    """A Pulumi stack name (letters, digits, '-', '_', '.'): never a path, so `-s ../x` cannot leave stacks/."""
    if not STACK_NAME.fullmatch(stack) or ".." in stack:
        fail([f"{flag}: a stack name is letters, digits, '-', '_' and '.' (at most 100, no path separators or '..')"])
    return stack


def load(stack: Optional[str], config_file: Optional[Path]):
    """Validated `StackConfig` or exit 2 with one `key.path: reason` line per problem (no traceback)."""
    from stack_config import ConfigError, load_stack_file

    name, path = stack_path(stack, config_file)
    try:
        cfg = load_stack_file(path)
    except ConfigError as exc:
        fail([str(p) for p in exc.problems], header=f"{path.name}: invalid configuration")
    show_deprecations(path, cfg)
    return name, path, cfg


# Set for the engine by commands that already showed the notes, so the program run under `pulumi` does not repeat them.
NOTES_SHOWN_ENV = "ZENML_PLATFORM_DEPRECATIONS_SHOWN"


def show_deprecations(path: Path, cfg) -> None:
    """Each deprecated spelling the file uses, once per command, on stderr: a warning, never an error."""
    for note in cfg.deprecations:
        print(f"warning: {path.name}: {note}", file=sys.stderr)


def fail(lines: list[str], header: Optional[str] = None) -> None:
    if header:
        print(header, file=sys.stderr)
    for line in lines:
        print(line, file=sys.stderr)
    raise typer.Exit(EXIT_INVALID)
