"""Protected data on the real node: `local` with `profile: production` (replica count, requests and volume sizes
set explicitly to what one small node can give; protection, retention and backups as the profile sets them).

`destroy` refuses and names the protected resources; `destroy --keep-data` removes everything else and keeps the
database (volume, credentials) and the generated keys in the cluster and the state; a later `up` re-attaches: the
old pipeline run is there and the same admin password logs in. Last, the documented way to let go of the data
(`pulumi state unprotect --all`, then `destroy`) leaves the retained objects in the cluster and nothing in the state.

Its own node on ports 8444/5002 (run it after tests/node/test_interrupted.py, not beside it):

    sudo CI=true .venv/bin/python -m pytest tests/node/test_protected.py -m e2e -q -p no:cacheprovider -x -s
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import Kube
from tests.node.harness import (
    admin_login,
    cli,
    client_as_admin,
    module_node,
    production_project,
    secret_hashes,
    state_of,
    up_and_run_pipeline,
)
from tests.node.test_interrupted import INGRESS_PORT, REGISTRY_PORT
from tests.node.test_real_node import PIPELINE, VERSION

pytestmark = pytest.mark.e2e

NS = "zenml-default"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("protected-node")


@pytest.fixture(scope="module")
def pnode(work, env):
    with module_node(work, env, TIMINGS, ingress_port=INGRESS_PORT, registry_port=REGISTRY_PORT) as n:
        yield n


@pytest.fixture(scope="module")
def pkube(pnode) -> Kube:
    return pnode.kube


@pytest.fixture(scope="module")
def pproject(work, env, pnode):
    return production_project(work, pnode, env, REGISTRY_PORT)


def _exists(kube, path: str) -> bool:
    return kube.get(path) is not None


def test_destroy_refuses_keep_data_keeps_it_and_up_reattaches(pproject, pnode, pkube, work):
    before, run_id = up_and_run_pipeline(pproject, pnode, work, INGRESS_PORT, VERSION, PIPELINE, TIMINGS,
                                         "up (production)")
    hashes = secret_hashes(pkube, [NS])
    assert len(hashes) >= 4, sorted(hashes)
    resources = len(state_of(pproject)["resources"])

    # destroy refuses, naming what is protected; nothing changed.
    proc = cli(pproject, "destroy", "-s", "local", "--yes", timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "refusing to destroy:" in proc.stderr and "are protected (profile production); nothing changed" in proc.stderr
    for name in ("Namespace default-ns", "StatefulSet default-mariadb", "Secret default-mariadb-credentials",
                 "random:RandomPassword default-mariadb-root-password", "random:RandomPassword default-server-jwt-secret",
                 "Secret default-secrets-encryption-key", "PersistentVolumeClaim default-mariadb-backups"):
        assert name in proc.stderr, (name, proc.stderr)
    assert "--keep-data" in proc.stderr and "pulumi state unprotect -s local --all --yes" in proc.stderr
    assert before["password"] not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert len(state_of(pproject)["resources"]) == resources
    assert _exists(pkube, f"/apis/apps/v1/namespaces/{NS}/deployments/zenml-server")

    # destroy --keep-data: the server goes, the data, its credentials and the keys stay.
    start = time.monotonic()
    proc = cli(pproject, "destroy", "-s", "local", "--yes", "--keep-data")
    TIMINGS["destroy --keep-data"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not _exists(pkube, f"/apis/apps/v1/namespaces/{NS}/deployments/zenml-server")
    assert not _exists(pkube, f"/apis/networking.k8s.io/v1/namespaces/{NS}/ingresses/zenml-server")
    assert _exists(pkube, f"/api/v1/namespaces/{NS}")
    assert _exists(pkube, f"/apis/apps/v1/namespaces/{NS}/statefulsets/default-mariadb")
    claims = [c["metadata"]["name"] for c in pkube.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims")["items"]]
    assert any(c.startswith("data-default-mariadb") for c in claims), claims
    kept = secret_hashes(pkube, [NS])
    assert {k for k in kept if k.endswith(("-credentials", "-encryption-key"))} <= set(kept)
    assert all(hashes[k] == v for k, v in kept.items())

    # up again re-attaches: same secrets, the old run, the same admin password.
    start = time.monotonic()
    proc = cli(pproject, "up", "-s", "local", "--yes")
    TIMINGS["up after destroy --keep-data"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    after = admin_login(pproject)
    assert after["password"] == before["password"]
    assert secret_hashes(pkube, [NS]) == hashes
    check = client_as_admin(VERSION, work, before, INGRESS_PORT, f"from zenml.client import Client; print('STATUS', Client().get_pipeline_run('{run_id}').status)")
    assert check.returncode == 0, (check.stdout[-2000:], check.stderr[-3000:])
    assert "STATUS completed" in check.stdout

    # Letting go of the data as documented: unprotect, destroy; retained objects stay in the cluster.
    start = time.monotonic()
    out = subprocess.run(["pulumi", "state", "unprotect", "-s", "local", "--all", "--yes"], cwd=pproject.project,
                         env=pproject.env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    proc = cli(pproject, "destroy", "-s", "local", "--yes")
    TIMINGS["unprotect + destroy"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "stay in the cluster (retainOnDelete)" in proc.stderr, proc.stderr[-3000:]
    assert not [r for r in state_of(pproject).get("resources") or [] if r["type"] != "pulumi:pulumi:Stack"]
    assert _exists(pkube, f"/api/v1/namespaces/{NS}")
    assert _exists(pkube, f"/apis/apps/v1/namespaces/{NS}/statefulsets/default-mariadb")
    left = secret_hashes(pkube, [NS])
    assert any(k.endswith("-credentials") for k in left) and all(hashes[k] == v for k, v in left.items())
    TIMINGS["retained after unprotect + destroy"] = sorted(left)  # type: ignore[assignment]
