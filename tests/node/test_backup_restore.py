"""Day two on the real node: the downgrade rule against real state, backup now, simulated loss, restore.

Its own node (module scope, free host ports, so it runs beside the lead's node on 443/5000) with a copy of
`local` whose workspace database has backups on (the dev profile has none). The commands are run exactly as
docs/operations.md gives them, from a copy of the project:

    sudo .venv/bin/python -m pytest -m e2e tests/node/test_backup_restore.py -p no:cacheprovider -s
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness import Kube, Pulumi
from tests.node.harness import cli, cli_project, module_node, run_client
from tests.node.test_real_node import NS, PIPELINE, VERSION, _db_pod, _pods, _ready, _sql, _wait

pytestmark = pytest.mark.e2e

STACK_FILE = "stacks/Pulumi.local.yaml"
TIMINGS: dict[str, float] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("backup-node")


@pytest.fixture(scope="module")
def bnode(work, env):
    with module_node(work, env, TIMINGS, ingress_port=_free_port(), registry_port=_free_port()) as n:
        yield n


@pytest.fixture(scope="module")
def bkube(bnode) -> Kube:
    return bnode.kube


@pytest.fixture(scope="module")
def bproject(work, env, bnode) -> Pulumi:
    from images.push import push_stack

    start = time.monotonic()
    push_stack(bnode.registry, "local")
    TIMINGS["images pushed"] = round(time.monotonic() - start, 1)
    return cli_project(work, bnode, env, edit=_with_backups)


def _with_backups(doc: dict) -> None:
    """The dev profile has no backups: turn them on for the one workspace."""
    [ws] = doc["config"]["zenml-platform:workspaces"]
    ws["database"]["inCluster"]["backup"] = {"enabled": True, "storageSize": "1Gi"}


class _Outputs(dict):
    """Stack outputs with the admin password: never shown in a failure report (pytest prints fixture values)."""

    def __repr__(self) -> str:
        return f"<stack outputs {sorted(self)}; values not shown>"


@pytest.fixture(scope="module")
def bdeployed(bproject, bnode):
    start = time.monotonic()
    bproject.run("up", "--stack", "local", "--yes", "--skip-preview", "--diff=false", timeout=1500)
    TIMINGS["up"] = round(time.monotonic() - start, 1)
    outputs = json.loads(bproject.run("stack", "output", "--stack", "local", "--json", "--show-secrets").stdout)
    bnode.add_hosts([u.split("://", 1)[1].split("/", 1)[0] for u in (w["url"] for w in outputs["workspaces"].values())])
    return _Outputs(outputs)


def test_a_lower_zenml_version_is_refused_against_the_deployed_state(bdeployed, bproject):
    path = bproject.project / STACK_FILE
    original = path.read_text()
    doc = yaml.safe_load(original)
    doc["config"]["zenml-platform:zenmlVersion"] = "0.97.0"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    try:
        for args in (["preview", "-s", "local"], ["up", "-s", "local", "--yes"]):
            proc = cli(bproject, *args, timeout=300)
            assert proc.returncode == 2, (args, proc.stdout[-2000:], proc.stderr[-3000:])
            assert "zenmlVersion: 0.97.0 is lower than 0.98.0, the version workspace default runs" in proc.stderr
            assert "Traceback" not in proc.stderr
    finally:
        path.write_text(original)
    # Nothing changed: the same version is still deployed.
    out = json.loads(bproject.run("stack", "output", "workspaces", "--stack", "local", "--json").stdout)
    assert out["default"]["version"] == VERSION


def test_backup_now_then_restore_after_losing_the_database(bdeployed, bproject, bnode, bkube, work):
    ca_file = work / "zenml-ca.pem"
    ca_file.write_text(bdeployed["caBundle"])
    creds = bdeployed["adminCredentials"]["default"]
    # This node's ingress listens on its own host port (not 443): the same host name, that port.
    url = f'{bdeployed["workspaces"]["default"]["url"]}:{bnode.ingress_port}'
    # From a file: ZenML resolves step sources against the main module's file (`python -c` has none).
    (work / "client").mkdir(parents=True, exist_ok=True)
    (work / "client" / "pipeline.py").write_text(PIPELINE)
    proc = run_client(VERSION, work / "client", url, creds["username"], creds["password"], ca_file,
                      "import runpy; runpy.run_path('pipeline.py', run_name='__main__')")
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    run_id = [ln for ln in proc.stdout.splitlines() if ln.startswith("RUN ")][-1].split()[1]
    row = f"SELECT COUNT(*) FROM pipeline_run WHERE id='{run_id.replace('-', '')}'"
    assert _sql(bnode, bkube, row) == "1"

    # Backup now.
    start = time.monotonic()
    proc = cli(bproject, "backup", "-s", "local", "-w", "default", "--json", timeout=900)
    TIMINGS["backup"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    backup = json.loads(proc.stdout)
    dump = backup["dump"]
    assert dump and dump.endswith(".sql.gz"), backup
    assert creds["password"] not in proc.stdout + proc.stderr

    # Simulated loss: the workspace database is dropped inside the database pod.
    pod = _db_pod(bkube)
    bnode.kubectl("exec", "-n", NS, pod["metadata"]["name"], "-c", pod["spec"]["containers"][0]["name"], "--", "sh",
                  "-c", 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot --socket=/run/mysqld/mysqld.sock '
                        '-e "DROP DATABASE $MARIADB_DATABASE"')
    gone = bnode.kubectl("exec", "-n", NS, pod["metadata"]["name"], "-c", pod["spec"]["containers"][0]["name"], "--",
                         "sh", "-c", 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -B '
                         '--socket=/run/mysqld/mysqld.sock -e "SHOW DATABASES"').stdout.split()
    assert "zenml" not in gone, gone

    # Restore the dump the backup printed.
    start = time.monotonic()
    proc = cli(bproject, "restore", "-s", "local", "-w", "default", "--dump", dump, "--yes", "--json", timeout=1800)
    TIMINGS["restore"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    restored = json.loads(proc.stdout)
    assert restored["dump"] == dump and restored["tables"] and restored["tables"] > 10, restored
    TIMINGS.update({f"restore {k}": v for k, v in restored["seconds"].items()})
    # The schedule was held during the restore and is running again, with nothing of the hold left on it.
    assert "cronjob/default-mariadb-backup suspended until the restore is done" in proc.stderr, proc.stderr[-3000:]
    cron = bkube.get(f"/apis/batch/v1/namespaces/{NS}/cronjobs/default-mariadb-backup")
    assert not cron["spec"].get("suspend"), cron["spec"]
    assert "zenml-platform.io/suspended-by-restore" not in (cron["metadata"].get("annotations") or {})

    # The run is back and the server is Ready by its own probes.
    assert _sql(bnode, bkube, row) == "1"
    servers = [p for p in _pods(bkube, NS) if p["metadata"]["labels"].get("app.kubernetes.io/name") == "zenml-server"
               and p["status"]["phase"] == "Running"]
    assert servers and all(_ready(p) for p in servers)
    check = _wait("the restored server to answer", lambda: (r := run_client(
        VERSION, work / "client", url, creds["username"], creds["password"], ca_file,
        f"from zenml.client import Client; print(Client().get_pipeline_run('{run_id}').status)")).returncode == 0 and r,
        timeout=240, interval=5)
    assert "completed" in check.stdout
    jobs = {j["metadata"]["name"] for j in bkube.get(f"/apis/batch/v1/namespaces/{NS}/jobs")["items"]}
    assert any(j.startswith("default-mariadb-restore-") for j in jobs), jobs
    print("\nTIMINGS " + json.dumps(TIMINGS))
    (work / "timings.json").write_text(json.dumps(TIMINGS, indent=2))
