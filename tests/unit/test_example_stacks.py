"""Every example stack: valid, plans in preview and update mode, and matches its committed graph snapshot.

A snapshot is the sorted URN list (type chain and name of every resource): an unintended change to the graph
shows up in review as a diff of tests/snapshots/<stack>.json. Regenerate with `UPDATE_SNAPSHOTS=1 pytest`.

`stateUrns` are the URNs the resources match in an existing state, aliases resolved (PlanResult.state_urns). A
refactor that moves resources under a new parent changes `urns` but must not change `stateUrns`, except by the
resources it really adds or removes: a changed state URN is a replacement on the next `up`.
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
        "stateUrns": sorted(set(result.state_urns().values())),
    }
    snap = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        snap.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert snap.exists(), f"no snapshot for {name}: run UPDATE_SNAPSHOTS=1 pytest tests/unit/test_example_stacks.py"
    assert json.loads(snap.read_text()) == current, f"graph of {name} changed: review, then UPDATE_SNAPSHOTS=1"


def test_moved_resources_keep_their_state_urns():
    """The control plane's namespace, database and chart moved under the ControlPlane component: each resolves
    (its own alias, or its parent's) to the top-level URN it had, which a deployed stack's state holds."""
    result = run_program(load_stack_file(ROOT / "stacks" / "Pulumi.airgapped-kubernetes.yaml"), "airgapped-kubernetes", preview=False)
    state = result.state_urns()
    prefix = "urn:pulumi:airgapped-kubernetes::zenml-platform::"
    moved = {urn: old for urn, old in state.items() if urn != old}
    assert moved, "nothing moved: the aliases are no longer recorded"
    assert all(urn.startswith(prefix + "zenml-platform:platform:ControlPlane$") for urn in moved)
    assert all(not old.startswith(prefix + "zenml-platform:platform:ControlPlane") for old in moved.values())
    assert state[prefix + "zenml-platform:platform:ControlPlane$zenml-platform:kubernetes:ControlPlane::control-plane"] == (
        prefix + "zenml-platform:kubernetes:ControlPlane::control-plane")
    assert state[prefix + "zenml-platform:platform:ControlPlane$zenml-platform:kubernetes:PlatformNamespace$"
                 "kubernetes:core/v1:Namespace::control-plane-ns"] == (
        prefix + "zenml-platform:kubernetes:PlatformNamespace$kubernetes:core/v1:Namespace::control-plane-ns")
