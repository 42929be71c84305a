"""The built images work without a cluster: MariaDB and the ZenML server run with runc as the rendered `local`
stack runs them (its env, commands, mounts and uids; read-only root; TLS on with the server verifying the CA):
first start initialises the database, the migration command succeeds, the server answers `ok` on /health, and
the backup script dumps the database from the same image.

Needs root, runc and umoci, and the images built (`.venv/bin/python -m images.build --stack local`); otherwise the
tests are skipped with the reason. Host network on 127.0.0.1 with free ports; every container, mount and bundle
is removed afterwards.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.contract.stack_plans import ROOT, server_workloads
from tests.contract.zenml_runtime import Pki, free_port, secret_value
from tests.images.runc import Container, Mount, unpack, wait_until

pytestmark = pytest.mark.images

LOCAL = ROOT / "stacks" / "Pulumi.local.yaml"


def _requirements() -> str | None:
    if os.geteuid() != 0:
        return "needs root (runc, umoci unpack with owners)"
    for tool in ("runc", "umoci", "openssl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (images/install-tools.sh)"
    return None


@pytest.fixture(scope="module")
def built():
    why = _requirements()
    if why:
        pytest.skip(why)
    from images.build import cached, stack_images

    refs = [src for src, _ in stack_images("local")]
    images = {ref: cached(ref) for ref in refs}
    missing = [r for r, b in images.items() if b is None]
    if missing:
        pytest.skip(f"images not built: {', '.join(missing)} (run `.venv/bin/python -m images.build --stack local`)")
    return images


@pytest.fixture(scope="module")
def work():
    d = Path(tempfile.mkdtemp(prefix="zenml-images-run-"))
    yield d
    # Containers are stopped by the tests' finally blocks; nothing may stay mounted under d.
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def bundles(built, work):
    """Each image unpacked once (umoci, as root: owners and modes as in the image); rootfs shared read-only."""
    for b in built.values():
        unpack(b.layout, b.version, work / b.name)
    return {b.name: work / b.name for b in built.values()}


def _env(container: dict, overrides: dict[str, str]) -> dict[str, str]:
    out = {}
    for e in container.get("env", []):
        if "value" in e:
            out[e["name"]] = str(e["value"])
        elif "secretKeyRef" in e.get("valueFrom", {}):
            ref = e["valueFrom"]["secretKeyRef"]
            out[e["name"]] = secret_value(ref["name"], ref["key"])
    out.update(overrides)
    return out


def _mounts(w, pod: dict, container: dict, work: Path, files_for_secret) -> list[Mount]:
    """The pod's volumes as runc mounts: emptyDir -> a 0777 dir, Secret/ConfigMap -> read-only files, claims -> a dir."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    fs_group = int(pod.get("securityContext", {}).get("fsGroup", 0))  # rendered numbers are floats
    out = []
    for m in container.get("volumeMounts", []):
        v = volumes.get(m["name"])
        d = work / f"vol-{container['name']}-{m['name']}"
        if v is None or "persistentVolumeClaim" in v:  # a claim template or a claim: a fresh directory
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, 0, fs_group)
            d.chmod(0o2770)
            out.append(Mount(m["mountPath"], d))
        elif "emptyDir" in v:
            out.append(Mount(m["mountPath"]))
        elif "secret" in v or "configMap" in v:
            d.mkdir(parents=True, exist_ok=True)
            if "secret" in v:
                files = files_for_secret(v["secret"]["secretName"])
                items = v["secret"].get("items")
                mode = int(v["secret"].get("defaultMode", 0o644))
            else:
                cm = next(o for o in w.objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == v["configMap"]["name"])
                files, items, mode = cm.get("data", {}), v["configMap"].get("items"), 0o644
            if items:
                files = {i["path"]: files[i["key"]] for i in items}
            for name, content in files.items():
                f = d / name
                f.write_text(content)
                os.chown(f, 0, fs_group)
                f.chmod(mode)
            out.append(Mount(m["mountPath"], d, readonly=True))
    return out


def test_mariadb_and_server_run_as_rendered(built, bundles, work):
    [w] = server_workloads(LOCAL)
    [sts] = [s for s in w.in_namespace("StatefulSet") if s["metadata"]["labels"]["app.kubernetes.io/name"] == "mariadb"]
    db_pod = sts["spec"]["template"]["spec"]
    db_c = db_pod["containers"][0]
    server_ref = w.server_container["image"].split("/", 1)[1]  # the mirrored name minus 127.0.0.1:5000
    mariadb_ref = db_c["image"].split("/", 1)[1]
    assert {mariadb_ref, server_ref} <= set(built)

    pki = Pki.create(work / "pki")
    pem = {"tls.crt": pki.server_cert.read_text(), "tls.key": pki.server_key.read_text(), "ca.crt": pki.ca_cert.read_text()}

    def secret_files(name: str) -> dict[str, str]:
        return pem  # the database's TLS and CA Secrets; no other Secret is mounted as files by these pods

    port, http_port = free_port(), free_port()
    state = work / "state"
    state.mkdir()
    started: list[Container] = []

    def container(name, bundle, pod, c, args, env, extra_mounts=()):
        ctx = pod["securityContext"]
        con = Container(name=name, bundle=bundles[bundle], state_root=state, log=work / f"{name}.log", args=args,
                        env=env, uid=int(ctx["runAsUser"]), gid=int(ctx.get("runAsGroup", ctx["runAsUser"])),
                        mounts=[*_mounts(w, pod, c, work, secret_files), *extra_mounts])
        started.append(con)
        con.start()
        return con

    image_cmd = {"mariadb": ["docker-entrypoint.sh"], "server": ["/entrypoint.sh"]}
    try:
        # MariaDB: image entrypoint, the rendered args plus a loopback port (host network here).
        db = container("mariadb", "mariadb", db_pod, db_c,
                       [*image_cmd["mariadb"], *db_c.get("args", []), f"--port={port}", "--bind-address=127.0.0.1"],
                       _env(db_c, {}))
        readiness = db_c["readinessProbe"]["exec"]["command"]
        wait_until(lambda: not db.running() or db.exec(readiness).returncode == 0, 180, 1, "MariaDB readiness")
        assert db.running(), db.output()[-3000:]
        assert "initialising an empty data directory" in db.output()

        url = f"mysql://127.0.0.1:{port}/" + w.env_value("ZENML_STORE_URL").rsplit("/", 1)[1]
        job_c, job_pod = w.migration_container, w.job["spec"]["template"]["spec"]
        assert job_c["image"] == w.server_container["image"]  # the migration Job uses the server image
        migrate = container("migrate", "zenml-server", job_pod, job_c, job_c["command"], _env(job_c, {"ZENML_STORE_URL": url}))
        code = migrate.wait(timeout=600)
        assert code == 0, migrate.output()[-4000:]
        migrate.stop()
        env = _env(job_c, {})
        assert env["ZENML_STORE_SSL"] == "True" and env["ZENML_STORE_SSL_VERIFY_SERVER_CERT"] == "True"

        cmd = list(w.server_container["command"])
        cmd[cmd.index("--port") + 1] = str(http_port)
        cmd[cmd.index("--host") + 1] = "127.0.0.1"
        server = container("server", "zenml-server", w.deployment["spec"]["template"]["spec"], w.server_container, cmd,
                           _env(w.server_container, {"ZENML_STORE_URL": url}))
        body = {}

        def healthy() -> bool:
            assert server.running(), server.output()[-4000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5) as r:
                    body["status"], body["text"] = r.status, r.read().decode()
                    return r.status == 200
            except OSError:
                return False

        wait_until(healthy, 240, 2, "server /health")
        assert body["text"].strip().strip('"').lower() == "ok", body

        # The backup CronJob's script runs from the database image against it (TLS required by the server).
        from components.database_engines import MARIADB

        backups = work / "backups"
        backups.mkdir()
        os.chown(backups, 999, 999)
        root_pw = _env(db_c, {})["MARIADB_ROOT_PASSWORD"]
        dump = container("backup", "mariadb", db_pod, {"name": "backup"}, ["sh", "-c", MARIADB.dump_script(True)],
                         {"MYSQL_PWD": root_pw, "DB_HOST": "127.0.0.1", "MYSQL_TCP_PORT": str(port),
                          "DB_NAME": "zenml", "RETENTION_DAYS": "7"},
                         [Mount("/backups", backups), Mount("/tmp")])
        assert dump.wait(timeout=120) == 0, dump.output()[-3000:]
        [archive] = list(backups.glob("zenml-*.sql.gz"))
        sql = gzip.decompress(archive.read_bytes()).decode(errors="replace")
        assert re.search(r"CREATE TABLE `(schema_)?alembic_version`", sql) and "CREATE DATABASE" in sql

        # A clean stop: SIGTERM ends MariaDB with status 0, and a restart keeps the data (no second init).
        assert server.stop() is not None
        assert db.stop(grace=60) == 0, db.output()[-2000:]
        db2 = container("mariadb2", "mariadb", db_pod, db_c,
                        [*image_cmd["mariadb"], f"--port={port}", "--bind-address=127.0.0.1"], _env(db_c, {}),
                        [])
        wait_until(lambda: not db2.running() or db2.exec(readiness).returncode == 0, 120, 1, "MariaDB restart")
        assert db2.running() and "initialising" not in db2.output(), db2.output()[-2000:]
    finally:
        for con in reversed(started):
            try:
                con.stop(grace=20)
            except Exception:  # keep cleaning up the others
                pass


def test_mariadb_started_as_root_drops_to_uid_999(bundles, work):
    """Outside Kubernetes (no runAsUser) the entrypoint chowns the data directory and runs mariadbd as 999."""
    data = work / "root-start-data"
    data.mkdir()
    port = free_port()
    state = work / "root-state"
    db = Container(name="mariadb-root", bundle=bundles["mariadb"], state_root=state, log=work / "mariadb-root.log",
                   args=["docker-entrypoint.sh", f"--port={port}", "--bind-address=127.0.0.1"],
                   env={"MARIADB_ROOT_PASSWORD": "r00t'quote\\back", "MARIADB_DATABASE": "zen`ml",
                        "MARIADB_USER": "zenml", "MARIADB_PASSWORD": "pw'with\"odd"},
                   uid=0, gid=0, mounts=[Mount("/var/lib/mysql", data), Mount("/run/mysqld"), Mount("/tmp")],
                   capabilities=["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID"])
    db.start()
    try:
        ping = ["sh", "-c", 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb-admin ping --socket=/run/mysqld/mysqld.sock -uroot --silent']
        wait_until(lambda: not db.running() or db.exec(ping).returncode == 0, 180, 1, "MariaDB readiness")
        assert db.running(), db.output()[-3000:]
        status = db.exec(["cat", "/proc/1/status"]).stdout
        assert re.search(r"^Uid:\s+999\s+999", status, re.M), status
        assert os.stat(data).st_uid == 999
        # Quotes and backslashes in the passwords and a backtick in the database name survive the SQL escaping.
        q = db.exec(["sh", "-c", 'MYSQL_PWD="$MARIADB_PASSWORD" mariadb --socket=/run/mysqld/mysqld.sock -uzenml '
                     '-N -e "SELECT CURRENT_USER(); SHOW DATABASES"'])
        assert q.returncode == 0, q.stderr
        assert "zenml@%" in q.stdout and "zen`ml" in q.stdout, q.stdout
    finally:
        db.stop(grace=30)
