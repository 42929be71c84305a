"""`cluster up` then `down` of a second node leaves the host exactly as it found it, and touches nothing of
another node running beside it (the session's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_down_leaves_nothing_behind(node, node_dir, env, kube):
    from toolchain import localcluster
    from toolchain.localcluster import _free_ports
    from toolchain.node import teardown

    before = teardown.host_snapshot()
    other_pods_before = {p["metadata"]["name"] for p in kube.get("/api/v1/pods")["items"] if p["status"]["phase"] == "Running"}
    state = node_dir / "lifecycle"
    ingress, registry = _free_ports(2)
    localcluster.up(state, mode="node", bin_dir=Path(env["TOOLCHAIN_BIN"]), ingress_port=ingress,
                           registry_port=registry)
    try:
        st = localcluster.status(state)
        assert st["running"] and st["mode"] == "node", st
        during = teardown.host_snapshot()
        assert set(during["netns"]) > set(before["netns"])
        assert json.loads((state / "cluster.json").read_text())["registry"] == f"127.0.0.1:{registry}"
    finally:
        localcluster.down(state)
    after = teardown.host_snapshot()
    assert not state.exists()
    for key in before:
        assert after[key] == before[key], (key, sorted(set(after[key]) ^ set(before[key]))[:20])
    # The session's node kept running through it.
    still = {p["metadata"]["name"] for p in kube.get("/api/v1/pods")["items"] if p["status"]["phase"] == "Running"}
    assert other_pods_before <= still
