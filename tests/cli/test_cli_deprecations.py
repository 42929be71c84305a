"""`scenario: airgapped` through the CLI: a warning, once, by validate/preview/up (never an error), and the
contradiction with `airGap.enabled: false` refused with exit 2, both key paths, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_app import engine
from cli_app.main import app
from cli_app.stack_files import NOTES_SHOWN_ENV
from tests.cli.test_cli_engine import fake  # noqa: F401 - the fake engine fixture

runner = CliRunner()
OLD = (
    "config:\n"
    "  zenml-platform:scenario: airgapped\n"
    "  zenml-platform:profile: dev\n"
    "  zenml-platform:domain: zenml.example.com\n"
    "  zenml-platform:registryMirror:\n    registry: registry.corp.internal:5000\n"
    "  zenml-platform:workspaces:\n    - name: alpha\n"
)
NOTE = ("warning: Pulumi.cli-test-old.yaml: scenario: `airgapped` is deprecated and read as self-hosted behind an air gap; "
        "write scenario: self-hosted and airGap: {enabled: true} instead (docs/upgrading.md)")


@pytest.fixture
def old_stack(tmp_path, monkeypatch) -> Path:
    import stack_config.loader as loader

    path = tmp_path / "stacks" / "Pulumi.cli-test-old.yaml"  # never in the shared stacks/ directory
    path.parent.mkdir()
    path.write_text(OLD)
    real = loader.stack_file_path
    monkeypatch.setattr(loader, "stack_file_path", lambda name: path if name == "cli-test-old" else real(name))
    return path


def warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: Pulumi.cli-test-old.yaml")]


def test_validate_warns_once_and_succeeds(old_stack):
    result = runner.invoke(app, ["validate", "-s", "cli-test-old"])
    assert result.exit_code == 0, result.output
    assert warnings(result) == [NOTE]
    assert "valid (self-hosted, air-gapped on kubernetes" in result.stdout


def test_validate_of_the_new_spelling_warns_nothing(tmp_path):
    path = tmp_path / "Pulumi.new.yaml"
    path.write_text(OLD.replace("scenario: airgapped", "scenario: self-hosted\n  zenml-platform:airGap:\n    enabled: true"))
    result = runner.invoke(app, ["validate", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


@pytest.mark.parametrize("args", [["preview"], ["up", "--yes"]], ids=["preview", "up"])
def test_engine_commands_warn_once(fake, old_stack, args):  # noqa: F811
    result = runner.invoke(app, [*args, "-s", "cli-test-old"])
    assert result.exit_code == 0, result.output
    assert warnings(result) == [NOTE]
    assert fake["stack"].calls  # the engine ran: a warning, not an error


def test_the_program_under_the_engine_is_told_the_notes_were_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")
    (tmp_path / "Pulumi.x.yaml").write_text(OLD)
    env = engine.engine_env(engine.PulumiCli("/bin/true", "PATH", {}), f"file://{tmp_path}/state", tmp_path / "Pulumi.x.yaml")
    assert env[NOTES_SHOWN_ENV] == "1"


def test_contradiction_is_exit_2_naming_both_key_paths(tmp_path):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(OLD + "  zenml-platform:airGap:\n    enabled: false\n")
    result = runner.invoke(app, ["validate", "-f", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("scenario:")]
    assert "airGap.enabled" in line and "deprecated" in line
    assert not warnings(result)  # refused files get the error, not also the note
