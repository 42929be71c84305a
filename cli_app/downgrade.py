"""The downgrade rule: preview/up refuse a zenmlVersion lower than the one a workspace runs (from the stack's
state), before the engine changes anything. ZenML migrates its database forward only, so an older server on a
newer schema is unsupported; restoring a backup taken with the older version is the one reason to go back, and
it is allowed explicitly (`allowDowngrade: true` on the workspace, or `--allow-downgrade`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from packaging.version import InvalidVersion, Version


def deployed_versions(outputs: Mapping[str, Any]) -> dict[str, str]:
    """workspace name -> deployed version, from the stack's `workspaces` output (empty before the first up)."""
    raw = outputs.get("workspaces")
    value = getattr(raw, "value", raw)
    if not isinstance(value, Mapping):
        return {}
    out = {}
    for name, summary in value.items():
        if isinstance(summary, Mapping) and isinstance(summary.get("version"), str):
            out[str(name)] = summary["version"]
    return out


SERVER_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
VERSION_LABEL = "app.kubernetes.io/version"


def running_versions(deployment: Mapping[str, Any]) -> dict[str, str]:
    """workspace name -> the version its server runs, from the state (`pulumi stack export`): the version label of
    the server Deployment's pod template as the engine last applied it. An `up` whose migration failed never
    updates the Deployment (it waits for the Job), so this stays at the old version, where the stack's `workspaces`
    output already names the new one (the program registers its outputs before the Job fails). Workspaces without a
    server Deployment in the state fall back to that output."""
    resources = deployment.get("resources") or []
    versions: dict[str, str] = {}
    for r in resources:
        if r.get("type") == "pulumi:pulumi:Stack" and isinstance(r.get("outputs"), Mapping):
            versions.update(deployed_versions(r["outputs"]))
    for r in resources:
        if r.get("type") != SERVER_DEPLOYMENT or not isinstance(r.get("outputs"), Mapping):
            continue
        meta = r["outputs"].get("metadata") or {}
        template = ((r["outputs"].get("spec") or {}).get("template") or {}).get("metadata") or {}
        labels, pod_labels = meta.get("labels") or {}, template.get("labels") or {}
        if labels.get("app.kubernetes.io/name") != "zenml-server" or not isinstance(pod_labels.get(VERSION_LABEL), str):
            continue
        workspace = labels.get("app.kubernetes.io/instance")
        if isinstance(workspace, str):
            versions[workspace] = pod_labels[VERSION_LABEL]
    return versions


def _lower(wanted: str, deployed: str) -> bool:
    try:
        return Version(wanted) < Version(deployed)
    except InvalidVersion:
        return False  # not a PEP 440 version (e.g. a custom tag): no order to enforce


def downgrade_problems(cfg, deployed: Mapping[str, str], allow_flag: bool = False) -> list[str]:
    """One line per workspace whose configured version is lower than its deployed one and not explicitly allowed."""
    problems = []
    for i, ws in enumerate(cfg.workspaces):
        before: Optional[str] = deployed.get(ws.name)
        if before is None:
            continue
        wanted = cfg.version_of(ws)
        if not _lower(wanted, before) or allow_flag or ws.allow_downgrade:
            continue
        path = f"workspaces[{i}].zenmlVersion" if ws.zenml_version else "zenmlVersion"
        problems.append(
            f"{path}: {wanted} is lower than {before}, the version workspace {ws.name} runs; ZenML does not support "
            f"downgrades (its database migrations only go forward). To restore a backup taken with {wanted}, set "
            f"workspaces[{i}].allowDowngrade: true or pass --allow-downgrade (docs/operations.md)"
        )
    return problems
