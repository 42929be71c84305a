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


CRON = "cronjob/default-mariadb-backup"
MARK = "zenml-platform.io/suspended-by-restore"


def _steps_with_schedule(calls: list[dict]) -> list[str]:
    """The restore's steps in order, with the CronJob's suspend patches as `suspend=<value>`."""
    steps = []
    for c in calls:
        a = c["args"]
        if a[0] == "patch":
            steps.append(f"suspend={json.loads(a[5])['spec']['suspend']}")
        elif a[0] == "create":
            steps.append(json.loads(c["stdin"])["metadata"]["name"].split("-")[2])
        elif a[0] in ("scale", "rollout"):
            steps.append(a[0])
    return steps


def test_restore_suspends_scheduled_backups_until_the_server_is_back(kube):
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", DUMP, "--yes", "--timeout", "15")
    assert result.exit_code == 0, result.output
    # Suspended after the dump is checked and before anything changes; resumed only once the server is back.
    assert _steps_with_schedule(kube.calls) == ["rcheck", "suspend=True", "scale", "restore", "scale", "rollout",
                                                "suspend=False"]
    cron = kube.state["objects"][CRON]
    assert cron["spec"]["suspend"] is False and MARK not in (cron["metadata"].get("annotations") or {})
    assert "cronjob/default-mariadb-backup suspended until the restore is done" in result.stderr


def test_restore_waits_for_a_running_backup_before_anything_changes(kube):
    kube.set(backup_running=2)
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", DUMP, "--yes", "--timeout", "30")
    assert result.exit_code == 0, result.output
    reads = [i for i, c in enumerate(kube.calls) if c["args"][:2] == ["get", "cronjob"]]
    [scale_down] = [i for i, c in enumerate(kube.calls) if c["args"][:3][0] == "scale" and c["args"][2] == "--replicas=0"]
    assert len([i for i in reads if i < scale_down]) >= 3  # the initial read, two with the Job running, one without
    assert kube.state["backup_running"] == 0


def test_a_backup_that_keeps_running_stops_the_restore_before_anything_changes(kube):
    kube.set(backup_running=1000)
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", DUMP, "--yes", "--timeout", "10")
    assert result.exit_code == 1 and "default-mariadb-backup-29000000" in result.stderr, result.output
    assert "nothing restored" in result.stderr and "Traceback" not in result.output
    assert not [c for c in kube.calls if c["args"][0] == "scale"] and kube.state["replicas"] == 2
    assert kube.state["objects"][CRON]["spec"]["suspend"] is False  # set back: nothing else changed


def test_failed_restore_keeps_backups_suspended_and_the_next_restore_resumes_them(kube):
    kube.set(outcomes={"restore": "Failed"}, logs={"restore": "ERROR 1045 (28000): Access denied"})
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", DUMP, "--yes")
    assert result.exit_code == 1
    assert "Scheduled backups stay suspended" in result.stderr
    assert "patch cronjob default-mariadb-backup --type=merge" in result.stderr
    cron = kube.state["objects"][CRON]
    assert cron["spec"]["suspend"] is True and cron["metadata"]["annotations"][MARK] == "true"
    kube.set(outcomes={"restore": "Complete"})
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", DUMP, "--yes", "--timeout", "15")
    assert result.exit_code == 0, result.output
    cron = kube.state["objects"][CRON]
    assert cron["spec"]["suspend"] is False and MARK not in cron["metadata"]["annotations"]


def test_a_schedule_suspended_by_someone_else_stays_suspended(kube):
    cron = kube.state["objects"][CRON]
    cron["spec"]["suspend"] = True
    kube.set(objects={CRON: cron})
    result = run("restore", "-s", "cli-test-bk", "-w", "default", "--dump", DUMP, "--yes", "--timeout", "15")
    assert result.exit_code == 0, result.output
    assert not [c for c in kube.calls if c["args"][0] == "patch"]
    assert kube.state["objects"][CRON]["spec"]["suspend"] is True


def test_control_plane_restore_suspends_its_own_schedule(cp_kube):
    cp_kube.set(objects={"deployment/zenml-pro-api": _a_chart_deployment(1)}, replicas=1)
    result = run("restore", "-s", "cli-test-cp", "--control-plane", "--dump", CP_DUMP, "--yes", "--timeout", "15")
    assert result.exit_code == 0, result.output
    patched = [c["args"][2] for c in cp_kube.calls if c["args"][0] == "patch"]
    assert patched == ["control-plane-postgres-backup"] * 2
    assert cp_kube.state["objects"]["cronjob/control-plane-postgres-backup"]["spec"]["suspend"] is False


# The control plane's in-cluster PostgreSQL (`--control-plane`), planned from tests/data/Pulumi.cp-database.yaml
# with the real program (the chart is a Helm release there: the fake cluster adds its Deployments where a test
# needs them).
CP_NS = "zenml-control-plane"
CP_DUMP = "zenml_pro-20261201T080000.dump"
CP_NEWER = "zenml_pro-20261201T090000.dump"


def cp_stack(tmp_path: Path, name: str = "cli-test-cp", **changes) -> Path:
    import yaml

    doc = yaml.safe_load((ROOT / "tests" / "data" / "Pulumi.cp-database.yaml").read_text())
    cp = doc["config"]["zenml-platform:controlPlane"]
    for key, value in changes.items():
        cp[key] = value
    path = tmp_path / "stacks" / f"Pulumi.{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def cp_kube(tmp_path, monkeypatch, kube):
    """The `kube` fixture's fake cluster, serving the control plane's planned objects instead."""
    import stack_config.loader as loader
    from stack_config import load_stack_file

    path = cp_stack(tmp_path)
    real = loader.stack_file_path
    monkeypatch.setattr(loader, "stack_file_path", lambda name: path if name == "cli-test-cp" else real(name))
    objects = kubernetes_objects(run_program(load_stack_file(path), "cli-test-cp", preview=False).registrations)
    by_name = {f"{o['kind'].lower()}/{o['metadata']['name']}": o for o in objects
               if o.get("metadata", {}).get("namespace") == CP_NS}
    kube.set(objects=None, secrets=None)  # replaced below
    s = kube.state
    s["objects"] = {k: v for k, v in by_name.items() if k.split("/")[0] in ("cronjob", "deployment")}
    s["secrets"] = sorted(k for k in by_name if k.startswith("secret/"))
    s["replicas"] = 0
    s["logs"] = {"backup": f"total 8\n-rw-r--r-- 1 999 999 1 Dec 1 08:00 {CP_DUMP}\n-rw-r--r-- 1 999 999 1 Dec 1 09:00 {CP_NEWER}",
                 "check": f"DUMP {CP_DUMP}", "restore": f"DUMP {CP_DUMP}\nTABLES 3"}
    Path(os.environ["FAKE_KUBE_STATE"]).write_text(json.dumps(s))
    kube.cp_secrets = s["secrets"]
    return kube


def _a_chart_deployment(replicas: int) -> dict:
    return {"kind": "Deployment", "metadata": {"name": "zenml-pro-api", "namespace": CP_NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": "zenml-pro-api"}}}}


def test_backup_of_the_control_plane_runs_its_cronjob_and_prints_the_new_pg_dump(cp_kube):
    result = run("backup", "-s", "cli-test-cp", "--control-plane", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dump"] == CP_NEWER and data["namespace"] == CP_NS and data["controlPlane"] is True
    assert data["workspace"] is None
    [create] = [c["args"] for c in cp_kube.calls if c["args"][:2] == ["create", "job"]]
    assert create[2] == "--from=cronjob/control-plane-postgres-backup"
    assert create[3].startswith("control-plane-postgres-backup-now-") and len(create[3]) <= 63


def test_restore_of_the_control_plane_scales_the_charts_deployments_and_restores_with_verified_tls(cp_kube):
    cp_kube.set(objects={"deployment/zenml-pro-api": _a_chart_deployment(2)}, replicas=2)
    result = run("restore", "-s", "cli-test-cp", "--control-plane", "--dump", "latest", "--yes", "--json",
                 "--timeout", "15")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dump"] == CP_DUMP and data["tables"] == 3 and data["deployments"] == {"zenml-pro-api": 2}
    steps = [c["args"][0] if c["args"][0] != "create" else json.loads(c["stdin"])["metadata"]["name"].split("-")[3]
             for c in cp_kube.calls if c["args"][0] in ("create", "scale", "rollout")]
    assert steps == ["rcheck", "scale", "restore", "scale", "rollout"]
    scales = [c["args"][1:3] for c in cp_kube.calls if c["args"][0] == "scale"]
    assert scales == [["deployment/zenml-pro-api", "--replicas=0"], ["deployment/zenml-pro-api", "--replicas=2"]]
    check, restore = [json.loads(c["stdin"]) for c in cp_kube.calls if c["args"][:3] == ["create", "-f", "-"]]
    cron = cp_kube.state["objects"]["cronjob/control-plane-postgres-backup"]["spec"]["jobTemplate"]["spec"]["template"]
    for job, dump in ((check, "latest"), (restore, CP_DUMP)):
        pod = job["spec"]["template"]
        assert job["metadata"]["namespace"] == CP_NS and job["spec"]["backoffLimit"] == 0
        assert pod["metadata"]["labels"] == cron["metadata"]["labels"]
        [c] = pod["spec"]["containers"]
        assert c["image"] == cron["spec"]["containers"][0]["image"] == "127.0.0.1:5000/postgres:15"
        env = {e["name"]: e for e in c["env"]}
        assert env["DUMP"]["value"] == dump and "value" not in env["PGPASSWORD"]
        assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "control-plane-postgres-credentials", "key": "password"}
        assert env["PGHOST"]["value"] == "control-plane-postgres.zenml-control-plane.svc.cluster.local"
    script = restore["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert script.index('pg_restore --list "$f"') < script.index("DROP DATABASE")
    assert script.index("PGSSLMODE=verify-full; PGSSLROOTCERT=/etc/zenml-db-ca/ca.crt") < script.index("until psql")
    volumes = {v["name"]: v for v in restore["spec"]["template"]["spec"]["volumes"]}
    assert f"secret/{volumes['db-ca']['secret']['secretName']}" in cp_kube.cp_secrets
    assert "password" not in script.lower()


def test_restore_of_the_control_plane_without_deployments_scales_nothing(cp_kube):
    result = run("restore", "-s", "cli-test-cp", "--control-plane", "--dump", CP_DUMP, "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deployments"] == {}
    assert "no Deployment in zenml-control-plane uses the database; nothing to scale" in result.stderr
    assert not [c for c in cp_kube.calls if c["args"][0] in ("scale", "rollout")]


def test_failed_restore_of_the_control_plane_leaves_its_deployments_down(cp_kube):
    cp_kube.set(objects={"deployment/zenml-pro-api": _a_chart_deployment(1)}, replicas=1,
                outcomes={"restore": "Failed"}, logs={"restore": 'pg_restore: error: could not execute query'})
    result = run("restore", "-s", "cli-test-cp", "--control-plane", "--dump", CP_DUMP, "--yes")
    assert result.exit_code == 1 and "could not execute query" in result.stderr
    assert "Deployments stay at 0 replicas" in result.stderr
    assert "kubectl -n zenml-control-plane scale deployment/zenml-pro-api --replicas=1" in result.stderr
    assert cp_kube.state["replicas"] == 0


@pytest.mark.parametrize("args, message", [
    (["-w", "default", "--control-plane"], "--workspace and --control-plane: give one of them"),
    ([], "--workspace: give a workspace name (workspaces[].name), or --control-plane"),
])
def test_the_target_is_one_workspace_or_the_control_plane(cp_kube, args, message):
    for cmd in (["backup"], ["restore", "--dump", "latest", "--yes"]):
        result = run(*cmd, "-s", "cli-test-cp", *args)
        assert result.exit_code == 2 and message in result.stderr, result.output
        assert "Traceback" not in result.output
    assert cp_kube.calls == []


def test_control_plane_commands_name_the_key_path_where_there_is_nothing_to_back_up(cp_kube, tmp_path, monkeypatch):
    import stack_config.loader as loader

    paths = {
        "cli-test-cp-off": cp_stack(tmp_path, "cli-test-cp-off", database={"inCluster": {"backup": {"enabled": False}}}),
        "cli-test-cp-ext": cp_stack(tmp_path, "cli-test-cp-ext", database={"mode": "external", "external": {
            "host": "pg.corp.internal", "username": "zenml_pro", "database": "zenml_pro",
            "password": {"secure": "v1:xBpLo9dWTHvaE+aS:kyWLS7sTDSezL0TXcye2yH5eOJKpwN7XZaMakHDcf0PyEdY1Zo5BeGyK"}}}),
    }
    real = loader.stack_file_path
    monkeypatch.setattr(loader, "stack_file_path", lambda name: paths.get(name) or real(name))
    cases = {
        "local": "controlPlane.enabled: local deploys no control plane (scenario self-hosted)",
        "cli-test-cp-off": "controlPlane.database.inCluster.backup.enabled: backups are off for the control plane (profile dev)",
        "cli-test-cp-ext": "controlPlane.database.mode: the control plane's database is external, not in the cluster",
    }
    for stack, message in cases.items():
        for cmd in (["backup"], ["restore", "--dump", "latest", "--yes"]):
            result = run(*cmd, "-s", stack, "--control-plane")
            assert result.exit_code == 2 and message in result.stderr, (stack, result.output)
            assert "Traceback" not in result.output
    assert cp_kube.calls == []


@pytest.mark.parametrize("target, dump, message", [
    (["--control-plane"], DUMP, "is not a dump of the control plane's postgres database (its dumps end in .dump)"),
    (["-w", "default"], CP_DUMP, "is not a dump of workspace default's mariadb database (its dumps end in .sql.gz)"),
])
def test_restore_refuses_a_dump_of_the_other_engine(cp_kube, target, dump, message):
    stack = "cli-test-cp" if "--control-plane" in target else "cli-test-bk"
    result = run("restore", "-s", stack, *target, "--dump", dump, "--yes")
    assert result.exit_code == 2 and "--dump:" in result.stderr and message in result.stderr, result.output
    assert cp_kube.calls == []
