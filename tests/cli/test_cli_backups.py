"""`backup` and `restore` against a fake kubectl that serves the CronJob and Deployment the stack really plans
(planned under mocks), so the names and the pod template the commands rely on are the components' own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_app.main import app
from planning.render import kubernetes_objects
from planning.run import run_program

runner = CliRunner()
FAKE = Path(__file__).with_name("fake_kubectl.py")
ROOT = Path(__file__).resolve().parents[2]
DUMP = "zenml-20261201T080000.sql.gz"
NEWER = "zenml-20261201T090000.sql.gz"


def local_with_backups(tmp_path: Path, backups: bool = True) -> Path:
    import yaml

    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    doc["config"]["zenml-platform:workspaces"][0]["database"]["inCluster"]["backup"] = {"enabled": backups}
    path = tmp_path / "stacks" / "Pulumi.cli-test-bk.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def kube(tmp_path, monkeypatch):
    import stack_config.loader as loader
    from stack_config import load_stack_file

    path = local_with_backups(tmp_path)
    real = loader.stack_file_path
    monkeypatch.setattr(loader, "stack_file_path", lambda name: path if name == "cli-test-bk" else real(name))
    objects = kubernetes_objects(run_program(load_stack_file(path), "cli-test-bk", preview=False).registrations)
    by_name = {f"{o['kind'].lower()}/{o['metadata']['name']}": o for o in objects if o.get("metadata", {}).get("namespace") == "zenml-default"}
    deploy = by_name["deployment/zenml-server"]
    deploy["spec"]["replicas"] = 2  # what the cluster says, not the profile: restore brings back this many
    state = {
        "objects": {k: v for k, v in by_name.items() if k.split("/")[0] in ("cronjob", "deployment")},
        "secrets": sorted(k for k in by_name if k.startswith("secret/")),
        "jobs": {}, "replicas": 2,
        "outcomes": {"backup": "Complete", "check": "Complete", "restore": "Complete"},
        "logs": {"backup": f"total 8\n-rw-r--r-- 1 999 999 1 Dec 1 08:00 {DUMP}\n-rw-r--r-- 1 999 999 1 Dec 1 09:00 {NEWER}",
                 "check": f"DUMP {DUMP}", "restore": f"DUMP {DUMP}\nTABLES 57"},
    }
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kubectl").symlink_to(FAKE)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    state_file, log = tmp_path / "kube-state.json", tmp_path / "kube-log.jsonl"
    state_file.write_text(json.dumps(state))
    monkeypatch.setenv("TOOLCHAIN_BIN", str(bindir))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("FAKE_KUBE_STATE", str(state_file))
    monkeypatch.setenv("FAKE_KUBE_LOG", str(log))

    class K:
        def set(self, **kw):
            s = json.loads(state_file.read_text())
            for k, v in kw.items():
                s[k].update(v) if isinstance(v, dict) else s.__setitem__(k, v)
            state_file.write_text(json.dumps(s))

        @property
        def calls(self) -> list[dict]:
            return [json.loads(ln) for ln in log.read_text().splitlines()] if log.exists() else []

        @property
        def state(self) -> dict:
            return json.loads(state_file.read_text())

    k = K()
    k.secrets = state["secrets"]
    return k


def run(*args: str):
    return runner.invoke(app, list(args))


def test_backup_runs_the_cronjob_now_and_prints_the_new_dump(kube):
    result = run("backup", "-s", "cli-test-bk", "-w", "default", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dump"] == NEWER and data["namespace"] == "zenml-default"
    create = [c["args"] for c in kube.calls if c["args"][:2] == ["create", "job"]]
    assert len(create) == 1 and create[0][2] == "--from=cronjob/default-mariadb-backup"
    assert create[0][3].startswith("default-mariadb-backup-now-") and len(create[0][3]) <= 63
    assert not [c for c in kube.calls if c["args"][0] == "scale"]


def test_failed_backup_is_exit_1_with_its_log(kube):
    kube.set(outcomes={"backup": "Failed"}, logs={"backup": "mariadb-dump: Got error: 2026: TLS/SSL error"})
    result = run("backup", "-s", "cli-test-bk", "-w", "default")
    assert result.exit_code == 1 and "failed" in result.stderr and "TLS/SSL error" in result.stderr


def test_backup_and_restore_refuse_a_workspace_without_backups_before_any_kubectl(kube, tmp_path):
    for cmd in (["backup"], ["restore", "--dump", "latest", "--yes"]):
        result = run(*cmd, "-s", "local", "-w", "default")
        assert result.exit_code == 2, result.output
        assert "workspaces[0].database.inCluster.backup.enabled: backups are off for workspace default (profile dev)" in result.stderr
        result = run(*cmd, "-s", "cli-test-bk", "-w", "nope")
        assert result.exit_code == 2 and "has no workspace 'nope' (workspaces: default)" in result.stderr
    assert kube.calls == []


@pytest.mark.parametrize("dump", ["../etc/passwd", "x.sql.gz;rm -rf /", "dump.tar", ""])
def test_restore_refuses_a_bad_dump_name(kube, dump):
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", dump, "--yes")
    assert result.exit_code == 2 and "--dump:" in result.stderr and "Traceback" not in result.output
    assert kube.calls == []


def test_restore_needs_yes_without_a_terminal(kube):
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", DUMP)
    assert result.exit_code == 2 and "--yes" in result.stderr and kube.calls == []


def test_restore_checks_scales_down_restores_and_brings_the_server_back(kube):
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", "latest", "--yes", "--json", "--timeout", "15")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dump"] == DUMP and data["tables"] == 57 and data["replicas"] == 2
    steps = [c["args"][0] if c["args"][0] != "create" else json.loads(c["stdin"])["metadata"]["name"].split("-")[2]
             for c in kube.calls if c["args"][0] in ("create", "scale", "rollout")]
    assert steps == ["rcheck", "scale", "restore", "scale", "rollout"]
    scales = [c["args"][2] for c in kube.calls if c["args"][0] == "scale"]
    assert scales == ["--replicas=0", "--replicas=2"] and kube.state["replicas"] == 2
    check, restore = [json.loads(c["stdin"]) for c in kube.calls if c["args"][:3] == ["create", "-f", "-"]]
    cron = kube.state["objects"]["cronjob/default-mariadb-backup"]["spec"]["jobTemplate"]["spec"]["template"]
    for job, dump in ((check, "latest"), (restore, DUMP)):
        pod = job["spec"]["template"]
        assert job["metadata"]["namespace"] == "zenml-default" and job["spec"]["backoffLimit"] == 0
        # The backup's pod: its client labels (NetworkPolicy), security context, image, credentials by reference.
        assert pod["metadata"]["labels"] == cron["metadata"]["labels"]
        assert pod["spec"]["securityContext"] == cron["spec"]["securityContext"]
        [c] = pod["spec"]["containers"]
        assert c["image"] == cron["spec"]["containers"][0]["image"]
        env = {e["name"]: e for e in c["env"]}
        assert env["DUMP"]["value"] == dump and "value" not in env["MYSQL_PWD"]
        assert env["MYSQL_PWD"]["valueFrom"]["secretKeyRef"] == {"name": "default-mariadb-credentials", "key": "root-password"}
        assert {"name": "backups", "mountPath": "/backups"} in c["volumeMounts"]
    script = restore["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert 'gunzip -t "$f"' in script and script.index("gunzip -t") < script.index("DROP DATABASE")
    # Every client call (reach, drop, load, count) verifies the server's certificate against the database CA.
    calls = script.count('mariadb --host="$DB_HOST" --user=root')
    assert calls == 5 and script.count('--user=root --ssl --ssl-ca=/etc/zenml-db-ca/ca.crt --ssl-verify-server-cert') == calls
    assert script.index('-e "SELECT 1"') < script.index("DROP DATABASE")
    volumes = {v["name"]: v for v in restore["spec"]["template"]["spec"]["volumes"]}
    assert f"secret/{volumes['db-ca']['secret']['secretName']}" in kube.secrets  # the CA Secret the stack creates
    assert "PRIVATE" not in json.dumps(restore) and "password" not in script.lower()


def test_restore_of_a_missing_dump_changes_nothing(kube):
    kube.set(outcomes={"check": "Failed"}, logs={"check": "no dump zenml-1.sql.gz in the backup volume; it holds:\ntotal 0"})
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", "zenml-1.sql.gz", "--yes")
    assert result.exit_code == 2 and "nothing changed" in result.stderr and "no dump zenml-1.sql.gz" in result.stderr
    assert not [c for c in kube.calls if c["args"][0] == "scale"] and kube.state["replicas"] == 2


def test_failed_restore_leaves_the_server_down_and_says_how_to_bring_it_back(kube):
    kube.set(outcomes={"restore": "Failed"}, logs={"restore": "ERROR 1045 (28000): Access denied"})
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", DUMP, "--yes")
    assert result.exit_code == 1 and "Access denied" in result.stderr
    assert "stays at 0 replicas" in result.stderr and "scale deployment/zenml-server --replicas=2" in result.stderr
    assert kube.state["replicas"] == 0 and not [c for c in kube.calls if c["args"][0] == "rollout"]
