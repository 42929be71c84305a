"""Session fixtures for the real-node suite: a node cluster, the local stack's images in its mirror, and `local`
deployed on it with the real engine.

Everything a test reaches goes through the host's loopback (the node's forwarder) or runs inside the node's
network namespace. In CI (CI=true) a missing prerequisite fails the suite instead of skipping it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.harness import Kube, Pulumi, local_stack, toolchain_env
from tests.node.harness import mask_outputs, running_node

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"real-node suite cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("node")


@pytest.fixture(scope="session")
def env() -> dict[str, str]:
    return toolchain_env()


@pytest.fixture(scope="session")
def node(node_dir, env):
    if os.geteuid() != 0:
        _unavailable("the real node needs root")
    with running_node(node_dir / "cluster", Path(env["TOOLCHAIN_BIN"])) as n:
        yield n


@pytest.fixture(scope="session")
def kube(node) -> Kube:
    i = node.info
    return Kube(i.server, i.ca_file, i.cert_file, i.key_file)


@pytest.fixture(scope="session")
def pushed(node):
    """The local stack's images, built from recipes and pushed to the node's registry (what `images` lists)."""
    from images.push import push_stack

    return push_stack(node.registry, "local")


@pytest.fixture(scope="session")
def pulumi(node_dir, env, node, pushed) -> Pulumi:
    return local_stack(node_dir / "project", env, node.info.kubeconfig, node_dir / "state")


@pytest.fixture(scope="session")
def deployed(pulumi, node):
    proc = pulumi.run("up", "--stack", "local", "--yes", "--skip-preview", "--diff=false", timeout=1500)
    outputs = mask_outputs(json.loads(pulumi.run("stack", "output", "--stack", "local", "--json", "--show-secrets").stdout))
    hosts = [u.split("://", 1)[1].split("/", 1)[0] for u in (w["url"] for w in outputs["workspaces"].values())]
    node.add_hosts(hosts)
    return {"proc": proc, "outputs": outputs}
