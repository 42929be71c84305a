"""Protected data, the documented way down and back up, on the real node: `local` with `profile: production`, a
pipeline run, `pulumi state unprotect --all` + `destroy` (the state forgets everything, the retained database,
its volume and the Secrets holding the generated passwords and keys stay in the cluster), then `up` of the same
stack: it adopts the retained Secrets (names printed, never values), the server re-attaches to the retained
database, the old run is there, the same admin password logs in and every generated Secret keeps its hash.

Its own node on ports 8447/5005 (one node at a time: run it alone):

    sudo CI=true .venv/bin/python -m pytest tests/node/test_reattach.py -m e2e -q -p no:cacheprovider -x -s
"""

from __future__ import annotations

import json
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
from tests.node.test_protected import NS
from tests.node.test_real_node import PIPELINE, VERSION

pytestmark = pytest.mark.e2e

INGRESS_PORT, REGISTRY_PORT = 8447, 5005
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reattach-node")


@pytest.fixture(scope="module")
def rnode(work, env):
    with module_node(work, env, TIMINGS, ingress_port=INGRESS_PORT, registry_port=REGISTRY_PORT) as n:
        yield n


@pytest.fixture(scope="module")
def rkube(rnode) -> Kube:
    return rnode.kube


@pytest.fixture(scope="module")
def rproject(work, env, rnode):
    return production_project(work, rnode, env, REGISTRY_PORT)


def test_unprotect_destroy_then_up_reattaches_to_the_retained_data(rproject, rnode, rkube, work):
    before, run_id = up_and_run_pipeline(rproject, rnode, work, INGRESS_PORT, VERSION, PIPELINE, TIMINGS,
                                         "up (production)")
    hashes = secret_hashes(rkube, [NS])
    # database credentials, secrets-store key, JWT key, admin password: all retained in production.
    assert {k.split("/", 1)[1] for k in hashes} == {"default-mariadb-credentials", "default-secrets-encryption-key",
                                                      "zenml-server-jwt", "zenml-server-admin"}, sorted(hashes)

    # Let go of the protection as documented; destroy forgets everything, the retained objects stay.
    start = time.monotonic()
    out = subprocess.run(["pulumi", "state", "unprotect", "-s", "local", "--all", "--yes"], cwd=rproject.project,
                         env=rproject.env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    proc = cli(rproject, "destroy", "-s", "local", "--yes")
    TIMINGS["unprotect + destroy"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not [r for r in state_of(rproject).get("resources") or [] if r["type"] != "pulumi:pulumi:Stack"]
    assert not rkube.get(f"/apis/apps/v1/namespaces/{NS}/deployments/zenml-server")
    assert secret_hashes(rkube, [NS]) == hashes

    # Without --yes and without a terminal, `up` is refused before anything changes.
    proc = cli(rproject, "up", "-s", "local", timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert not [r for r in state_of(rproject).get("resources") or [] if r["type"] != "pulumi:pulumi:Stack"]

    # up of the same stack adopts the retained Secrets and re-attaches.
    start = time.monotonic()
    proc = cli(rproject, "up", "-s", "local", "--yes")
    TIMINGS["up re-attaching after unprotect + destroy"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for name in ("zenml-default/default-mariadb-credentials", "zenml-default/default-secrets-encryption-key",
                 "zenml-default/zenml-server-jwt", "zenml-default/zenml-server-admin"):
        assert name in proc.stderr, (name, proc.stderr[-3000:])
    assert before["password"] not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    print("\nRE-ATTACH\n" + "\n".join(ln for ln in proc.stderr.splitlines()
                                      if "Secret" in ln or "StatefulSet" in ln or "adopted" in ln))
    after = admin_login(rproject)
    assert after["password"] == before["password"]
    assert secret_hashes(rkube, [NS]) == hashes
    # The internal CAs lived only in the state: the ingress certificate is new, so the client takes the new bundle.
    check = client_as_admin(VERSION, work, after, INGRESS_PORT, f"from zenml.client import Client; print('STATUS', Client().get_pipeline_run('{run_id}').status)")
    assert check.returncode == 0, (check.stdout[-2000:], check.stderr[-3000:])
    assert "STATUS completed" in check.stdout

    # The adoption holds: a further `up` changes nothing and asks nothing.
    start = time.monotonic()
    proc = cli(rproject, "up", "-s", "local", "--yes")
    TIMINGS["second up (no change)"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "adopted" not in proc.stderr
    assert secret_hashes(rkube, [NS]) == hashes
    state_text = json.dumps(state_of(rproject))
    assert before["password"] not in state_text
