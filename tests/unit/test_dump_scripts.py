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
