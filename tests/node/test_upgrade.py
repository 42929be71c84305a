"""Day two on the real node: a ZenML upgrade (0.97.0 -> 0.98.0) through `cli.py up`, a migration the database
refuses, generated secrets that never change, and a client token that survives a server restart.

Its own node on ports 8443 (ingress) and 5001 (registry), beside other nodes, with a copy of `local` at the
older version. Ordered, sharing one deployment:

1. deploy 0.97.0, run a pipeline with the 0.97.0 client; a plain rerun of `up` changes no generated secret;
2. the ZenML database user loses its DDL rights (REVOKE in the database pod), zenmlVersion goes to 0.98.0:
   `up` fails with the migration Job's log in its message while the 0.97.0 server keeps answering through the
   ingress, and nothing is lost;
   going back to 0.97.0 then is no downgrade (the state still runs it) and leaves the server alone;
3. the rights come back and the same `up` completes: the 0.98.0 migration Job (with ZenML's in-memory pre-migration
   backup, as the stack configures it) completed before any 0.98.0 server pod was created, the old run is still
   there, a new run works, the old version's Job is gone, the secrets are the same;
4. a token issued before a server pod restart still works after it.

    CI=true .venv/bin/python -m pytest tests/node/test_upgrade.py -m e2e -q -p no:cacheprovider -x -s
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from tests.e2e.harness import Kube, Pulumi
from tests.node.harness import HealthPoller, Masked, cli, cli_project, module_node, run_client
from tests.node.test_real_node import (
    HOST,
    NS,
    PIPELINE,
    VERSION,
    _pods,
    _ready,
    _sql,
    _ts,
    _wait,
)
from tests.node.versions import UPGRADE_FROM

pytestmark = pytest.mark.e2e

OLD, NEW = UPGRADE_FROM, VERSION
INGRESS_PORT, REGISTRY_PORT = 8443, 5001
STACK_FILE = "stacks/Pulumi.local.yaml"
TIMINGS: dict[str, float] = {}
DDL = "ALTER, CREATE, DROP, INDEX, REFERENCES"


# --- fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("upgrade-node")


@pytest.fixture(scope="module")
def unode(work, env):
    with module_node(work, env, TIMINGS, ingress_port=INGRESS_PORT, registry_port=REGISTRY_PORT) as n:
        yield n


@pytest.fixture(scope="module")
def ukube(unode) -> Kube:
    return unode.kube


def _set_version(path: Path, version: str) -> None:
    doc = yaml.safe_load(path.read_text())
    doc["config"]["zenml-platform:zenmlVersion"] = version
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture(scope="module")
def uproject(work, env, unode) -> Pulumi:
    from images.build import stack_images
    from images.push import push_pairs

    def backups_on(doc: dict) -> None:
        # Backups on (the dev profile has none), so the runbook's first step, `backup`, runs here too.
        [ws] = doc["config"]["zenml-platform:workspaces"]
        ws["database"]["inCluster"]["backup"] = {"enabled": True, "storageSize": "1Gi"}

    project = cli_project(work, unode, env, edit=backups_on)
    path = project.project / STACK_FILE
    # Both versions' images in the node's registry before anything is deployed (the upgrade pulls the new one).
    start = time.monotonic()
    pairs = []
    for version in (OLD, NEW):
        _set_version(path, version)
        pairs += stack_images(None, config_file=path, mirror=unode.registry)
    push_pairs(pairs)
    TIMINGS["images pushed"] = round(time.monotonic() - start, 1)
    _set_version(path, OLD)
    return project


class _Outputs(dict):
    def __repr__(self) -> str:
        return f"<stack outputs {sorted(self)}; values not shown>"


@pytest.fixture(scope="module")
def udeployed(uproject, unode):
    start = time.monotonic()
    proc = cli(uproject, "up", "-s", "local", "--yes")
    assert proc.returncode == 0, proc.stderr[-4000:]
    TIMINGS[f"up {OLD} (first deploy)"] = round(time.monotonic() - start, 1)
    outputs = json.loads(cli(uproject, "outputs", "-s", "local", "--show-secrets", "--json").stdout)
    unode.add_hosts([u.split("://", 1)[1].split("/", 1)[0] for u in (w["url"] for w in outputs["workspaces"].values())])
    return _Outputs(outputs)


@pytest.fixture(scope="module")
def ctx(udeployed, unode, work) -> dict[str, Any]:
    ca_file = work / "zenml-ca.pem"
    ca_file.write_text(udeployed["caBundle"])
    creds = udeployed["adminCredentials"]["default"]
    client_dir = work / "client"
    client_dir.mkdir(exist_ok=True)
    (client_dir / "pipeline.py").write_text(PIPELINE)
    return {"ca_file": ca_file, "ca": udeployed["caBundle"], "user": creds["username"],
            "password": Masked(creds["password"]), "url": f'{udeployed["workspaces"]["default"]["url"]}:{unode.ingress_port}',
            "client_dir": client_dir}


# --- helpers -------------------------------------------------------------------------------------------------------

def _client(ctx, version: str, script: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run_client(version, ctx["client_dir"], ctx["url"], ctx["user"], ctx["password"], ctx["ca_file"], script,
                      timeout=timeout)


def _run_pipeline(ctx, version: str) -> str:
    proc = _client(ctx, version, "import runpy; runpy.run_path('pipeline.py', run_name='__main__')")
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    _, run_id, status = [ln for ln in proc.stdout.splitlines() if ln.startswith("RUN ")][-1].split()
    assert status.endswith("completed"), status
    return run_id


def _run_status(ctx, version: str, run_id: str) -> str:
    proc = _wait(f"the {version} client to read run {run_id}", lambda: (r := _client(
        ctx, version, f"from zenml.client import Client; print('STATUS', Client().get_pipeline_run('{run_id}').status)",
        timeout=300)).returncode == 0 and r, timeout=300, interval=5)
    return [ln for ln in proc.stdout.splitlines() if ln.startswith("STATUS ")][-1].split()[1]


def _secrets(kube) -> dict[str, dict[str, str]]:
    """Every Opaque Secret of the workspace namespace: name -> decoded data (held by the test, never printed)."""
    out = {}
    for s in kube.get(f"/api/v1/namespaces/{NS}/secrets")["items"]:
        if s.get("type", "Opaque") == "Opaque":
            out[s["metadata"]["name"]] = {k: base64.b64decode(v).decode(errors="replace")
                                          for k, v in (s.get("data") or {}).items()}
    return out


def _secret_hashes(kube) -> dict[str, str]:
    """name -> sha256 of the Secret's data: what the test compares (and may print)."""
    return {n: hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16] for n, d in _secrets(kube).items()}


def _assert_no_secret_in(kube, text: str) -> None:
    leaked = sorted(f"{name}/{key}" for name, data in _secrets(kube).items() for key, value in data.items()
                    if len(value) >= 12 and value in text)
    assert not leaked, f"secret values of {leaked} appear in the output (values not shown)"


def _mariadb(node, kube, sql: str) -> str:
    """Run SQL as the database's root inside the database pod (root's password from the pod's own env).
    `$MARIADB_USER` and `$MARIADB_DATABASE` in `sql` are the pod's ZenML user and database."""
    pods = [p for p in _pods(kube, NS) if p["metadata"]["labels"].get("app.kubernetes.io/name") == "mariadb"
            and p["status"]["phase"] == "Running"]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    pod = pods[0]
    return node.kubectl("exec", "-n", NS, pod["metadata"]["name"], "-c", pod["spec"]["containers"][0]["name"], "--",
                        "env", f"Q={sql}", "sh", "-c",
                        'Q=$(printf %s "$Q" | sed "s/\\$MARIADB_USER/$MARIADB_USER/g; s/\\$MARIADB_DATABASE/$MARIADB_DATABASE/g"); '
                        'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -B --socket=/run/mysqld/mysqld.sock '
                        '-e "$Q"').stdout.strip()


def _migration_jobs(kube) -> list[dict]:
    return [j for j in kube.get(f"/apis/batch/v1/namespaces/{NS}/jobs")["items"]
            if j["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "migration"]


def _server_pods(kube, version: str | None = None) -> list[dict]:
    return [p for p in _pods(kube, NS)
            if p["metadata"]["labels"].get("app.kubernetes.io/name") == "zenml-server"
            and p["metadata"]["labels"].get("app.kubernetes.io/component") == "server"
            and (version is None or p["metadata"]["labels"].get("app.kubernetes.io/version") == version)
            and p["status"]["phase"] in ("Running", "Pending") and not p["metadata"].get("deletionTimestamp")]


def _job_log(node, job: str) -> str:
    """The Job's pod log without ZenML's colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", node.kubectl("logs", "-n", NS, f"job/{job}", "--tail=-1").stdout)


def _server_events(kube) -> list[str]:
    """Probe failures, kills and restarts of the workspace's pods, as the cluster recorded them."""
    return sorted(f'{e.get("lastTimestamp") or e.get("eventTime")} {e["involvedObject"]["name"]} {e["reason"]}: '
                  f'{(e.get("message") or "")[:160]}' for e in kube.get(f"/api/v1/namespaces/{NS}/events")["items"]
                  if e.get("reason") in ("Unhealthy", "Killing", "BackOff", "Started", "Pulled", "Created", "Scheduled"))


def _request(node, method: str, path: str, ca: str, headers: dict[str, str] | None = None, body: bytes = b"",
             timeout: float = 15) -> tuple[int, bytes]:
    """One HTTPS request through the ingress on the host's loopback, verified against the stack's CA."""
    tls_ctx = ssl.create_default_context(cadata=ca)
    head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", node.ingress_port), timeout=timeout) as raw:
        with tls_ctx.wrap_socket(raw, server_hostname=HOST) as tls:
            tls.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            chunks = []
            while data := tls.recv(65536):
                chunks.append(data)
    resp = b"".join(chunks)
    status_line, _, rest = resp.partition(b"\r\n")
    return int(status_line.split(b" ", 2)[1]), rest.partition(b"\r\n\r\n")[2]


def _from_zenml(body: bytes) -> bool:
    """Whether a response body is ZenML's (every API answer, errors included, is JSON), not the ingress's own."""
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


# --- tests ---------------------------------------------------------------------------------------------------------

def test_old_version_deployed_a_run_and_a_plain_rerun_keeps_every_secret(udeployed, uproject, unode, ukube, ctx, work):
    assert udeployed["workspaces"]["default"]["version"] == OLD
    [server] = _server_pods(ukube, OLD)
    assert _ready(server)
    ctx["old_run"] = run_id = _run_pipeline(ctx, OLD)
    assert _sql(unode, ukube, f"SELECT COUNT(*) FROM pipeline_run WHERE id='{run_id.replace('-', '')}'") == "1"
    ctx["hashes"] = before = _secret_hashes(ukube)
    # The generated keys the issue names are all there: database passwords, JWT key, admin password, store key.
    assert {"zenml-server-jwt", "zenml-server-admin"} <= set(before), sorted(before)
    assert any("credentials" in n for n in before) and any("encryption" in n or "store" in n for n in before), sorted(before)
    start = time.monotonic()
    proc = cli(uproject, "up", "-s", "local", "--yes", "--json")
    TIMINGS["up, no change"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert not {k: v for k, v in result["changes"].items() if k != "same"}, result["changes"]
    assert _secret_hashes(ukube) == before


def test_a_migration_the_database_refuses_fails_up_with_the_job_log_and_loses_nothing(uproject, unode, ukube, ctx):
    old_jobs = [j["metadata"]["name"] for j in _migration_jobs(ukube)]
    assert len(old_jobs) == 1 and old_jobs[0].startswith(f"zenml-migrate-{OLD.replace('.', '-')}-"), old_jobs
    # The ZenML user keeps reading and writing rows (the old server serves) but may no longer change the schema.
    _mariadb(unode, ukube, f"REVOKE {DDL} ON `$MARIADB_DATABASE`.* FROM '$MARIADB_USER'@'%'")
    # SHOW GRANTS also prints the password hash: only the database-level privilege list is kept (and shown).
    grants = _mariadb(unode, ukube, "SHOW GRANTS FOR '$MARIADB_USER'@'%'")
    [on_db] = [ln for ln in grants.splitlines() if " ON `" in ln]
    privileges = {p.strip() for p in on_db.split(" ON ", 1)[0].removeprefix("GRANT ").split(",")}
    assert "SELECT" in privileges and not privileges & {*DDL.split(", "), "ALL PRIVILEGES"}, sorted(privileges)

    # The runbook: back up now, bump zenmlVersion, preview, up.
    start = time.monotonic()
    backup = cli(uproject, "backup", "-s", "local", "-w", "default", "--json", timeout=900)
    TIMINGS["backup before the upgrade"] = round(time.monotonic() - start, 1)
    assert backup.returncode == 0, backup.stderr[-3000:]
    assert json.loads(backup.stdout)["dump"].endswith(".sql.gz")
    _set_version(uproject.project / STACK_FILE, NEW)
    start = time.monotonic()
    preview = cli(uproject, "preview", "-s", "local", "--json", timeout=600)
    TIMINGS["preview of the upgrade"] = round(time.monotonic() - start, 1)
    assert preview.returncode == 0, preview.stderr[-3000:]
    planned = {r["name"]: r["op"] for r in json.loads(preview.stdout)["resources"]}
    assert planned.get("default-server-migrate") == "replace", planned
    assert planned.get("default-server-deployment") == "update", planned

    start = time.monotonic()
    with HealthPoller(unode, HOST, ctx["ca"]) as health:
        proc = cli(uproject, "up", "-s", "local", "--yes")
    TIMINGS["up with a refused migration (fails)"] = round(time.monotonic() - start, 1)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-4000:]
    assert "Traceback" not in proc.stderr.split("log of Job", 1)[0], proc.stderr[-4000:]
    # The message carries the failed migration Job's own log, with the database's refusal in it.
    assert f"log of Job {NS}/zenml-migrate-{NEW.replace('.', '-')}-" in proc.stderr, proc.stderr[-4000:]
    excerpt = proc.stderr.split("log of Job", 1)[1]
    assert "denied" in excerpt.lower(), excerpt[-3000:]
    assert "Backing up the database before migration" in excerpt or "migration" in excerpt.lower(), excerpt[-3000:]
    _assert_no_secret_in(ukube, out)
    print("\nFAILED UP STDERR (tail)\n" + proc.stderr[-2500:])
    ctx["failed_up_health"] = health
    # The old server still serves through the ingress (during: checked at the end of this test).
    [server] = _server_pods(ukube)
    assert server["metadata"]["labels"]["app.kubernetes.io/version"] == OLD and _ready(server)
    assert [unode.https(HOST, "/health", ctx["ca"])[0] for _ in range(3)] == [200] * 3
    # Nothing lost: the old run is there, through the API and in the database, which is still at the old schema.
    assert _run_status(ctx, OLD, ctx["old_run"]).endswith("completed")
    assert _sql(unode, ukube, "SELECT version_num FROM alembic_version") == OLD
    # The old version's finished Job was deleted when the new version's Job was created; the failed one stays.
    jobs = _migration_jobs(ukube)
    assert [j["metadata"]["name"] for j in jobs if j["metadata"]["name"] in old_jobs] == []
    [failed] = jobs
    assert (failed["status"].get("failed") or 0) >= 1 and not failed["status"].get("succeeded"), failed["status"]
    assert _secret_hashes(ukube) == ctx["hashes"]
    # What the stack's outputs say is deployed after the failed up (the downgrade rule reads them).
    deployed = json.loads(cli(uproject, "outputs", "workspaces", "-s", "local", "--json").stdout)["default"]["version"]
    print(f"\nworkspaces output after the failed up: version {deployed}")
    ctx["version_after_failed_up"] = deployed
    # ... and it answered the whole time the failed upgrade ran.
    restarts = server["status"]["containerStatuses"][0]["restartCount"]
    print(f"\nhealth during the failed up: {len(health.seen)} probes, not 200: {health.failures()}, "
          f"server restarts: {restarts}\n" + "\n".join(_server_events(ukube)[-40:]))
    assert len(health.seen) >= 5 and not health.failures(), (health.failures(), len(health.seen))


def test_going_back_after_the_failed_upgrade_is_not_a_downgrade(uproject, unode, ukube, ctx):
    """The failed up's outputs already name the new version, but its server Deployment was never updated, and the
    downgrade rule reads the state: setting the old version back needs no --allow-downgrade. The `up` brings the old
    version's migration Job back (a no-op on the old schema) and leaves the serving server alone."""
    assert ctx["version_after_failed_up"] == NEW  # what the outputs say: why the rule reads the Deployment instead
    [server] = _server_pods(ukube)
    _set_version(uproject.project / STACK_FILE, OLD)
    try:
        preview = cli(uproject, "preview", "-s", "local", "--json", timeout=600)
        assert preview.returncode == 0, preview.stderr[-3000:]
        assert "refusing a downgrade" not in preview.stderr
        planned = {r["name"]: r["op"] for r in json.loads(preview.stdout)["resources"]}
        assert planned.get("default-server-migrate") == "replace", planned
        assert "default-server-deployment" not in planned, planned  # the state already runs the old version
        start = time.monotonic()
        with HealthPoller(unode, HOST, ctx["ca"]) as health:
            proc = cli(uproject, "up", "-s", "local", "--yes")
        TIMINGS[f"up back to {OLD} after the failed upgrade"] = round(time.monotonic() - start, 1)
        assert proc.returncode == 0, proc.stderr[-4000:]
        [job] = _migration_jobs(ukube)
        assert job["metadata"]["name"].startswith(f"zenml-migrate-{OLD.replace('.', '-')}-"), job["metadata"]["name"]
        assert job["status"].get("succeeded") == 1, job["status"]
        [again] = _server_pods(ukube)
        assert again["metadata"]["uid"] == server["metadata"]["uid"] and _ready(again)
        assert _sql(unode, ukube, "SELECT version_num FROM alembic_version") == OLD
        assert _run_status(ctx, OLD, ctx["old_run"]).endswith("completed")
        assert _secret_hashes(ukube) == ctx["hashes"]
        out = json.loads(cli(uproject, "outputs", "workspaces", "-s", "local", "--json").stdout)
        assert out["default"]["version"] == OLD
        assert len(health.seen) >= 3 and not health.failures(), health.failures()
    finally:
        _set_version(uproject.project / STACK_FILE, NEW)


def test_with_the_rights_back_the_same_up_upgrades_migration_first(uproject, unode, ukube, ctx):
    _mariadb(unode, ukube, "GRANT ALL PRIVILEGES ON `$MARIADB_DATABASE`.* TO '$MARIADB_USER'@'%'")
    start = time.monotonic()
    with HealthPoller(unode, HOST, ctx["ca"]) as health:
        proc = cli(uproject, "up", "-s", "local", "--yes")
    TIMINGS[f"up {OLD} -> {NEW}"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"\nhealth during the upgrade: {len(health.seen)} probes, not 200: {health.failures()}")

    [job] = _migration_jobs(ukube)
    name = job["metadata"]["name"]
    assert name.startswith(f"zenml-migrate-{NEW.replace('.', '-')}-") and job["status"].get("succeeded") == 1, job["status"]
    finished = _ts(job["status"]["completionTime"])
    TIMINGS["migration Job (start to completion)"] = round((finished - _ts(job["status"]["startTime"])).total_seconds(), 1)
    servers = _wait("the new server pods to be Ready", lambda: (s := _server_pods(ukube)) and all(
        _ready(p) and p["metadata"]["labels"]["app.kubernetes.io/version"] == NEW for p in s) and s, timeout=300)
    for p in servers:
        created = _ts(p["metadata"]["creationTimestamp"])
        started = _ts(p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
        assert created >= finished, f"{NEW} server pod created {created}, before the migration completed {finished}"
        assert started >= finished
    replicasets = [r for r in ukube.get(f"/apis/apps/v1/namespaces/{NS}/replicasets")["items"]
                   if r["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/version") == NEW]
    assert replicasets and all(_ts(r["metadata"]["creationTimestamp"]) >= finished for r in replicasets)
    assert _sql(unode, ukube, "SELECT version_num FROM alembic_version") == NEW

    # ZenML's own pre-migration backup ran as the stack configures it (in memory, nothing written to disk).
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ZENML_STORE_BACKUP_STRATEGY"] == "in-memory", env.get("ZENML_STORE_BACKUP_STRATEGY")
    log = _job_log(unode, name)
    assert "Backing up the database before migration to memory." in log, log[-3000:]
    assert "Database successfully backed up to memory." in log, log[-3000:]
    assert "Database migration finished" in log, log[-3000:]
    _assert_no_secret_in(ukube, log + proc.stdout + proc.stderr)

    # The old run is still there and a new run works, with the new client.
    assert _run_status(ctx, NEW, ctx["old_run"]).endswith("completed")
    ctx["new_run"] = _run_pipeline(ctx, NEW)
    assert _secret_hashes(ukube) == ctx["hashes"]
    out = json.loads(cli(uproject, "outputs", "workspaces", "-s", "local", "--json").stdout)
    assert out["default"]["version"] == NEW
    # Converged: nothing left to change (a succeeded Job is not replaced again).
    start = time.monotonic()
    again = cli(uproject, "preview", "-s", "local", "--expect-no-changes", timeout=600)
    TIMINGS["preview after the upgrade"] = round(time.monotonic() - start, 1)
    assert again.returncode == 0, again.stderr[-3000:]


def test_a_token_issued_before_a_server_restart_still_works_after_it(unode, ukube, ctx, work):
    form = urlencode({"username": ctx["user"], "password": str(ctx["password"])}).encode()
    status, body = _request(unode, "POST", "/api/v1/login", ctx["ca"],
                            {"Content-Type": "application/x-www-form-urlencoded"}, form)
    assert status == 200, status
    token = Masked(json.loads(body)["access_token"])
    bearer = {"Authorization": f"Bearer {token}"}
    status, body = _request(unode, "GET", "/api/v1/current-user", ctx["ca"], bearer)
    assert status == 200 and json.loads(body)["name"] == ctx["user"], status
    status, _ = _request(unode, "GET", "/api/v1/current-user", ctx["ca"], {"Authorization": "Bearer not-a-token"})
    assert status == 401, status  # the control: a token the server did not issue is refused

    [pod] = _server_pods(ukube)
    start = time.monotonic()
    unode.kubectl("delete", "pod", "-n", NS, pod["metadata"]["name"], "--wait=true", timeout=180)
    _wait("a new Ready server pod", lambda: (s := _server_pods(ukube)) and all(
        _ready(p) and p["metadata"]["uid"] != pod["metadata"]["uid"] for p in s), timeout=300)
    TIMINGS["server pod restart to Ready"] = round(time.monotonic() - start, 1)
    # Until the ingress has the new endpoint it answers for itself (503, plain text); ZenML answers in JSON.
    status, body = _wait("the restarted server to answer", lambda: (r := _request(
        unode, "GET", "/api/v1/current-user", ctx["ca"], bearer)) and _from_zenml(r[1]) and r, timeout=120)
    assert status == 200 and json.loads(body)["name"] == ctx["user"], status
    assert _secret_hashes(ukube) == ctx["hashes"]
    print("\nTIMINGS " + json.dumps(TIMINGS))
    (work / "timings.json").write_text(json.dumps(TIMINGS, indent=2))
