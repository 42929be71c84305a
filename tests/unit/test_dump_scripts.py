"""The backup and restore shell scripts run under /bin/sh with stand-in clients: a dump that fails writes no
backup and fails the Job; the restore's check refuses a missing or empty dump before anything is dropped."""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path

import pytest

from cli_app.backups import Target, restore_job
from components.database_engines import MARIADB, MYSQL


def stub(bindir: Path, name: str, body: str) -> None:
    bindir.mkdir(exist_ok=True)
    (bindir / name).write_text("#!/bin/sh\n" + body + "\n")
    (bindir / name).chmod(0o755)


def sh(script: str, tmp_path: Path, bindir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    backups = tmp_path / "backups"
    backups.mkdir(exist_ok=True)
    script = script.replace("/tmp/dump.failed", f"{tmp_path}/dump.failed").replace("/backups", str(backups))
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{bindir}:/usr/bin:/bin", "DB_HOST": "db", "DB_NAME": "zenml",
                               "RETENTION_DAYS": "7", **env})


ENGINES = [(MARIADB, "mariadb-dump", "mariadb"), (MYSQL, "mysqldump", "mysql")]


@pytest.mark.parametrize("engine,client,cli", ENGINES)
def test_a_failed_dump_fails_the_job_and_writes_no_backup(tmp_path, engine, client, cli):
    bindir = tmp_path / "bin"
    stub(bindir, cli, "exit 0")
    stub(bindir, client, 'echo "Got error: 2002: Can\'t connect" >&2; exit 2')
    proc = sh(engine.dump_script(True), tmp_path, bindir)
    assert proc.returncode == 1 and "no backup written" in proc.stdout, (proc.stdout, proc.stderr)
    assert list((tmp_path / "backups").iterdir()) == []


@pytest.mark.parametrize("engine,client,cli", ENGINES)
def test_an_unreachable_database_is_retried_a_bounded_number_of_times(tmp_path, engine, client, cli):
    bindir = tmp_path / "bin"
    stub(bindir, cli, f'echo x >> {tmp_path}/tries; exit 1')
    stub(bindir, "sleep", "exit 0")  # the 2 s between tries
    stub(bindir, client, f"touch {tmp_path}/dumped")
    proc = sh(engine.dump_script(True), tmp_path, bindir)
    assert proc.returncode == 1 and "cannot reach the database at db" in proc.stdout
    assert len((tmp_path / "tries").read_text().split()) == 30 and not (tmp_path / "dumped").exists()
    assert list((tmp_path / "backups").iterdir()) == []


@pytest.mark.parametrize("engine,client,cli", ENGINES)
def test_a_good_dump_is_written_whole(tmp_path, engine, client, cli):
    bindir = tmp_path / "bin"
    stub(bindir, cli, f'[ -e {tmp_path}/up ] && exit 0; touch {tmp_path}/up; exit 1')  # reachable on the 2nd try
    stub(bindir, "sleep", "exit 0")
    stub(bindir, client, 'echo "CREATE TABLE t (id int);"')
    proc = sh(engine.dump_script(False), tmp_path, bindir)
    assert proc.returncode == 0, proc.stderr
    [dump] = list((tmp_path / "backups").iterdir())
    assert dump.name.startswith("zenml-") and dump.name.endswith(".sql.gz")
    assert gzip.decompress(dump.read_bytes()).startswith(b"CREATE TABLE")


def check_script() -> str:
    cron = {"metadata": {"labels": {}}, "spec": {"jobTemplate": {"spec": {"template": {"metadata": {}, "spec": {
        "containers": [{"name": "backup", "env": []}], "volumes": []}}}}}}
    t = Target("s", "default", 0, "zenml-default", "mariadb", True)
    return restore_job(cron, t, "x", "latest", True)["spec"]["template"]["spec"]["containers"][0]["command"][2]


def test_restore_check_refuses_an_empty_or_missing_dump_and_resolves_latest(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    backups = tmp_path / "backups"
    backups.mkdir()
    proc = sh(check_script(), tmp_path, bindir, DUMP="latest")
    assert proc.returncode == 3 and "no dump (none) in the backup volume" in proc.stdout
    (backups / "zenml-20261201T080000.sql.gz").write_bytes(gzip.compress(b"CREATE TABLE a (id int);\n"))
    (backups / "zenml-20261201T090000.sql.gz").write_bytes(gzip.compress(b""))  # what a masked failure left
    proc = sh(check_script(), tmp_path, bindir, DUMP="latest")
    assert proc.returncode == 3 and "holds no table" in proc.stdout
    proc = sh(check_script(), tmp_path, bindir, DUMP="zenml-20261201T080000.sql.gz")
    assert proc.returncode == 0 and "DUMP zenml-20261201T080000.sql.gz" in proc.stdout
    (backups / "zenml-20261201T100000.sql.gz").write_bytes(gzip.compress(b"CREATE TABLE b (id int);\n")[:-6])
    proc = sh(check_script(), tmp_path, bindir, DUMP="latest")
    assert proc.returncode != 0 and "DUMP" not in proc.stdout
    proc = sh(check_script(), tmp_path, bindir, DUMP="zenml-1.sql.gz")
    assert proc.returncode == 3 and "no dump zenml-1.sql.gz" in proc.stdout


# PostgreSQL (the control plane's database): pg_dump's custom format, the same guarantees.
from components.database_engines import POSTGRES  # noqa: E402


def pg_sh(script: str, tmp_path: Path, bindir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    backups = tmp_path / "backups"
    backups.mkdir(exist_ok=True)
    script = script.replace("/tmp/toc", f"{tmp_path}/toc").replace("/backups", str(backups))
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{bindir}:/usr/bin:/bin", "PGHOST": "cp-db", "PGDATABASE": "zenml_pro",
                               "PGUSER": "zenml_pro", "PGSSLMODE": "require", "RETENTION_DAYS": "7", **env})


def _pg_dump_stub(body: str) -> str:
    """pg_dump writes its --file=PATH argument (the custom format is binary: any bytes do here)."""
    return 'for a in "$@"; do case "$a" in --file=*) out="${a#--file=}";; esac; done; ' + body


def test_postgres_a_failed_dump_fails_the_job_and_writes_no_backup(tmp_path):
    bindir = tmp_path / "bin"
    stub(bindir, "psql", "exit 0")
    stub(bindir, "pg_dump", _pg_dump_stub('echo partial > "$out"; echo "pg_dump: error: connection lost" >&2; exit 1'))
    proc = pg_sh(POSTGRES.dump_script(True), tmp_path, bindir)
    assert proc.returncode == 1 and "no backup written" in proc.stdout, (proc.stdout, proc.stderr)
    assert list((tmp_path / "backups").iterdir()) == []


def test_postgres_an_unreachable_database_is_retried_a_bounded_number_of_times(tmp_path):
    bindir = tmp_path / "bin"
    stub(bindir, "psql", f"echo x >> {tmp_path}/tries; exit 2")
    stub(bindir, "sleep", "exit 0")
    stub(bindir, "pg_dump", f"touch {tmp_path}/dumped")
    proc = pg_sh(POSTGRES.dump_script(True), tmp_path, bindir)
    assert proc.returncode == 1 and "cannot reach the database at cp-db" in proc.stdout
    assert len((tmp_path / "tries").read_text().split()) == 30 and not (tmp_path / "dumped").exists()
    assert list((tmp_path / "backups").iterdir()) == []


@pytest.mark.parametrize("tls,mode", [(True, "require"), (False, "prefer")])
def test_postgres_a_good_dump_is_written_whole_over_tls_when_the_database_serves_it(tmp_path, tls, mode):
    bindir = tmp_path / "bin"
    stub(bindir, "psql", f'[ -e {tmp_path}/up ] && exit 0; touch {tmp_path}/up; exit 2')  # reachable on the 2nd try
    stub(bindir, "sleep", "exit 0")
    stub(bindir, "pg_dump", _pg_dump_stub('printf "PGDMP %s" "$PGSSLMODE" > "$out"'))
    (tmp_path / "backups").mkdir()
    old = tmp_path / "backups" / "zenml_pro-20200101T000000.dump"
    old.write_text("old")
    os.utime(old, (0, 0))  # older than RETENTION_DAYS: deleted
    proc = pg_sh(POSTGRES.dump_script(tls), tmp_path, bindir)
    assert proc.returncode == 0, proc.stderr
    [dump] = list((tmp_path / "backups").iterdir())
    assert dump.name.startswith("zenml_pro-") and dump.name.endswith(".dump")
    assert dump.read_text() == f"PGDMP {mode}"


def pg_script(check_only: bool, tls: bool = True) -> str:
    cron = {"metadata": {"labels": {}}, "spec": {"jobTemplate": {"spec": {"template": {"metadata": {}, "spec": {
        "containers": [{"name": "backup", "env": []}], "volumes": []}}}}}}
    t = Target("s", None, -1, "zenml-control-plane", "postgres", tls)
    return restore_job(cron, t, "x", "latest", check_only)["spec"]["template"]["spec"]["containers"][0]["command"][2]


def test_postgres_restore_check_refuses_a_missing_unreadable_or_empty_dump_and_resolves_latest(tmp_path):
    bindir = tmp_path / "bin"
    # pg_restore --list prints the archive's table of contents; --file=/dev/null reads the whole archive.
    stub(bindir, "pg_restore", 'f=""; for a in "$@"; do f="$a"; done; case "$(cat "$f")" in '
                               'bad*) echo "pg_restore: error: input file does not appear to be a valid archive" >&2; exit 1;; '
                               'cut*) [ "$1" = --list ] && echo "1; 1259 1 TABLE public t zenml_pro" && exit 0; exit 1;; '
                               'empty*) echo "3; 2615 2200 SCHEMA - public pg_database_owner";; '
                               '*) echo "215; 1259 16385 TABLE public restore_marker zenml_pro";; esac')
    backups = tmp_path / "backups"
    backups.mkdir()
    script = pg_script(True)
    proc = pg_sh(script, tmp_path, bindir, DUMP="latest")
    assert proc.returncode == 3 and "no dump (none) in the backup volume" in proc.stdout
    (backups / "zenml_pro-20261201T080000.dump").write_text("good")
    (backups / "zenml_pro-20261201T090000.dump").write_text("empty")
    proc = pg_sh(script, tmp_path, bindir, DUMP="latest")
    assert proc.returncode == 3 and "holds no table" in proc.stdout
    proc = pg_sh(script, tmp_path, bindir, DUMP="zenml_pro-20261201T080000.dump")
    assert proc.returncode == 0 and "DUMP zenml_pro-20261201T080000.dump" in proc.stdout
    (backups / "zenml_pro-20261201T100000.dump").write_text("bad")
    proc = pg_sh(script, tmp_path, bindir, DUMP="latest")
    assert proc.returncode == 3 and "is not a readable pg_dump archive" in proc.stdout and "valid archive" in proc.stdout
    (backups / "zenml_pro-20261201T110000.dump").write_text("cut")  # TOC readable, data truncated
    proc = pg_sh(script, tmp_path, bindir, DUMP="latest")
    assert proc.returncode != 0 and "DUMP" not in proc.stdout


@pytest.mark.parametrize("tls", [True, False])
def test_postgres_restore_drops_with_force_then_recreates_from_the_dump_with_verified_tls(tmp_path, tls):
    bindir = tmp_path / "bin"
    log = tmp_path / "calls"
    stub(bindir, "pg_restore", f'echo "pg_restore $* PGSSLMODE=$PGSSLMODE" >> {log}; '
                               'case "$1" in --list) echo "1; 1259 1 TABLE public t zenml_pro";; esac')
    stub(bindir, "psql", f'echo "psql $* PGSSLMODE=$PGSSLMODE ROOT=${{PGSSLROOTCERT:-}} STDIN=$(cat)" >> {log}; '
                         'case "$*" in *count*) echo 7;; esac')
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "zenml_pro-20261201T080000.dump").write_text("x")
    proc = pg_sh(pg_script(False, tls), tmp_path, bindir, DUMP="zenml_pro-20261201T080000.dump")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "TABLES 7" in proc.stdout
    calls = log.read_text().splitlines()
    kinds = [c.split()[0] + (" list" if "--list" in c else " null" if "/dev/null" in c else " create" if "--create" in c
                             else " drop" if "DROP DATABASE" in c else " count" if "count" in c else " reach") for c in calls]
    assert kinds == ["pg_restore list", "pg_restore null", "psql reach", "psql drop", "pg_restore create", "psql count"]
    drop = calls[3]
    assert 'DROP DATABASE IF EXISTS :"db" WITH (FORCE);' in drop and "-v db=zenml_pro" in drop and "-d postgres" in drop
    assert "--exit-on-error --dbname=postgres" in calls[4]
    expect = "PGSSLMODE=verify-full ROOT=/etc/zenml-db-ca/ca.crt" if tls else "PGSSLMODE=prefer ROOT= "
    assert all(expect in c for c in calls[2:] if c.startswith("psql"))
    assert ("PGSSLMODE=verify-full" if tls else "PGSSLMODE=prefer") in calls[4]


def test_the_restore_job_reads_the_ca_where_the_backup_cronjob_mounts_it():
    from cli_app import backups
    from components.database_engines import BACKUP_CA_DIR

    assert backups.CA_DIR == BACKUP_CA_DIR


@pytest.mark.parametrize("engine,client,cli,flags", [
    (MARIADB, "mariadb-dump", "mariadb", ["--ssl", "--ssl-ca=/ca/ca.crt", "--ssl-verify-server-cert"]),
    (MYSQL, "mysqldump", "mysql", ["--ssl-mode=VERIFY_IDENTITY", "--ssl-ca=/ca/ca.crt"]),
])
def test_with_the_ca_file_the_dump_verifies_the_server(tmp_path, engine, client, cli, flags):
    """The CronJob sets DB_CA_FILE whenever the database has TLS: both the reachability probe and the dump then
    verify the server's certificate (and, for MySQL, its name) instead of only encrypting."""
    bindir = tmp_path / "bin"
    stub(bindir, cli, f'echo "$@" >> {tmp_path}/probe-args; exit 0')
    stub(bindir, client, f'echo "$@" >> {tmp_path}/dump-args; echo "CREATE TABLE t (id int);"')
    proc = sh(engine.dump_script(True), tmp_path, bindir, DB_CA_FILE="/ca/ca.crt")
    assert proc.returncode == 0, proc.stderr
    for name in ("probe-args", "dump-args"):
        args = (tmp_path / name).read_text().split()
        assert all(f in args for f in flags), (name, args)
    env = {e["name"]: e.get("value") for e in engine.dump_env("s", "db", "zenml", "zenml", "/ca/ca.crt")}
    assert env["DB_CA_FILE"] == "/ca/ca.crt"
    assert "DB_CA_FILE" not in {e["name"] for e in engine.dump_env("s", "db", "zenml", "zenml")}
