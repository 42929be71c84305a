"""Offline commands: no credentials, no Pulumi CLI, no network."""

from __future__ import annotations

import json
from typing import Optional

import typer

from cli_app import options
from cli_app.stack_files import load

# True when this process is the command line itself (set by `cli_app.main.main`), which exits after one command;
# False under an in-process runner (tests), which must get its garbage collector back as it was.
ONE_SHOT_PROCESS = False


def validate(stack: options.Stack = None, config_file: options.ConfigFile = None) -> None:
    """Check a stack file: exit 0 if valid; exit 2 with one `key.path: reason` line per problem."""
    _, path, cfg = load(stack, config_file)
    typer.echo(
        f"{path.name}: valid ({cfg.scenario.value}{', air-gapped' if cfg.air_gapped else ''} on {cfg.target.value}, profile {cfg.profile.value}, "
        f"{len(cfg.workspaces)} workspace(s), control plane {'on' if cfg.control_plane.enabled else 'off'})"
    )


def plan(
    stack: options.Stack = None,
    config_file: options.ConfigFile = None,
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Write DIR/plan.json and DIR/manifests.yaml."),
    update: bool = typer.Option(False, "--update", help="Run as an update (values known) instead of a preview."),
    as_json: options.Json = False,
) -> None:
    """Run the stack's program under recording mocks and print resource counts by type."""
    if ONE_SHOT_PROCESS:
        import atexit
        import gc

        # This process plans once and exits: no cyclic collection at all, not during imports nor the run, and
        # the heap frozen at exit so the interpreter's shutdown collection skips it (a full scan of every object
        # the SDK made: about a second at 100 workspaces). The exit reclaims the memory.
        gc.disable()
        atexit.register(gc.freeze)
    name, _, cfg = load(stack, config_file)
    out_dir = None
    if out is not None:
        from cli_app.common import output_dir

        out_dir = output_dir(out, "--out", files=("plan.json", "manifests.yaml"))
    from planning.render import write_plan
    from planning.run import run_program

    result = run_program(cfg, name, preview=not update, collect=not ONE_SHOT_PROCESS)
    counts = result.counts_by_type()
    if as_json:
        typer.echo(json.dumps({"stack": name, "total": len(result.registrations), "byType": counts}, indent=2))
    else:
        width = max(len(t) for t in counts) if counts else 10
        for type_token, n in counts.items():
            typer.echo(f"{type_token:<{width}}  {n:>4}")
        typer.echo(f"{'total':<{width}}  {len(result.registrations):>4}")
    if out_dir is not None:
        from planning.render import NotPlainData

        try:
            plan_path, manifests_path = write_plan(result, out_dir)
        except NotPlainData as exc:  # a bug of ours, not bad input: say where, write nothing
            from cli_app.common import EXIT_FAILED, die

            die(f"plan files not written: {exc}", EXIT_FAILED)
        except OSError as exc:
            from cli_app.common import die

            die(f"--out: cannot write the plan: {exc.strerror or type(exc).__name__}")
        if not as_json:
            typer.echo(f"wrote {plan_path} and {manifests_path}")
