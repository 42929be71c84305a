"""The typer application. Command modules import only typer at load time; heavy imports happen inside commands,
so `--help` and the offline commands start fast and never load a cloud SDK they do not use."""

from __future__ import annotations

from typing import Annotated

import typer

from cli_app import backups, doctor, engine_cmds, images, init_cmd, offline, residency, schema, workspaces

app = typer.Typer(
    name="zenml-platform",
    help=(
        "Deploy and operate the ZenML platform with Pulumi: validate and plan offline, preview and apply.\n\n"
        "Offline (no engine, no credentials): init, validate, plan, images, residency, workspace, schema.\n"
        "Engine (Pulumi Automation API): preview, up, destroy, refresh, drift, outputs; doctor checks the machine.\n"
        "Cluster (kubectl): backup, restore a workspace's or the control plane's in-cluster database (docs/operations.md).\n\n"
        "Exit codes: 0 success, 1 operation failed, 2 invalid input or config, 3 changes found where none were expected, "
        "4 the stack is locked by another operation.\n"
        "Docs: docs/cli.md."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
OFFLINE = "Offline (no engine, no credentials)"
ENGINE = "Engine (Pulumi Automation API)"
CLUSTER = "Cluster (kubectl, the stack's kube context)"


def version_lines() -> list[str]:
    """This project's version and the pins it deploys with: the Pulumi SDKs (pyproject.toml), the Pulumi CLI the
    toolchain builds (toolchain/versions.env) and the ZenML server version stacks get unless they set their own."""
    import tomllib

    from cli_app.common import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = dict(dep.split("==", 1) for dep in project["dependencies"] if "==" in dep)
    env = {}
    for line in (ROOT / "toolchain" / "versions.env").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            env[key.strip()] = value.strip().strip('"')
    from stack_config.model import StackConfig

    lines = [f"zenml-platform {project['version']}"]
    lines.append(f"pulumi CLI {env.get('PULUMI_VERSION', 'unpinned').lstrip('v')} (toolchain/versions.env)")
    lines += [f"{name} {pins[name]}" for name in sorted(pins) if name == "pulumi" or name.startswith("pulumi-")]
    lines.append(f"zenml server {StackConfig.model_fields['zenml_version'].default} (default zenmlVersion)")
    return lines


def _version(value: bool) -> None:
    if value:
        typer.echo("\n".join(version_lines()))
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version,
                     help="Print this project's version and its pinned Pulumi and ZenML versions, then exit."),
    ] = False,
) -> None:
    pass


app.command(short_help="New commented stack file from a layout template.", rich_help_panel=OFFLINE)(init_cmd.init)
app.command(short_help="Check a stack file (exit 2 with key paths).", rich_help_panel=OFFLINE)(offline.validate)
app.command(short_help="Plan offline under mocks: resources by type, files.", rich_help_panel=OFFLINE)(offline.plan)
app.command(short_help="Every image the stack runs and its mirrored name.", rich_help_panel=OFFLINE)(images.images)
app.command(short_help="Where each kind of data lives for this stack.", rich_help_panel=OFFLINE)(residency.residency)
app.add_typer(workspaces.app, name="workspace", short_help="Add, remove, list workspaces in a stack file.", rich_help_panel=OFFLINE)
app.command(short_help="Regenerate the stack-file JSON Schema and reference.", rich_help_panel=OFFLINE)(schema.schema)
app.command(short_help="What up would change; --summary-md for PRs.", rich_help_panel=ENGINE)(engine_cmds.preview)
app.command(short_help="Deploy or update the stack.", rich_help_panel=ENGINE)(engine_cmds.up)
app.command(short_help="Delete the stack's resources (refused while data is protected; --keep-data).", rich_help_panel=ENGINE)(engine_cmds.destroy)
app.command(short_help="Read real resource state into the stack state.", rich_help_panel=ENGINE)(engine_cmds.refresh)
app.command(short_help="Refresh preview that changes nothing; exit 3 on drift.", rich_help_panel=ENGINE)(engine_cmds.drift)
app.command(short_help="Stack outputs (secrets masked).", rich_help_panel=ENGINE)(engine_cmds.outputs)
app.command(short_help="Run a workspace's (or the control plane's) database backup now and wait for the dump.", rich_help_panel=CLUSTER)(backups.backup)
app.command(short_help="Restore a dump into a workspace's or the control plane's database (consumers down meanwhile).", rich_help_panel=CLUSTER)(backups.restore)
app.command(short_help="Check packages, Pulumi CLI/plugins, cluster, credentials.", rich_help_panel=ENGINE)(doctor.doctor)


def main() -> None:
    offline.ONE_SHOT_PROCESS = True
    app()
