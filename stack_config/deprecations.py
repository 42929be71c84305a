"""Spellings older stack files use, read as today's model with a note that says what to write instead.

`scenario: airgapped` meant two things at once: the control plane runs in this stack (now `scenario: self-hosted`)
and the network lets nothing out (now `airGap.enabled: true`). It still loads as exactly that pair; a file that
writes it beside a contradicting `airGap.enabled` is refused, naming both key paths (docs/upgrading.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stack_config.errors import Problem

DEPRECATED_SCENARIO = "airgapped"


def upgrade(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(data in today's spelling, one note per deprecated spelling read). Pure: `data` is not changed."""
    out = dict(data)
    notes: list[str] = []
    if out.get("scenario") == DEPRECATED_SCENARIO:
        out["scenario"] = "self-hosted"
        air_gap = out.get("airGap")
        if air_gap is None:
            out["airGap"] = {"enabled": True}
            write = "scenario: self-hosted and airGap: {enabled: true}"
        elif isinstance(air_gap, Mapping) and "enabled" not in air_gap:
            out["airGap"] = {**air_gap, "enabled": True}
            write = "scenario: self-hosted and airGap.enabled: true"
        else:
            # Set: true is the same thing said twice; anything else is checked after validation (contradiction).
            write = "scenario: self-hosted (airGap.enabled is already set)"
        notes.append(
            f"scenario: `{DEPRECATED_SCENARIO}` is deprecated and read as self-hosted behind an air gap; write {write} "
            "instead (docs/upgrading.md)"
        )
    return out, notes


def contradictions(data: Mapping[str, Any], cfg: Any) -> list[Problem]:
    """Problems of a deprecated spelling that says the opposite of a setting written beside it."""
    if data.get("scenario") == DEPRECATED_SCENARIO and not cfg.air_gap.enabled:
        return [Problem(
            "scenario",
            f"`{DEPRECATED_SCENARIO}` (deprecated) means self-hosted with airGap.enabled true, but airGap.enabled is "
            "false: write scenario: self-hosted and keep the airGap.enabled you mean (docs/upgrading.md)",
        )]
    return []
