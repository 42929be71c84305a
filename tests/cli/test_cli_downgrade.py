"""The downgrade rule of preview/up: a zenmlVersion lower than the deployed one (read from the stack's state: the
server Deployment as last applied, else the `workspaces` output) is refused with exit 2 before the engine runs,
unless allowed by allowDowngrade or --allow-downgrade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli_app.downgrade import deployed_versions
from cli_app.main import app
from tests.cli.events_recorded import no_change_events
from tests.cli.test_cli_engine import FakeOutput, FakeStack, fake  # noqa: F401 - fake is a fixture

runner = CliRunner()


class DeployedStack(FakeStack):
    """A stack whose state (`export_stack`) holds the root stack's outputs and, optionally, resources."""

    def __init__(self, outputs: dict[str, Any] | Exception, resources: list[dict[str, Any]] | None = None):
        super().__init__(no_change_events())
        self._outputs = outputs
        self._resources = resources or []

    def export_stack(self):
        if isinstance(self._outputs, Exception):
            raise self._outputs
        root = {"urn": "urn:pulumi:local::zenml-platform::pulumi:pulumi:Stack::zenml-platform-local",
                "type": "pulumi:pulumi:Stack",
                "outputs": {k: getattr(v, "value", v) for k, v in self._outputs.items()}}
        return type("Deployment", (), {"deployment": {"resources": [root, *self._resources]}})()


def planned_server_deployment(version: str) -> dict[str, Any]:
    """The `local` stack's server Deployment as the state records it (the planned object, at ``version``)."""
    from planning.run import run_program
    from stack_config import load_stack_file
    root = Path(__file__).resolve().parents[2]
    cfg = load_stack_file(root / "stacks" / "Pulumi.local.yaml")
    cfg = cfg.model_copy(update={"zenml_version": version})
    [dep] = [r for r in run_program(cfg, "local", preview=False).of_type("kubernetes:apps/v1:Deployment")
             if r.inputs["metadata"]["labels"].get("app.kubernetes.io/name") == "zenml-server"]
    return {"urn": dep.urn, "type": dep.type, "outputs": dep.inputs}


def deployed(**versions: str) -> dict[str, Any]:
    return {"workspaces": FakeOutput({n: {"url": f"https://{n}.zenml.localhost", "version": v} for n, v in versions.items()}),
            "caBundle": FakeOutput("-----BEGIN CERTIFICATE-----")}


@pytest.fixture
def stack_file(tmp_path, monkeypatch):
    """A stack named cli-test-dg whose file the test writes (never in the shared stacks/ directory)."""
    import stack_config.loader as loader

    path = tmp_path / "stacks" / "Pulumi.cli-test-dg.yaml"
    path.parent.mkdir()
    real = loader.stack_file_path
    monkeypatch.setattr(loader, "stack_file_path", lambda name: path if name == "cli-test-dg" else real(name))

    def write(ws_extra: str) -> None:
        path.write_text(
            "config:\n  zenml-platform:scenario: self-hosted\n  zenml-platform:profile: dev\n"
            '  zenml-platform:zenmlVersion: "0.98.0"\n  zenml-platform:domain: zenml.localhost\n'
            "  zenml-platform:registryMirror:\n    registry: 127.0.0.1:5000\n"
            "  zenml-platform:workspaces:\n    - name: first\n    - name: second\n" + ws_extra
        )
    return write


@pytest.mark.parametrize("cmd", [["preview"], ["up", "--yes"]])
def test_stack_wide_downgrade_is_refused_before_the_engine(fake, cmd):
    fake["stack"] = DeployedStack(deployed(default="0.99.1"))
    result = runner.invoke(app, [*cmd, "-s", "local"])
    assert result.exit_code == 2, result.output
    assert "zenmlVersion: 0.98.0 is lower than 0.99.1, the version workspace default runs" in result.stderr
    assert "does not support downgrades" in result.stderr and "--allow-downgrade" in result.stderr
    assert "workspaces[0].allowDowngrade: true" in result.stderr and "Traceback" not in result.output
    assert fake["stack"].calls == []  # neither preview nor up ran


@pytest.mark.parametrize("cmd", [["preview"], ["up", "--yes"]])
def test_allow_downgrade_flag_lets_it_through(fake, cmd):
    fake["stack"] = DeployedStack(deployed(default="0.99.1"))
    result = runner.invoke(app, [*cmd, "-s", "local", "--allow-downgrade"])
    assert result.exit_code == 0, result.output
    assert [c[0] for c in fake["stack"].calls] == [cmd[0]]


def test_per_workspace_downgrade_names_the_workspace_key(fake, stack_file):
    stack_file('      zenmlVersion: "0.97.0"\n')  # on `second` (workspaces[1]); `first` keeps 0.98.0
    fake["stack"] = DeployedStack(deployed(first="0.98.0", second="0.98.0"))
    result = runner.invoke(app, ["up", "--yes", "-s", "cli-test-dg"])
    assert result.exit_code == 2, result.output
    assert "workspaces[1].zenmlVersion: 0.97.0 is lower than 0.98.0, the version workspace second runs" in result.stderr
    assert "workspace first" not in result.stderr
    assert fake["stack"].calls == []


def test_allow_downgrade_on_the_workspace_lets_it_through(fake, stack_file):
    stack_file('      zenmlVersion: "0.97.0"\n      allowDowngrade: true\n')
    fake["stack"] = DeployedStack(deployed(first="0.98.0", second="0.98.0"))
    result = runner.invoke(app, ["up", "--yes", "-s", "cli-test-dg"])
    assert result.exit_code == 0, result.output
    assert [c[0] for c in fake["stack"].calls] == ["up"]


def test_allow_downgrade_on_one_workspace_does_not_cover_another(fake, stack_file):
    stack_file('      allowDowngrade: true\n')  # on `second` only; the stack-wide 0.98.0 also lowers `first`
    fake["stack"] = DeployedStack(deployed(first="0.99.0", second="0.99.0"))
    result = runner.invoke(app, ["preview", "-s", "cli-test-dg"])
    assert result.exit_code == 2, result.output
    assert "zenmlVersion: 0.98.0 is lower than 0.99.0, the version workspace first runs" in result.stderr
    assert "workspace second" not in result.stderr


@pytest.mark.parametrize("outputs", [{}, deployed(default="0.98.0"), deployed(default="0.97.2"), deployed(other="1.0.0")])
def test_no_deployment_same_version_upgrade_or_new_workspace_go_ahead(fake, outputs):
    fake["stack"] = DeployedStack(outputs)
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 0, result.output
    assert [c[0] for c in fake["stack"].calls] == ["up"]


def test_unreadable_outputs_stop_before_the_engine(fake):
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import CommandError

    fake["stack"] = DeployedStack(CommandError(CommandResult("", "error: getting secrets manager: incorrect passphrase", 255)))
    result = runner.invoke(app, ["preview", "-s", "local"])
    assert result.exit_code == 2 and "cannot read the deployed versions of local" in result.stderr
    assert "PULUMI_CONFIG_PASSPHRASE" in result.stderr and fake["stack"].calls == []


def test_after_a_failed_upgrade_going_back_is_not_a_downgrade(fake):
    """The failed up's outputs already name 0.99.1; its server Deployment still runs 0.98.0, which the state shows."""
    fake["stack"] = DeployedStack(deployed(default="0.99.1"), [planned_server_deployment("0.98.0")])
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 0, result.output
    assert [c[0] for c in fake["stack"].calls] == ["up"]


def test_the_server_deployment_in_the_state_decides_over_the_outputs(fake):
    fake["stack"] = DeployedStack(deployed(default="0.98.0"), [planned_server_deployment("0.99.1")])
    result = runner.invoke(app, ["preview", "-s", "local"])
    assert result.exit_code == 2, result.output
    assert "zenmlVersion: 0.98.0 is lower than 0.99.1, the version workspace default runs" in result.stderr
    assert fake["stack"].calls == []


def test_running_versions_reads_the_server_deployment_by_its_labels():
    from cli_app.downgrade import running_versions

    dep = planned_server_deployment("0.97.0")
    assert running_versions({"resources": [dep]}) == {"default": "0.97.0"}
    other = {**dep, "outputs": {**dep["outputs"], "metadata": {"labels": {"app.kubernetes.io/name": "mariadb"}}}}
    assert running_versions({"resources": [other]}) == {}
    assert running_versions({}) == {}


def test_deployed_versions_reads_the_workspaces_output():
    assert deployed_versions({}) == {}
    assert deployed_versions(deployed(a="0.98.0", b="0.99.0")) == {"a": "0.98.0", "b": "0.99.0"}
    assert deployed_versions({"workspaces": {"a": {"url": "x"}}}) == {}
