"""Interrupted and repeated operations on the real node: an engine SIGKILLed while `up` creates a workspace, then
two concurrent `up`s of one stack.

Its own node (module scope, ports 8444/5002, so it runs beside other nodes) with a copy of `local`. Every
command is `cli.py` (or the `pulumi cancel` it prints) run exactly as docs/operations.md, Recovery, gives it:

    sudo CI=true .venv/bin/python -m pytest tests/node/test_interrupted.py -m e2e -q -p no:cacheprovider -x -s

After every operation the stack's generated secrets (database passwords, JWT key, admin password, secrets-store
key) are compared by hash with their first value (never printed), and the objects the API server holds for the
stack are compared with the resources in the state: no orphan, no ghost.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness import Kube, Pulumi
from tests.node.harness import STACK_FILE, cli, module_node, secret_hashes, state_of
from tests.node.harness import cli_project as make_project

pytestmark = pytest.mark.e2e

INGRESS_PORT, REGISTRY_PORT = 8444, 5002
MANAGED_BY = "zenml-platform"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("interrupted-node")


@pytest.fixture(scope="module")
def inode(work, env):
    with module_node(work, env, TIMINGS, ingress_port=INGRESS_PORT, registry_port=REGISTRY_PORT) as n:
        yield n


@pytest.fixture(scope="module")
def ikube(inode) -> Kube:
    return inode.kube


def cli_bg(project: Pulumi, *args: str, log: Path) -> subprocess.Popen:
    fh = log.open("w")
    return subprocess.Popen([str(project.project / ".venv" / "bin" / "python"), "cli.py", *args], cwd=project.project,
                            env=project.env, stdout=fh, stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.fixture(scope="module")
def iproject(work, env, inode) -> Pulumi:
    from images.push import push_stack

    start = time.monotonic()
    push_stack(f"127.0.0.1:{REGISTRY_PORT}", "local")
    TIMINGS["images pushed"] = round(time.monotonic() - start, 1)
    return make_project(work, inode, env)


@pytest.fixture(scope="module")
def ideployed(iproject, inode):
    start = time.monotonic()
    proc = cli(iproject, "up", "-s", "local", "--yes")
    TIMINGS["up (one workspace)"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


# --- what the cluster holds and what the state says ----------------------------------------------------------------


def _key(api_version: str, kind: str, namespace: str, name: str) -> tuple[str, str, str, str]:
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return (group, kind, namespace, name)


def state_objects(deployment: dict) -> set[tuple[str, str, str, str]]:
    out = set()
    for r in deployment.get("resources") or []:
        t = r.get("type", "")
        if not t.startswith("kubernetes:") or t.startswith("kubernetes:helm.sh") or not r.get("custom"):
            continue
        _, gv, kind = t.split(":")
        group = gv.rsplit("/", 1)[0]
        ns, _, name = r["id"].rpartition("/")
        out.add(("" if group == "core" else group, kind, ns, name))
    return out


def cluster_objects(node, namespaces: set[str], stateful_sets: set[tuple[str, str]]) -> set[tuple[str, str, str, str]]:
    """Every object the API server lists in the stack's namespaces or with its managed-by label, without those
    controllers make (owner references, endpoints, events, the namespace's default ServiceAccount and CA ConfigMap,
    the StatefulSets' volume claims)."""
    kinds = node.kubectl("api-resources", "--verbs=list", "-o", "name").stdout.split()
    kinds = [k for k in kinds if k not in ("events", "events.events.k8s.io", "componentstatuses", "bindings")]
    items = json.loads(node.kubectl("get", ",".join(kinds), "-A", "-o", "json", timeout=300).stdout)["items"]
    out = set()
    for it in items:
        md = it["metadata"]
        ns = md.get("namespace", "")
        mine = ns in namespaces or (md.get("labels") or {}).get("app.kubernetes.io/managed-by") == MANAGED_BY \
            or (it["kind"] == "Namespace" and md["name"] in namespaces)
        if not mine or md.get("ownerReferences"):
            continue
        kind, name = it["kind"], md["name"]
        if kind in ("Endpoints", "EndpointSlice", "Event", "Lease") or (kind, name) in (
                ("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")):
            continue
        if kind == "PersistentVolumeClaim" and any(ns == sns and re.fullmatch(rf"[a-z0-9-]+-{re.escape(sts)}-\d+", name)
                                                   for sns, sts in stateful_sets):
            continue
        out.add(_key(it["apiVersion"], kind, ns, name))
    return out


def assert_no_orphans(project: Pulumi, node) -> dict:
    deployment = state_of(project)
    assert not deployment.get("pending_operations"), [p["resource"]["urn"] for p in deployment["pending_operations"]]
    in_state = state_objects(deployment)
    namespaces = {ns for _, _, ns, _ in in_state if ns} | {n for _, k, ns, n in in_state if k == "Namespace"}
    stateful_sets = {(ns, n) for _, k, ns, n in in_state if k == "StatefulSet"}
    in_cluster = cluster_objects(node, namespaces, stateful_sets)
    assert in_cluster - in_state == set(), "orphans: in the cluster, not in the state"
    assert in_state - in_cluster == set(), "ghosts: in the state, not in the cluster"
    TIMINGS["objects compared with the state"] = len(in_state)
    return deployment


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _wait(what: str, check, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = check()
        if res:
            return res
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _add_second_workspace(project: Pulumi) -> None:
    path = project.project / STACK_FILE
    doc = yaml.safe_load(path.read_text())
    wss = doc["config"]["zenml-platform:workspaces"]
    if not any(w["name"] == "second" for w in wss):
        wss.append({"name": "second", "database": {"inCluster": {"engine": "mariadb", "storageSize": "1Gi"}}})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


SECRETS_SEEN: dict[str, str] = {}


def test_sigkill_mid_up_then_up_recovers_and_converges(ideployed, iproject, inode, ikube, work):
    SECRETS_SEEN.update(secret_hashes(ikube, ["zenml-default"]))
    assert len(SECRETS_SEEN) >= 4, sorted(SECRETS_SEEN)
    _add_second_workspace(iproject)

    # `up` creating workspace `second`; SIGKILL the engine once its database StatefulSet exists in the API server:
    # the engine waits for the StatefulSet's rollout before it records the create, so the kill lands mid-create.
    start = time.monotonic()
    proc = cli_bg(iproject, "up", "-s", "local", "--yes", log=work / "killed-up.log")
    try:
        _wait("workspace second's database StatefulSet",
              lambda: ikube.get("/apis/apps/v1/namespaces/zenml-second/statefulsets/second-mariadb"), timeout=600)
        engines = [p for p in _tree(proc.pid) if _comm(p) == "pulumi"]
        assert engines, "no pulumi process under cli.py"
        victims = [q for e in engines for q in _tree(e)]
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        TIMINGS["killed after"] = round(time.monotonic() - start, 1)
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert rc != 0
    pending = state_of(iproject).get("pending_operations") or []
    TIMINGS["pending operations after the kill"] = len(pending)
    objects = sorted(p["resource"]["urn"].rsplit("::", 1)[-1] for p in pending if p["resource"]["type"].startswith("kubernetes:"))
    assert objects, "the kill left no Kubernetes object pending: it came too late (or too early) to test the recovery"
    TIMINGS["pending Kubernetes objects after the kill"] = objects  # type: ignore[assignment]

    # The next up: the dead engine's lock is named stale, with the command that removes it.
    proc = cli(iproject, "up", "-s", "local", "--yes", timeout=300)
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "local is locked by another operation" in proc.stderr
    assert "that process is gone: the lock is stale" in proc.stderr, proc.stderr
    command = re.search(r"`(PULUMI_BACKEND_URL=\S+ pulumi cancel -s local --yes)`", proc.stderr).group(1)
    assert "Traceback" not in proc.stderr
    start = time.monotonic()
    out = subprocess.run(["bash", "-c", command], cwd=iproject.project, env=iproject.env, capture_output=True,
                         text=True, timeout=120)
    TIMINGS["pulumi cancel"] = round(time.monotonic() - start, 1)
    assert out.returncode == 0, out.stderr[-2000:]

    # up again: resolves the pending operations, completes.
    start = time.monotonic()
    proc = cli(iproject, "up", "-s", "local", "--yes")
    TIMINGS["up after the kill (resolve + complete)"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert f"left {len(pending)} operation(s) pending" in proc.stderr, proc.stderr[-3000:]
    assert "resolved" in proc.stderr and "conflict" not in proc.stderr.lower()
    for name in objects:
        assert re.search(rf"creating \S+ {name}: object zenml-second/\S+ (was created but never recorded; removed"
                         r"|is not in the cluster)", proc.stderr), name
    assert "--clear-pending-creates" in proc.stderr
    (work / "recovering-up.log").write_text(proc.stderr)

    # Converged: a second up changes nothing; the cluster holds exactly what the state holds.
    start = time.monotonic()
    proc = cli(iproject, "up", "-s", "local", "--yes", "--json")
    TIMINGS["second up (no-op)"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    changes = json.loads(proc.stdout)["changes"]
    assert set(changes) <= {"same"}, changes
    assert_no_orphans(iproject, inode)

    # Generated secrets: the first workspace's unchanged; the second's recorded for the next test.
    now = secret_hashes(ikube, ["zenml-default", "zenml-second"])
    assert {k: v for k, v in now.items() if k.startswith("zenml-default/")} == SECRETS_SEEN
    second = {k: v for k, v in now.items() if k.startswith("zenml-second/")}
    assert len(second) >= 4, sorted(second)
    SECRETS_SEEN.update(second)
    servers = ikube.get("/apis/apps/v1/namespaces/zenml-second/deployments/zenml-server")
    assert servers and servers["status"].get("readyReplicas") == 1


def test_a_concurrent_up_is_refused_by_the_lock_and_the_first_completes(ideployed, iproject, inode, ikube, work):
    state = Path(iproject.env["PULUMI_BACKEND_URL"][len("file://"):])
    locks = state / ".pulumi" / "locks"
    first = cli_bg(iproject, "up", "-s", "local", "--yes", log=work / "first-up.log")
    try:
        _wait("the first up's lock file", lambda: list(locks.glob("*/zenml-platform/local/*.json")), timeout=300)
        start = time.monotonic()
        second = cli(iproject, "up", "-s", "local", "--yes", timeout=300)
        TIMINGS["refused concurrent up"] = round(time.monotonic() - start, 1)
        assert second.returncode == 4, second.stderr[-3000:]
        assert "local is locked by another operation" in second.stderr and "nothing changed" in second.stderr
        assert "that process still runs: wait for it to finish" in second.stderr, second.stderr
        assert re.search(r"held by \S+@\S+ \(pid \d+\) since \S+", second.stderr), second.stderr
        assert "pulumi cancel -s local --yes" in second.stderr and "Traceback" not in second.stderr
        assert first.wait(timeout=900) == 0, (work / "first-up.log").read_text()[-3000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
    assert not list(locks.glob("*/zenml-platform/local/*.json"))
    assert_no_orphans(iproject, inode)
    assert secret_hashes(ikube, ["zenml-default", "zenml-second"]) == SECRETS_SEEN
