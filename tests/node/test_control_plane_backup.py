"""The control plane's in-cluster PostgreSQL on the real node: deploy, write rows, backup now, simulated loss
(DROP DATABASE), restore the dump `backup` printed, rows back.

The Pro chart's images are private and cannot run here, so the stack (tests/data/Pulumi.cp-database.yaml) is
deployed with tests/node/control_plane_database_program.py: the layout's own control-plane namespace, database
(images/postgres, TLS from the database CA, backup CronJob) and traffic policy, without the chart. Its own node on
ports 8445/5003 (module scope, beside other engineers' nodes). The commands are run exactly as docs/operations.md
gives them, from a copy of the project:

    CI=true .venv/bin/python -m pytest tests/node/test_control_plane_backup.py -m e2e -q -p no:cacheprovider -x -s
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, Pulumi
from tests.node.harness import cli, copy_cli_project, module_node, on_file_backend

pytestmark = pytest.mark.e2e

STACK = "cp-database"
NS = "zenml-control-plane"
POD = "control-plane-postgres-0"
INGRESS_PORT, REGISTRY_PORT = 8445, 5003
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cp-backup-node")


@pytest.fixture(scope="module")
def cnode(work, env):
    with module_node(work, env, TIMINGS, ingress_port=INGRESS_PORT, registry_port=REGISTRY_PORT) as n:
        yield n


@pytest.fixture(scope="module")
def cproject(work, env, cnode) -> Pulumi:
    from components.images import mirrored
    from images.push import push_pairs

    start = time.monotonic()
    # Only the database runs: the chart's images are not pushed (they cannot be built or pulled here).
    push_pairs([("postgres:15", mirrored("postgres:15", cnode.registry))])
    TIMINGS["image pushed"] = round(time.monotonic() - start, 1)
    project = copy_cli_project(work)
    shutil.copy2(ROOT / "tests" / "node" / "control_plane_database_program.py", project / "__main__.py")
    shutil.copy2(ROOT / "tests" / "data" / f"Pulumi.{STACK}.yaml", project / "stacks" / f"Pulumi.{STACK}.yaml")
    return on_file_backend(work, cnode, env, project, STACK)


@pytest.fixture(scope="module")
def cdeployed(cproject, cnode):
    start = time.monotonic()
    cproject.run("up", "--stack", STACK, "--yes", "--skip-preview", "--diff=false", timeout=1200)
    TIMINGS["up"] = round(time.monotonic() - start, 1)
    return json.loads(cproject.run("stack", "output", "--stack", STACK, "--json").stdout)


def psql(node, sql: str, database: str = "$POSTGRES_DB") -> str:
    """SQL in the database pod over its Unix socket, as the superuser the image created."""
    proc = node.kubectl("exec", "-i", "-n", NS, POD, "-c", "postgres", "--", "sh", "-c",
                        f'psql -X -q -At -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "{database}"', stdin=sql)
    return proc.stdout.strip()


def test_control_plane_backup_now_then_restore_after_losing_the_database(cdeployed, cproject, cnode, work):
    assert cdeployed["controlPlane"]["tls"] is True
    assert list(cdeployed["images"].values()) == ["127.0.0.1:5000/postgres:15"]
    # The database serves TLS only on TCP (the stack's hostssl pg_hba.conf) and runs the Debian-built image.
    assert psql(cnode, "SHOW ssl;") == "on"
    assert psql(cnode, "SELECT split_part(current_setting('server_version'), '.', 1);") == "15"
    marker = secrets.token_hex(8)
    psql(cnode, "CREATE TABLE restore_marker (id int PRIMARY KEY, note text NOT NULL);"
                f"INSERT INTO restore_marker VALUES (1, 'before-backup-{marker}'), (2, 'second');")

    # Backup now.
    start = time.monotonic()
    proc = cli(cproject, "backup", "-s", STACK, "--control-plane", "--json", timeout=900)
    TIMINGS["backup"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    backup = json.loads(proc.stdout)
    dump = backup["dump"]
    assert dump and dump.startswith("zenml_pro-") and dump.endswith(".dump"), backup
    assert backup["controlPlane"] is True and backup["namespace"] == NS

    # A row written after the backup is not in the dump: it must be gone after the restore.
    psql(cnode, "INSERT INTO restore_marker VALUES (3, 'after-backup');")

    # Simulated loss: the control plane's database is dropped inside the database pod.
    psql(cnode, 'DROP DATABASE "zenml_pro" WITH (FORCE);', database="postgres")
    assert "zenml_pro" not in psql(cnode, "SELECT datname FROM pg_database;", database="postgres").split()

    # Restore the dump the backup printed.
    start = time.monotonic()
    proc = cli(cproject, "restore", "-s", STACK, "--control-plane", "--dump", dump, "--yes", "--json", timeout=1800)
    TIMINGS["restore"] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    restored = json.loads(proc.stdout)
    assert restored["dump"] == dump and restored["tables"] == 1 and restored["deployments"] == {}, restored
    assert "no Deployment in zenml-control-plane uses the database" in proc.stderr
    TIMINGS.update({f"restore {k}": v for k, v in restored["seconds"].items()})

    # The rows of the backup are back, the later one is not; the owner is the same.
    assert psql(cnode, "SELECT id || ':' || note FROM restore_marker ORDER BY id;").splitlines() == [
        f"1:before-backup-{marker}", "2:second"]
    assert psql(cnode, "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'zenml_pro';",
                database="postgres") == "zenml_pro"
    jobs = cnode.kubectl("get", "jobs", "-n", NS, "-o", "name").stdout.split()
    assert any(j.startswith("job.batch/control-plane-postgres-restore-") for j in jobs), jobs

    # A dump of the wrong kind and a control plane without backups are refused before the cluster is touched.
    proc = cli(cproject, "restore", "-s", STACK, "--control-plane", "--dump", "zenml-20261201T080000.sql.gz", "--yes")
    assert proc.returncode == 2 and "--dump:" in proc.stderr and "end in .dump" in proc.stderr, proc.stderr
    print("\nTIMINGS " + json.dumps(TIMINGS))
    (work / "timings.json").write_text(json.dumps(TIMINGS, indent=2))
