"""Every example stack: valid, plans in preview and update mode, and matches its committed graph snapshot.

A snapshot is the sorted URN list (type chain and name of every resource): an unintended change to the graph
shows up in review as a diff of tests/snapshots/<stack>.json. Regenerate with `UPDATE_SNAPSHOTS=1 pytest`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from planning.run import run_program
from stack_config import load_stack_file

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "tests" / "snapshots"
STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


def stack_name(path: Path) -> str:
    return path.name[len("Pulumi.") : -len(".yaml")]


@pytest.mark.parametrize("path", STACK_FILES, ids=stack_name)
@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
def test_example_stack_plans(path: Path, preview: bool):
    cfg = load_stack_file(path)
    result = run_program(cfg, stack_name(path), preview=preview)
    assert result.registrations
    assert result.outputs["workspaces"].keys() == {w.name for w in cfg.workspaces}


@pytest.mark.parametrize("path", STACK_FILES, ids=stack_name)
def test_example_stack_graph_matches_snapshot(path: Path):
    name = stack_name(path)
    result = run_program(load_stack_file(path), name, preview=False)
    current = {
        "total": len(result.registrations),
        "countsByType": result.counts_by_type(),
        "urns": sorted(r.urn for r in result.registrations),
    }
    snap = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        snap.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert snap.exists(), f"no snapshot for {name}: run UPDATE_SNAPSHOTS=1 pytest tests/unit/test_example_stacks.py"
    assert json.loads(snap.read_text()) == current, f"graph of {name} changed: review, then UPDATE_SNAPSHOTS=1"
