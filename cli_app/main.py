"""The typer application. Command modules import only typer at load time; heavy imports happen inside commands,
so `--help` and the offline commands start fast and never load a cloud SDK they do not use."""

from __future__ import annotations

import typer

from cli_app import doctor, engine_cmds, images, init_cmd, offline, residency, schema, workspaces

app = typer.Typer(
    name="zenml-platform",
    help=(
        "Deploy and operate the ZenML platform with Pulumi: validate and plan offline, preview and apply.\n\n"
        "Exit codes: 0 success, 1 operation failed, 2 invalid input or config, 3 changes found where none were expected."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
OFFLINE = "Offline (no engine, no credentials)"
ENGINE = "Engine (Pulumi Automation API)"
app.command(rich_help_panel=OFFLINE)(init_cmd.init)
app.command(rich_help_panel=OFFLINE)(offline.validate)
app.command(rich_help_panel=OFFLINE)(offline.plan)
app.command(rich_help_panel=OFFLINE)(images.images)
app.command(rich_help_panel=OFFLINE)(residency.residency)
app.add_typer(workspaces.app, name="workspace", rich_help_panel=OFFLINE)
app.command(rich_help_panel=OFFLINE)(schema.schema)
app.command(rich_help_panel=ENGINE)(engine_cmds.preview)
app.command(rich_help_panel=ENGINE)(engine_cmds.up)
app.command(rich_help_panel=ENGINE)(engine_cmds.destroy)
app.command(rich_help_panel=ENGINE)(engine_cmds.refresh)
app.command(rich_help_panel=ENGINE)(engine_cmds.drift)
app.command(rich_help_panel=ENGINE)(engine_cmds.outputs)
app.command(rich_help_panel=ENGINE)(doctor.doctor)


def main() -> None:
    app()
