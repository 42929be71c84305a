"""Interrupted and concurrent operations, and destroy of protected data, against a fake engine: stale and live
locks (exit 4), pending creates left by a killed `up` (adopted or dropped by a refresh before `up` runs), and
`destroy` refusing while protected resources are in the state (exit 2) unless --keep-data."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_app import recovery
from cli_app.main import app
from tests.cli.events_recorded import no_change_events
from tests.cli.test_cli_engine import FakeStack, fake  # noqa: F401 - fake is a fixture

runner = CliRunner()
CIPHERTEXT = "v1:Zm9vYmFyc2VjcmV0Y2lwaGVydGV4dA=="  # how a secret input looks in an export: never printed
SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": CIPHERTEXT}
URN = "urn:pulumi:local::zenml-platform::zenml-platform:workspace:Workspace$"


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _lock(fake_state: Path, pid: int, host: str | None = None) -> Path:
    path = fake_state / ".pulumi" / "locks" / "organization" / "zenml-platform" / "local" / "abc.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": pid, "username": "alice", "hostname": host or socket.gethostname(),
                                "timestamp": "2026-12-01T10:20:00Z"}))
    return path


@pytest.fixture
def state(tmp_path) -> Path:
    return tmp_path / "state"  # the fake fixture's PULUMI_BACKEND_URL


@pytest.mark.parametrize("cmd", [["up", "--yes"], ["destroy", "--yes"], ["refresh", "--yes"]])
def test_a_stale_lock_is_named_with_the_command_that_removes_it(fake, state, cmd):
    _lock(state, _dead_pid())
    result = runner.invoke(app, [*cmd, "-s", "local"])
    assert result.exit_code == 4, result.output
    assert "local is locked by another operation" in result.stderr and "nothing changed" in result.stderr
    assert f"alice@{socket.gethostname()}" in result.stderr and "that process is gone: the lock is stale" in result.stderr
    assert f"PULUMI_BACKEND_URL=file://{state} pulumi cancel -s local --yes" in result.stderr
    assert fake["stack"].calls == [] and "Traceback" not in result.output


def test_a_live_lock_says_wait(fake, state):
    _lock(state, os.getpid())
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 4
    assert f"(pid {os.getpid()})" in result.stderr and "that process still runs: wait for it to finish" in result.stderr


def test_a_lock_from_another_host_cannot_be_judged(fake, state):
    _lock(state, 1, host="elsewhere.example")
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 4 and "on another machine: check there whether it still runs" in result.stderr


def test_a_lock_of_another_stack_does_not_matter(fake, state):
    path = state / ".pulumi" / "locks" / "organization" / "zenml-platform" / "other" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    assert runner.invoke(app, ["up", "--yes", "-s", "local"]).exit_code == 0


def test_the_engines_own_lock_error_becomes_the_same_message(fake):
    fake["stack"] = FakeStack(no_change_events(), fail=(
        "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete "
        "the lock file with `pulumi cancel`.\n  file:///s/.pulumi/locks/organization/zenml-platform/local/1.json: "
        "created by bob@ci-7 (pid 4242) at 2026-12-01T10:21:00Z"))
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 4, result.output
    assert "held by bob@ci-7 (pid 4242) since 2026-12-01T10:21:00Z" in result.stderr
    assert "pulumi cancel -s local --yes" in result.stderr and "up local failed" not in result.stderr


# --- pending operations ------------------------------------------------------------------------------------------


def _pending(*ops: tuple[str, str, dict]) -> dict:
    return {"pending_operations": [{"resource": {"urn": URN + o[0], "type": o[1], "custom": o[1].startswith(("kubernetes:", "random:")),
                                                 "inputs": o[2]}, "type": "creating"} for o in ops]}


NS = ("kubernetes:core/v1:Namespace::second", "kubernetes:core/v1:Namespace",
      {"metadata": {"name": "zenml-second", "labels": {"a": "b"}}})
CREDS = ("kubernetes:core/v1:Secret::second-mariadb-credentials", "kubernetes:core/v1:Secret",
         {"metadata": {"name": "second-mariadb-credentials", "namespace": "zenml-second"}, "stringData": SECRET})
PASSWORD = ("random:index/randomPassword:RandomPassword::second-mariadb-password", "random:index/randomPassword:RandomPassword",
            {"length": 32, "result": SECRET})
COMPONENT = ("zenml-platform:database:MariaDbDatabase::second-mariadb", "zenml-platform:database:MariaDbDatabase", {})


class Runs:
    def __init__(self, stack, rc: int = 0, stderr: str = "", clears_state: bool = True):
        self.stack, self.rc, self.stderr, self.clears, self.cmds = stack, rc, stderr, clears_state, []

    def __call__(self, session, cmd, timeout=1800):
        self.cmds.append(cmd)
        if self.rc == 0 and self.clears:
            self.stack.deployment = {}
        return subprocess.CompletedProcess(cmd, self.rc, "", self.stderr)


class Cluster:
    """The objects a dead engine created (by kubectl kind and ID); records deletions."""

    def __init__(self, *present: tuple[str, str]):
        self.present, self.deleted = set(present), []

    def exists(self, type_token, ident):
        return (recovery.kubectl_kind(type_token), ident) in self.present

    def delete(self, type_token, ident):
        self.deleted.append((recovery.kubectl_kind(type_token), ident))


@pytest.fixture
def cluster(monkeypatch):
    holder = Cluster(("Namespace", "zenml-second"))
    monkeypatch.setattr(recovery, "ClusterObjects", lambda cfg: holder)
    return holder


def test_pending_creates_are_removed_or_dropped_before_up(fake, monkeypatch, cluster):
    fake["stack"].deployment = _pending(NS, CREDS, PASSWORD, COMPONENT)
    runs = Runs(fake["stack"])
    monkeypatch.setattr(recovery, "_run", runs)
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 0, result.output
    assert cluster.deleted == [("Namespace", "zenml-second")]  # the Secret never reached the API server
    assert runs.cmds == [["pulumi", "refresh", "--stack", "local", "--yes", "--skip-preview", "--non-interactive",
                          "--color=never", "--clear-pending-creates"]]
    assert "left 4 operation(s) pending" in result.stderr
    assert "creating Namespace second: object zenml-second was created but never recorded; removed" in result.stderr
    assert "creating Secret second-mariadb-credentials: object zenml-second/second-mariadb-credentials is not in the cluster" in result.stderr
    assert "creating zenml-platform:MariaDbDatabase second-mariadb: a component, only a name in the state; dropped" in result.stderr
    assert "creating random:RandomPassword second-mariadb-password: nothing outside the state; dropped, `up` creates it again" in result.stderr
    assert "resolved 4 pending operation(s) (1 unrecorded object(s) removed, 4 create(s) to redo, 0 read back)" in result.stderr
    assert CIPHERTEXT not in result.output and "1b47061264138c4ac30d75fd1eb44270" not in result.output
    assert [c[0] for c in fake["stack"].calls] == ["up"]  # up runs after the refresh
    # The state is read once before the refresh (downgrade rule and pending operations share it) and once after.
    assert fake["stack"].exports == 2


def test_no_pending_operations_no_refresh(fake, monkeypatch, cluster):
    runs = Runs(fake["stack"])
    monkeypatch.setattr(recovery, "_run", runs)
    assert runner.invoke(app, ["up", "--yes", "-s", "local"]).exit_code == 0
    assert runs.cmds == [] and cluster.deleted == []
    assert fake["stack"].exports == 1  # one `pulumi stack export` for every check before `up`


def test_a_pending_create_without_a_name_stops_before_any_change(fake, monkeypatch, cluster):
    nameless = ("kubernetes:core/v1:ConfigMap::cfg", "kubernetes:core/v1:ConfigMap", {"metadata": {"namespace": "zenml-second"}})
    fake["stack"].deployment = _pending(NS, nameless)
    runs = Runs(fake["stack"])
    monkeypatch.setattr(recovery, "_run", runs)
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 1, result.output
    assert "cannot tell which objects these pending creates made; nothing changed" in result.stderr
    assert "creating ConfigMap cfg: its object name is not in the state" in result.stderr
    assert "pulumi refresh --stack local --yes --skip-preview --non-interactive --color=never --clear-pending-creates" in result.stderr
    assert runs.cmds == [] and cluster.deleted == [] and fake["stack"].calls == []


def test_a_failed_refresh_prints_the_command_and_up_does_not_run(fake, monkeypatch, cluster):
    fake["stack"].deployment = _pending(CREDS)
    runs = Runs(fake["stack"], rc=255, stderr="error: kubernetes cluster unreachable: connection refused")
    monkeypatch.setattr(recovery, "_run", runs)
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 1
    assert "clearing the pending operations failed; run it yourself" in result.stderr
    assert "pulumi refresh --stack local --yes --skip-preview --non-interactive --color=never --clear-pending-creates" in result.stderr
    assert "the cluster is not reachable" in result.stderr and fake["stack"].calls == []


def test_pending_creates_left_after_the_refresh_are_reported(fake, monkeypatch, cluster):
    fake["stack"].deployment = _pending(CREDS)
    monkeypatch.setattr(recovery, "_run", Runs(fake["stack"], clears_state=False))
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 1 and "still in the state after the refresh" in result.stderr
    assert fake["stack"].calls == []


def test_up_without_yes_resolves_nothing(fake, monkeypatch, cluster):
    fake["stack"].deployment = _pending(NS)
    runs = Runs(fake["stack"])
    monkeypatch.setattr(recovery, "_run", runs)
    result = runner.invoke(app, ["up", "-s", "local"])
    assert result.exit_code == 2 and "--yes" in result.stderr and runs.cmds == [] and cluster.deleted == []


def test_kubectl_kinds():
    assert recovery.kubectl_kind("kubernetes:apps/v1:StatefulSet") == "StatefulSet.v1.apps"
    assert recovery.kubectl_kind("kubernetes:core/v1:Secret") == "Secret"
    assert recovery.kubectl_kind("kubernetes:networking.k8s.io/v1:NetworkPolicy") == "NetworkPolicy.v1.networking.k8s.io"


def test_kubernetes_ids():
    assert recovery.kubernetes_id("kubernetes:core/v1:Namespace", {"metadata": {"name": "n"}}) == "n"
    assert recovery.kubernetes_id("kubernetes:apps/v1:StatefulSet", {"metadata": {"name": "db", "namespace": "ns"}}) == "ns/db"
    assert recovery.kubernetes_id("kubernetes:helm.sh/v3:Release", {"name": "r", "namespace": "ns"}) == "ns/r"
    assert recovery.kubernetes_id("kubernetes:core/v1:Secret", {"metadata": {"name": SECRET, "namespace": "ns"}}) is None
    assert recovery.kubernetes_id("random:index/randomPassword:RandomPassword", {"length": 3}) is None


# --- destroy of protected data -------------------------------------------------------------------------------------


PROTECTED = {"resources": [
    {"urn": URN + "kubernetes:core/v1:Namespace::default", "type": "kubernetes:core/v1:Namespace", "protect": True,
     "retainOnDelete": True},
    {"urn": URN + "random:index/randomPassword:RandomPassword::default-jwt-secret",
     "type": "random:index/randomPassword:RandomPassword", "protect": True, "outputs": {"result": SECRET}},
    {"urn": URN + "kubernetes:apps/v1:Deployment::default-server", "type": "kubernetes:apps/v1:Deployment"},
]}


def test_destroy_refuses_while_resources_are_protected(fake):
    fake["stack"].deployment = PROTECTED
    result = runner.invoke(app, ["destroy", "--yes", "-s", "local"])
    assert result.exit_code == 2, result.output
    assert "refusing to destroy: 2 resource(s) are protected" in result.stderr and "nothing changed" in result.stderr
    assert "Namespace default  (retained in the cluster when deleted)" in result.stderr
    assert "random:RandomPassword default-jwt-secret" in result.stderr and "default-server" not in result.stderr
    assert "destroy -s local --keep-data" in result.stderr and "pulumi state unprotect -s local --all --yes" in result.stderr
    assert CIPHERTEXT not in result.output and fake["stack"].calls == []


def test_destroy_keep_data_excludes_the_protected_resources(fake):
    fake["stack"].deployment = PROTECTED
    result = runner.invoke(app, ["destroy", "--yes", "--keep-data", "-s", "local", "--json"])
    assert result.exit_code == 0, result.output
    assert [(c[0], c[1].get("exclude_protected")) for c in fake["stack"].calls] == [("destroy", True)]
    assert len(json.loads(result.stdout)["keptProtected"]) == 2


def test_destroy_without_protected_resources_runs(fake):
    fake["stack"].deployment = {"resources": PROTECTED["resources"][2:]}
    assert runner.invoke(app, ["destroy", "--yes", "-s", "local"]).exit_code == 0
    assert [c[0] for c in fake["stack"].calls] == ["destroy"]


def test_up_on_a_terminal_asks_before_resolving(fake, monkeypatch, cluster):
    import cli_app.engine_cmds as engine_cmds

    monkeypatch.setattr(engine_cmds, "is_interactive", lambda: True)
    fake["stack"].deployment = _pending(NS)
    runs = Runs(fake["stack"])
    monkeypatch.setattr(recovery, "_run", runs)
    result = runner.invoke(app, ["up", "-s", "local"], input="n\n")
    assert result.exit_code == 1 and "cancelled; nothing changed" in result.stderr
    assert "object zenml-second (deleted with --cascade=orphan if it exists)" in result.stderr
    assert runs.cmds == [] and cluster.deleted == [] and fake["stack"].calls == []
