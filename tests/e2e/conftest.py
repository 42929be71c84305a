"""Session fixtures for the e2e suite: toolchain, local cluster, project copy and a deployed `local` stack."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, Kube, Pulumi, copy_project, toolchain_env


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
    project = copy_project(e2e_dir / "project")
    # A salt belongs to one passphrase: drop any a developer's own run left in the file.
    text = (ROOT / "stacks" / "Pulumi.local.yaml").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("encryptionsalt:")]
    (project / "stacks" / "Pulumi.local.yaml").write_text("\n".join(lines) + "\n")
    state = e2e_dir / "state"
    state.mkdir()
    run_env = {
        **env,
        "KUBECONFIG": str(cluster.kubeconfig),
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
    }
    run_env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    p = Pulumi(project, run_env)
    p.run("stack", "init", "local")
    return p


@pytest.fixture(scope="session")
def deployed(pulumi):
    proc = pulumi.run("up", "--stack", "local", "--yes", "--skip-preview", "--diff=false")
    return proc
