"""`images`: every container image the stack would run and its mirrored name (the air-gapped copy list)."""

from __future__ import annotations

from typing import Optional

import typer

from cli_app import options
from cli_app.common import die, emit_json, plain_table


def image_list(cfg, stack: str, mirror: Optional[str] = None) -> list[tuple[str, str]]:
    """(original, mirrored) for every image, from an offline plan of the stack; `mirror` overrides the stack's."""
    from components.images import mirrored
    from planning.run import run_program

    images: dict[str, str] = run_program(cfg, stack, preview=False).outputs.get("images") or {}
    if mirror is not None:
        return sorted((src, mirrored(src, mirror)) for src in images)
    return sorted(images.items())


def images(
    stack: options.Stack = None,
    config_file: options.ConfigFile = None,
    mirror: Optional[str] = typer.Option(None, "--mirror", help="Registry to mirror into (default: the stack's registryMirror)."),
    fmt: str = typer.Option("table", "--format", help="table | pairs (SRC DST per line) | skopeo (copy commands)."),
    as_json: options.Json = False,
) -> None:
    """List every container image the stack runs and the name it has in the mirror."""
    from cli_app.stack_files import load

    if mirror is not None:
        from stack_config.base import registry_problem

        problem = registry_problem(mirror)
        if problem:
            die(f"--mirror: {problem}")
    if fmt not in ("table", "pairs", "skopeo"):
        die("--format: one of table, pairs, skopeo")
    name, _, cfg = load(stack, config_file)
    pairs = image_list(cfg, name, mirror)
    if as_json:
        emit_json([{"image": src, "mirrored": dst} for src, dst in pairs])
    elif fmt == "pairs":
        for src, dst in pairs:
            typer.echo(f"{src} {dst}")
    elif fmt == "skopeo":
        import shlex

        # References are checked by their grammar, and quoted anyway: this list is pasted into a shell.
        for src, dst in pairs:
            typer.echo(f"skopeo copy --all {shlex.quote('docker://' + src)} {shlex.quote('docker://' + dst)}")
    else:
        typer.echo(plain_table(["image", "mirrored as"], [[s, d] for s, d in pairs]))
