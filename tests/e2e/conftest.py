"""Session fixtures for the e2e suite: toolchain, local cluster, project copy and a deployed `local` stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import Kube, Pulumi, local_stack, toolchain_env


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def env() -> dict[str, str]:
    return toolchain_env()


@pytest.fixture(scope="session")
def cluster(e2e_dir, env):
    from toolchain import localcluster

    info = localcluster.up(e2e_dir / "cluster")
    try:
        yield info
    finally:
        localcluster.down(e2e_dir / "cluster")


@pytest.fixture(scope="session")
def kube(cluster) -> Kube:
    return Kube(cluster.server, cluster.ca_file, cluster.cert_file, cluster.key_file)


@pytest.fixture(scope="session")
def pulumi(e2e_dir, env, cluster) -> Pulumi:
    return local_stack(e2e_dir / "project", env, cluster.kubeconfig, e2e_dir / "state")


@pytest.fixture(scope="session")
def deployed(pulumi):
    proc = pulumi.run("up", "--stack", "local", "--yes", "--skip-preview", "--diff=false")
    return proc
