"""The PostgreSQL image (images/postgres) runs the way the control plane's StatefulSet runs it, with runc and
without a cluster: the rendered env, args (TLS on, the stack's hostssl-only pg_hba.conf), mounts and uid, read-only
root. First start initialises the database; plaintext TCP is refused and TLS verified against the CA works; the
backup CronJob's script dumps it, and the restore's check and restore scripts bring a dropped database back; a
restart keeps the data. The stack is tests/data/Pulumi.cp-database.yaml, planned with the real program.

Needs root, runc and umoci, and the image built (`.venv/bin/python -m images.build postgres:15`); otherwise the
tests are skipped with the reason. Host network on 127.0.0.1 with a free port.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.contract.stack_plans import ROOT, objects
from tests.contract.zenml_runtime import Pki, free_port, secret_value
from tests.images.runc import Container, Mount, unpack, wait_until
from tests.images.test_images_run import _env, _mounts, _requirements

pytestmark = pytest.mark.images

STACK = ROOT / "tests" / "data" / "Pulumi.cp-database.yaml"
REF = "postgres:15"


@pytest.fixture(scope="module")
def bundle():
    why = _requirements()
    if why:
        pytest.skip(why)
    from images.build import cached

    built = cached(REF)
    if built is None:
        pytest.skip(f"{REF} not built (run `.venv/bin/python -m images.build {REF}`)")
    d = Path(tempfile.mkdtemp(prefix="zenml-pg-run-"))
    unpack(built.layout, built.version, d / "postgres")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def rendered():
    objs = objects(STACK)
    [sts] = [o for o in objs if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "control-plane-postgres"]
    [cron] = [o for o in objs if o["kind"] == "CronJob" and o["metadata"]["name"] == "control-plane-postgres-backup"]
    return SimpleNamespace(objects=objs, sts=sts, cron=cron)


def test_postgres_runs_as_rendered_with_tls_backup_and_restore(bundle, rendered):
    from cli_app.backups import CA_DIR, Target, restore_job

    work = bundle
    pod = rendered.sts["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == "127.0.0.1:5000/postgres:15" and "command" not in c
    pki = Pki.create(work / "pki")
    pem = {"tls.crt": pki.server_cert.read_text(), "tls.key": pki.server_key.read_text(), "ca.crt": pki.ca_cert.read_text()}
    port = free_port()
    state = work / "state"
    state.mkdir()
    started: list[Container] = []
    uid = int(pod["securityContext"]["runAsUser"])

    def container(name, args, env, mounts):
        con = Container(name=name, bundle=work / "postgres", state_root=state, log=work / f"{name}.log", args=args,
                        env={"PGPORT": str(port), **env}, uid=uid, gid=uid, mounts=mounts)
        started.append(con)
        con.start()
        return con

    db_mounts = _mounts(rendered, pod, c, work, lambda name: pem)
    db_env = _env(c, {})
    password = secret_value("control-plane-postgres-credentials", "password")
    # Compared outside the assert, so a failure report never prints a password (even a stand-in one).
    same_password = db_env["POSTGRES_PASSWORD"] == password
    assert same_password and db_env["POSTGRES_USER"] == "zenml_pro"
    readiness = c["readinessProbe"]["exec"]["command"]

    def psql(sql: str, *, db: str = "zenml_pro", mode: str = "verify-full"):
        """A TCP client in the database container, as the chart's pods connect (password, TLS)."""
        return started[0].exec(["sh", "-c", f'PGPASSWORD="$POSTGRES_PASSWORD" PGSSLMODE={mode} '
                                f'PGSSLROOTCERT=/etc/zenml-db-tls/ca.crt psql -X -q -At -v ON_ERROR_STOP=1 '
                                f'-h 127.0.0.1 -U zenml_pro -d {db} -c "{sql}"'])

    try:
        # The image's entrypoint with the rendered args (it puts `postgres` in front of options), loopback only.
        db = container("postgres", ["docker-entrypoint.sh", *c["args"], "-c", "listen_addresses=127.0.0.1"], db_env,
                       db_mounts)
        wait_until(lambda: not db.running() or db.exec(readiness).returncode == 0, 180, 1, "PostgreSQL readiness")
        assert db.running(), db.output()[-3000:]
        assert "initialising an empty data directory" in db.output()
        assert password not in db.output()
        status = db.exec(["cat", "/proc/1/status"]).stdout
        assert f"Uid:\t{uid}" in status.replace("    ", "\t")
        plain = psql("SELECT 1", mode="disable")
        assert plain.returncode != 0 and "no encryption" in plain.stderr, plain  # hostssl only
        q = psql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert q.returncode == 0 and q.stdout.strip() == "t", q
        q = psql("CREATE TABLE marker (id int PRIMARY KEY, note text); INSERT INTO marker VALUES (1, 'kept');")
        assert q.returncode == 0, q.stderr

        # The backup CronJob's script, from this image, against it, verifying the server against the database CA
        # where the CronJob mounts it (localhost: a name in the test certificate; the cluster's names the Service).
        backups = work / "backups"
        backups.mkdir()
        os.chown(backups, uid, uid)
        ca_dir = work / "db-ca"
        ca_dir.mkdir()
        (ca_dir / "ca.crt").write_text(pem["ca.crt"])
        [bc] = rendered.cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        job_env = _env(bc, {"PGHOST": "localhost"})
        same_password = job_env["PGPASSWORD"] == password
        assert same_password and job_env["PGSSLMODE"] == "verify-full"
        assert job_env["PGSSLROOTCERT"] == f"{CA_DIR}/ca.crt"
        assert {"name": "db-ca", "mountPath": CA_DIR, "readOnly": True} in bc["volumeMounts"]
        dump = container("backup", list(bc["command"]), job_env,
                         [Mount("/backups", backups), Mount("/tmp"), Mount(CA_DIR, ca_dir, readonly=True)])
        assert dump.wait(timeout=120) == 0, dump.output()[-3000:]
        # Against a server whose certificate the CA did not sign, the dump refuses to send the password.
        other = Pki.create(work / "other-pki")
        (ca_dir / "ca.crt").write_text(other.ca_cert.read_text())
        refused = container("backup-untrusted", list(bc["command"]), job_env,
                            [Mount("/backups", backups), Mount("/tmp"), Mount(CA_DIR, ca_dir, readonly=True)])
        assert refused.wait(timeout=180) != 0, refused.output()[-3000:]
        (ca_dir / "ca.crt").write_text(pem["ca.crt"])
        [archive] = list(backups.glob("zenml_pro-*.dump"))
        assert archive.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

        # Simulated loss, then the restore's check and restore scripts (TLS verified against the CA by name).
        assert psql("DROP DATABASE zenml_pro WITH (FORCE)", db="postgres").returncode == 0
        cron = rendered.cron
        t = Target("cp-database", None, -1, "zenml-control-plane", "postgres", True)
        for step, check_only in (("check", True), ("restore", False)):
            job = restore_job(cron, t, f"x-{step}", "latest", check_only)
            [jc] = job["spec"]["template"]["spec"]["containers"]
            # localhost: a name in the test certificate (the cluster's is issued for the Service's names).
            run = container(step, list(jc["command"]), _env(jc, {"PGHOST": "localhost"}),
                            [Mount("/backups", backups), Mount("/tmp"), Mount(CA_DIR, ca_dir, readonly=True)])
            assert run.wait(timeout=180) == 0, run.output()[-3000:]
            assert f"DUMP {archive.name}" in run.output()
        assert "TABLES 1" in run.output(), run.output()[-2000:]
        q = psql("SELECT id || ':' || note FROM marker")
        assert q.returncode == 0 and q.stdout.strip() == "1:kept", q

        # A clean stop keeps the data: a restart does not initialise again.
        assert db.stop(grace=60) == 0, db.output()[-2000:]
        started.remove(db)
        db2 = container("postgres2", ["docker-entrypoint.sh", *c["args"], "-c", "listen_addresses=127.0.0.1"], db_env,
                        db_mounts)
        started.insert(0, db2)
        wait_until(lambda: not db2.running() or db2.exec(readiness).returncode == 0, 120, 1, "PostgreSQL restart")
        assert db2.running() and "initialising" not in db2.output(), db2.output()[-2000:]
        assert psql("SELECT count(*) FROM marker").stdout.strip() == "1"
    finally:
        for con in reversed(started):
            try:
                con.stop(grace=20)
            except Exception:  # keep cleaning up the others
                pass


def test_postgres_refuses_an_empty_data_directory_without_a_password(bundle):
    data = bundle / "nopw-data"
    data.mkdir()
    os.chown(data, 999, 999)
    con = Container(name="pg-nopw", bundle=bundle / "postgres", state_root=bundle / "nopw-state",
                    log=bundle / "pg-nopw.log", args=["docker-entrypoint.sh"], env={"POSTGRES_USER": "zenml_pro"},
                    uid=999, gid=999, mounts=[Mount("/var/lib/postgresql/data", data), Mount("/var/run/postgresql"),
                                              Mount("/tmp")])
    con.start()
    try:
        assert con.wait(timeout=60) != 0
        assert "the data directory is empty and POSTGRES_PASSWORD is not set" in con.output()
        assert list(data.iterdir()) == []
    finally:
        con.stop(grace=5)


def test_postgres_started_as_root_drops_to_uid_999(bundle):
    """Outside Kubernetes (no runAsUser) the entrypoint chowns the data directory and runs postgres as 999."""
    data = bundle / "root-data"
    data.mkdir()
    port = free_port()
    con = Container(name="pg-root", bundle=bundle / "postgres", state_root=bundle / "root-state",
                    log=bundle / "pg-root.log", args=["docker-entrypoint.sh", "-c", "listen_addresses=127.0.0.1"],
                    env={"POSTGRES_PASSWORD": "pw'with\"odd\\back", "POSTGRES_USER": "zenml", "POSTGRES_DB": 'zen"ml',
                         "PGPORT": str(port)},
                    uid=0, gid=0, mounts=[Mount("/var/lib/postgresql/data", data), Mount("/var/run/postgresql"),
                                          Mount("/tmp")],
                    capabilities=["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID"])
    con.start()
    try:
        ready = ["pg_isready", "-h", "127.0.0.1", "-q"]
        wait_until(lambda: not con.running() or con.exec(ready).returncode == 0, 180, 1, "PostgreSQL readiness")
        assert con.running(), con.output()[-3000:]
        status = con.exec(["cat", "/proc/1/status"]).stdout
        assert "Uid:\t999\t999" in status, status
        assert os.stat(data).st_uid == 999
        # The odd password works over TCP (scram), and the database with a quote in its name exists.
        q = con.exec(["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" psql -X -At -h 127.0.0.1 -U zenml -d postgres '
                      '-c "SELECT datname FROM pg_database ORDER BY 1"'])
        assert q.returncode == 0 and 'zen"ml' in q.stdout.split("\n"), (q.stdout, q.stderr)
        bad = con.exec(["sh", "-c", 'PGPASSWORD=wrong psql -X -h 127.0.0.1 -U zenml -d postgres -c "SELECT 1"'])
        assert bad.returncode != 0 and "password authentication failed" in bad.stderr
    finally:
        con.stop(grace=30)


def test_postgres_without_tls_is_backed_up_too(bundle):
    """`inCluster.tls: false`: the CronJob's env still says PGSSLMODE=require, which such a server refuses; the dump
    script asks for no TLS then, and the dump is written."""
    from components.database_engines import POSTGRES

    data, backups = bundle / "notls-data", bundle / "notls-backups"
    for d in (data, backups):
        d.mkdir()
        os.chown(d, 999, 999)
    port = free_port()
    state = bundle / "notls-state"
    env = {"POSTGRES_PASSWORD": "notls-pw", "POSTGRES_USER": "zenml_pro", "POSTGRES_DB": "zenml_pro",
           "PGDATA": "/var/lib/postgresql/data/pgdata", "PGPORT": str(port)}
    db = Container(name="pg-notls", bundle=bundle / "postgres", state_root=state, log=bundle / "pg-notls.log",
                   args=["docker-entrypoint.sh", *POSTGRES.args(False), "-c", "listen_addresses=127.0.0.1"], env=env,
                   uid=999, gid=999, mounts=[Mount("/var/lib/postgresql/data", data), Mount("/var/run/postgresql"),
                                             Mount("/tmp")])
    db.start()
    dump = None
    try:
        ready = ["pg_isready", "-h", "127.0.0.1", "-q"]
        wait_until(lambda: not db.running() or db.exec(ready).returncode == 0, 180, 1, "PostgreSQL readiness")
        assert db.running(), db.output()[-3000:]
        refused = db.exec(["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" PGSSLMODE=require psql -X -h 127.0.0.1 '
                           '-U zenml_pro -d zenml_pro -c "SELECT 1"'])
        assert refused.returncode != 0 and "does not support SSL" in refused.stderr, refused
        job_env = {e["name"]: e.get("value", "notls-pw") for e in POSTGRES.dump_env("s", "127.0.0.1", "zenml_pro", "zenml_pro")}
        assert job_env["PGSSLMODE"] == "require"
        dump = Container(name="pg-notls-backup", bundle=bundle / "postgres", state_root=state,
                         log=bundle / "pg-notls-backup.log", args=["sh", "-c", POSTGRES.dump_script(False)],
                         env={**job_env, "PGPORT": str(port), "RETENTION_DAYS": "7"}, uid=999, gid=999,
                         mounts=[Mount("/backups", backups), Mount("/tmp")])
        dump.start()
        assert dump.wait(timeout=120) == 0, dump.output()[-3000:]
        [archive] = list(backups.glob("zenml_pro-*.dump"))
        assert archive.read_bytes()[:5] == b"PGDMP"
    finally:
        if dump is not None:
            dump.stop(grace=5)
        db.stop(grace=30)
