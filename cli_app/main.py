"""The typer application. Each command lives in its own module and is imported only when it runs."""

from __future__ import annotations

import typer

from cli_app import offline, schema

app = typer.Typer(
    name="zenml-platform",
    help="Deploy and operate the ZenML platform with Pulumi: validate and plan offline, preview and apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(offline.validate)
app.command()(offline.plan)
app.command()(schema.schema)


def main() -> None:
    app()
