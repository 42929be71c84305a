"""Options that several commands take, declared once: the flag names, short forms and help text live here and
nowhere else, so `--stack` (or `--json`, `--backend`, ...) reads the same in every command's `--help`.

A command takes one as `stack: options.Stack = None`; the default stays in the signature (typer reads it
there when the option is an `Annotated` type). Imports nothing heavier than typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Stack = Annotated[Optional[str], typer.Option("--stack", "-s", help="Stack name: the stack file is stacks/Pulumi.NAME.yaml.")]
ConfigFile = Annotated[
    Optional[Path], typer.Option("--config-file", "-f", help="Any stack file of that shape.", dir_okay=False)
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
Backend = Annotated[
    Optional[str],
    typer.Option("--backend", help="State backend URL (default: PULUMI_BACKEND_URL, else file://<project>/.pulumi-state)."),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (required when stdin is not a terminal).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Validate and show the change; write nothing.")]
SummaryMd = Annotated[
    Optional[Path],
    typer.Option("--summary-md", help="Write a Markdown summary of what would change (for PR comments).", dir_okay=False),
]
Parallel = Annotated[
    Optional[int], typer.Option("--parallel", "-p", min=1, help="Resource operations in parallel (engine default: 4 x CPUs).")
]
PolicyPack = Annotated[
    Optional[list[Path]], typer.Option("--policy-pack", help="Run a policy pack directory (repeatable).", exists=False)
]
AllowDowngrade = Annotated[
    bool,
    typer.Option(
        "--allow-downgrade",
        help="Deploy a zenmlVersion lower than the deployed one (only to restore a backup taken with it; docs/operations.md).",
    ),
]
# An existing workspace a cluster command acts on (`init --workspace` names a new one: its own option).
Workspace = Annotated[Optional[str], typer.Option("--workspace", "-w", help="Workspace name (workspaces[].name); or --control-plane.")]
ControlPlane = Annotated[
    bool, typer.Option("--control-plane", help="The control plane's in-cluster PostgreSQL instead of a workspace's database.")
]
Timeout = Annotated[int, typer.Option("--timeout", min=10, help="Seconds to wait for each step (Job, scale-down, rollout).")]
# A Pro workspace's identity on the control plane (`init` for the first workspace, `workspace add` for another).
ProOrganizationId = Annotated[
    Optional[str], typer.Option("--pro-organization-id", help="Pro organization id of the workspace (from the control plane).")
]
ProWorkspaceId = Annotated[
    Optional[str], typer.Option("--pro-workspace-id", help="Pro workspace id of the workspace (from the control plane).")
]
EnrollmentKeySecret = Annotated[
    Optional[str],
    typer.Option("--enrollment-key-secret", help="SECRET:KEY holding the enrollment key (default zenml-pro-enrollment:NAME)."),
]
