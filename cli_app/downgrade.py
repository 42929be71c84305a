"""The downgrade rule: preview/up refuse a zenmlVersion lower than the one a workspace runs (from the stack's
outputs), before the engine changes anything. ZenML migrates its database forward only, so an older server on a
newer schema is unsupported; restoring a backup taken with the older version is the one reason to go back, and
it is allowed explicitly (`allowDowngrade: true` on the workspace, or `--allow-downgrade`)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

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
