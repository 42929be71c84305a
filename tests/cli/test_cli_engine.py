"""Engine commands without the engine: CLI discovery, backend and passphrase selection, error -> exit code mapping,
and preview/up/destroy/refresh/drift/outputs wired to a fake Automation API stack that replays recorded events."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli_app import engine
from cli_app.main import app
from tests.cli.events_recorded import (
    SECRET_VALUE,
    drift_events,
    no_change_events,
    parse,
    preview_events,
    up_events_with_failure,
)

runner = CliRunner()


def exe(path: Path, body: str = "#!/bin/sh\necho v3.259.0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def exit_code(fn, *args, **kwargs) -> int:
    with pytest.raises(typer.Exit) as info:
        fn(*args, **kwargs)
    return info.value.exit_code


# --- which pulumi ----------------------------------------------------------------------------------------------


def test_pulumi_from_env_var_first(tmp_path):
    mine = exe(tmp_path / "custom" / "pulumi-3.259")
    exe(tmp_path / "path" / "pulumi")
    cli = engine.find_pulumi({engine.PULUMI_ENV: str(mine), "PATH": str(tmp_path / "path")}, root=tmp_path)
    assert (cli.path, cli.source) == (str(mine), "env")
    assert cli.env["PATH"].startswith(str(tmp_path / "custom"))


def test_pulumi_env_var_not_executable_is_invalid_input(tmp_path, capsys):
    assert exit_code(engine.find_pulumi, {engine.PULUMI_ENV: str(tmp_path / "missing")}, root=tmp_path) == 2
    assert "ZENML_PLATFORM_PULUMI" in capsys.readouterr().err


def test_pulumi_on_path_second(tmp_path):
    on_path = exe(tmp_path / "path" / "pulumi")
    cli = engine.find_pulumi({"PATH": str(tmp_path / "path")}, root=tmp_path)
    assert (cli.path, cli.source) == (str(on_path), "PATH")


def test_pulumi_from_toolchain_env_sh(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENML_PLATFORM_CACHE", str(tmp_path / "nocache"))
    bin_dir = tmp_path / "cache" / "bin"
    exe(bin_dir / "pulumi")
    exe(tmp_path / "toolchain" / "env.sh",
        f"#!/bin/sh\nprintf 'export PATH=%s\\nexport PULUMI_HOME=%s\\nexport TOOLCHAIN_BIN=%s\\n' '{bin_dir}:/usr/bin' '{tmp_path}/home' '{bin_dir}'\n")
    cli = engine.find_pulumi({"PATH": str(tmp_path / "empty")}, root=tmp_path)
    assert cli.source == "toolchain" and cli.path == str(bin_dir / "pulumi")
    assert cli.env["PULUMI_HOME"] == f"{tmp_path}/home"


def test_pulumi_from_an_earlier_toolchain_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENML_PLATFORM_CACHE", str(tmp_path / "cache"))
    built = exe(tmp_path / "cache" / "toolchain" / "abc123" / "bin" / "pulumi")
    (tmp_path / "cache" / "toolchain" / "abc123" / "pulumi-home").mkdir()
    cli = engine.find_pulumi({"PATH": str(tmp_path / "empty")}, root=tmp_path)
    assert cli.path == str(built) and cli.env["PULUMI_HOME"].endswith("abc123/pulumi-home")
    assert cli.env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"


def test_no_pulumi_anywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENML_PLATFORM_CACHE", str(tmp_path / "cache"))
    assert engine.find_pulumi({"PATH": str(tmp_path / "empty")}, root=tmp_path) is None


# --- backend and passphrase -----------------------------------------------------------------------------------------


def test_backend_selection(tmp_path):
    assert engine.backend_url("s3://b", {"PULUMI_BACKEND_URL": "file:///x"}) == ("s3://b", "--backend")
    assert engine.backend_url(None, {"PULUMI_BACKEND_URL": "file:///x"}) == ("file:///x", "PULUMI_BACKEND_URL")
    nobody = {"PULUMI_HOME": str(tmp_path / "no-login")}
    assert engine.backend_url(None, nobody, state_dir=tmp_path / "st") == (f"file://{tmp_path}/st", "default")
    assert engine.backend_url(None, nobody)[0] == f"file://{engine.ROOT}/.pulumi-state"


def test_backend_follows_pulumi_login(tmp_path):
    home = tmp_path / "pulumi-home"
    home.mkdir()
    (home / "credentials.json").write_text('{"current": "s3://team-state", "accounts": {}}')
    env = {"PULUMI_HOME": str(home)}
    assert engine.backend_url(None, env) == ("s3://team-state", "pulumi login")
    assert engine.backend_url(None, {**env, "PULUMI_BACKEND_URL": "file:///x"})[1] == "PULUMI_BACKEND_URL"
    (home / "credentials.json").write_text("not json")
    assert engine.backend_url(None, env)[1] == "default"


SECRET_STACK = "config:\n  zenml-platform:workspaces:\n    - name: a\n      secretEnv:\n        TOKEN:\n          secure: v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==\n"


def test_passphrase_required_when_the_stack_has_secrets(tmp_path, capsys):
    f = tmp_path / "Pulumi.s.yaml"
    f.write_text(SECRET_STACK)
    assert exit_code(engine.passphrase_env, f, {}) == 2
    message = capsys.readouterr().err
    assert "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE" in message
    assert "workspaces[0].secretEnv.TOKEN" in message and "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==" not in message
    assert engine.passphrase_env(f, {"PULUMI_CONFIG_PASSPHRASE": "p"}) == {}
    pf = tmp_path / "pass"
    pf.write_text("p")
    assert engine.passphrase_env(f, {"PULUMI_CONFIG_PASSPHRASE_FILE": str(pf)}) == {}
    assert exit_code(engine.passphrase_env, f, {"PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "nope")}) == 2


def test_passphrase_optional_without_secrets_but_warned(tmp_path, capsys):
    f = tmp_path / "Pulumi.p.yaml"
    f.write_text("config:\n  zenml-platform:domain: a.example.com\n")
    assert engine.passphrase_env(f, {}) == {"PULUMI_CONFIG_PASSPHRASE": ""}
    assert "empty passphrase" in capsys.readouterr().err
    f.write_text("secretsprovider: awskms://alias/x\nconfig:\n  a:b:\n    secure: zzz\n")
    assert engine.passphrase_env(f, {}) == {}


@pytest.mark.parametrize("text,code,hint", [
    ("error: getting secrets manager: incorrect passphrase", 2, "PULUMI_CONFIG_PASSPHRASE"),
    ("error: the stack is currently locked by 1 lock(s)", 4, "pulumi cancel"),
    ("error: invalid stack configuration:\n  domain: bad", 2, "validate"),
    ("error: could not find plugin for provider kubernetes", 1, "make toolchain"),
    ("error: resource cannot be deleted because it is protected", 1, "unprotect"),
    ("error: something else", 1, None),
])
def test_error_to_exit_code(text, code, hint):
    got_code, got_hint = engine.classify_error(text)
    assert got_code == code
    assert (hint is None and got_hint is None) or hint in got_hint


def test_error_lines_from_a_command_error():
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import CommandError

    exc = CommandError(CommandResult("Previewing update\nerror: update failed\n", "error: incorrect passphrase\n", 255))
    assert engine.error_lines(exc) == ["error: incorrect passphrase"]
    exc = CommandError(CommandResult("noise\nerror: update failed\n", "", 255))
    assert engine.error_lines(exc) == ["error: update failed"]


# --- commands against a fake stack -----------------------------------------------------------------------------------


class FakeOutput:
    def __init__(self, value: Any, secret: bool = False):
        self.value, self.secret = value, secret


class FakeStack:
    """Replays recorded events through `on_event` like the Automation API; raises like it on failure."""

    def __init__(self, events: list[dict], fail: str | None = None):
        self.events, self.fail, self.calls = events, fail, []

    def _replay(self, name: str, on_event=None, **kwargs):
        self.calls.append((name, kwargs))
        for e in parse(self.events):
            on_event(e)
        if self.fail:
            from pulumi.automation._cmd import CommandResult
            from pulumi.automation.errors import CommandError

            raise CommandError(CommandResult("", self.fail, 255))
        return type("Result", (), {"outputs": {"nextSteps": FakeOutput(["zenml login https://default.zenml.localhost"]),
                                               "adminPassword": FakeOutput(SECRET_VALUE, secret=True)}})()

    def preview(self, **kw):
        return self._replay("preview", **kw)

    def up(self, **kw):
        return self._replay("up", **kw)

    def destroy(self, **kw):
        return self._replay("destroy", **kw)

    def refresh(self, **kw):
        return self._replay("refresh", **kw)

    def preview_refresh(self, **kw):
        return self._replay("preview_refresh", **kw)

    def outputs(self):
        return {"caBundle": FakeOutput("-----BEGIN CERTIFICATE-----"), "adminPassword": FakeOutput(SECRET_VALUE, secret=True)}

    deployment: dict = {}  # what `pulumi stack export` returns: no pending operations, nothing protected

    def export_stack(self):
        self.exports = getattr(self, "exports", 0) + 1  # not in `calls`: those are the engine operations
        return type("Deployment", (), {"deployment": self.deployment})()


@pytest.fixture
def fake(monkeypatch, tmp_path):
    holder: dict[str, Any] = {"stack": FakeStack(preview_events())}
    monkeypatch.setattr(engine, "require_pulumi", lambda: engine.PulumiCli("/bin/true", "PATH", {}))
    def open_stack(name, cli, env, create=True):
        holder.setdefault("creates", []).append(create)
        if not create and holder.get("missing"):
            from pulumi.automation._cmd import CommandResult
            from pulumi.automation.errors import StackNotFoundError

            raise StackNotFoundError(CommandResult("", "no stack named 'local' found", 255))
        return holder["stack"]

    monkeypatch.setattr(engine, "open_stack", open_stack)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}/state")
    return holder


def run(*args: str):
    return runner.invoke(app, list(args))


def test_preview_writes_summary_md_and_json(fake, tmp_path):
    md = tmp_path / "out" / "preview.md"
    result = run("preview", "-s", "local", "--summary-md", str(md), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["changes"]["replace"] == 1 and data["exitCode"] == 0 and data["backend"].startswith("file://")
    assert "[!CAUTION]" in md.read_text() and SECRET_VALUE not in md.read_text() + result.output
    assert fake["stack"].calls[0][1]["color"] == "never"


def test_preview_expect_no_changes(fake):
    result = run("preview", "-s", "local", "--expect-no-changes")
    assert result.exit_code == 3
    assert "changes found where none were expected" in result.stderr
    fake["stack"] = FakeStack(no_change_events())
    assert run("preview", "-s", "local", "--expect-no-changes").exit_code == 0


def test_preview_passes_policy_packs(fake, tmp_path):
    assert run("preview", "-s", "local", "--policy-pack", str(tmp_path / "missing")).exit_code == 2
    (tmp_path / "pack").mkdir()
    assert run("preview", "-s", "local", "--policy-pack", str(tmp_path / "pack")).exit_code == 0
    assert fake["stack"].calls[-1][1]["policy_packs"] == [str((tmp_path / "pack").resolve())]


def test_preview_failure_is_exit_1_and_summary_says_so(fake, tmp_path):
    fake["stack"] = FakeStack(up_events_with_failure(), fail="error: preview failed")
    md = tmp_path / "p.md"
    result = run("preview", "-s", "local", "--summary-md", str(md))
    assert result.exit_code == 1
    assert "preview local failed" in result.stderr and "Deployment is not available" in result.stderr
    assert "**The preview failed**" in md.read_text()


def test_wrong_passphrase_is_exit_2(fake):
    fake["stack"] = FakeStack(no_change_events(), fail="error: getting secrets manager: incorrect passphrase")
    result = run("up", "-s", "local", "--yes")
    assert result.exit_code == 2
    assert "PULUMI_CONFIG_PASSPHRASE" in result.stderr


def test_up_needs_yes_without_a_terminal(fake):
    result = run("up", "-s", "local")
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert fake["stack"].calls == []


def test_up_reports_progress_outputs_masked_and_next_steps(fake):
    result = run("up", "-s", "local", "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["outputs"]["adminPassword"] == "[secret]"
    assert SECRET_VALUE not in result.output
    result = run("up", "-s", "local", "--yes")
    assert "up: started" in result.stderr and "next: zenml login https://default.zenml.localhost" in result.stderr


def test_up_failure_is_exit_1(fake):
    fake["stack"] = FakeStack(up_events_with_failure(), fail="error: update failed")
    result = run("up", "-s", "local", "--yes")
    assert result.exit_code == 1
    assert "FAILED create Deployment team-b-server-deployment" in result.stderr


def test_destroy_and_refresh_with_yes(fake):
    assert run("destroy", "-s", "local", "--yes").exit_code == 0
    assert run("refresh", "-s", "local", "--yes").exit_code == 0
    assert [c[0] for c in fake["stack"].calls] == ["destroy", "refresh"]


def test_drift_exit_codes(fake, tmp_path):
    fake["stack"] = FakeStack(drift_events(changed=True))
    md = tmp_path / "drift.md"
    result = run("drift", "-s", "local", "--summary-md", str(md))
    assert result.exit_code == 3 and "differs from its state" in result.stderr
    assert "zenml-platform drift" in md.read_text() and "default-mysql-config" in md.read_text()
    fake["stack"] = FakeStack(drift_events(changed=False))
    assert run("drift", "-s", "local").exit_code == 0
    assert fake["stack"].calls[-1][0] == "preview_refresh"


def test_outputs_masked_unless_asked(fake):
    result = run("outputs", "-s", "local", "--json")
    assert json.loads(result.stdout) == {"caBundle": "-----BEGIN CERTIFICATE-----", "adminPassword": "[secret]"}
    assert run("outputs", "caBundle", "-s", "local").stdout.strip() == "-----BEGIN CERTIFICATE-----"
    assert SECRET_VALUE in run("outputs", "adminPassword", "-s", "local", "--show-secrets").stdout
    assert run("outputs", "nope", "-s", "local").exit_code == 2


def test_engine_commands_validate_config_before_the_engine(fake, tmp_path, monkeypatch):
    import stack_config.loader as loader

    bad = tmp_path / "stacks" / "Pulumi.cli-test-invalid.yaml"  # never in the shared stacks/ directory
    bad.parent.mkdir()
    bad.write_text("config:\n  zenml-platform:scenario: self-hosted\n  zenml-platform:domain: NOPE\n")
    real = loader.stack_file_path
    monkeypatch.setattr(loader, "stack_file_path", lambda name: bad if name == "cli-test-invalid" else real(name))
    if True:
        for cmd in ("preview", "up", "destroy", "refresh", "drift", "outputs"):
            result = run(cmd, "-s", "cli-test-invalid", "--yes") if cmd in ("up", "destroy", "refresh") else run(cmd, "-s", "cli-test-invalid")
            assert result.exit_code == 2, (cmd, result.output)
            assert "domain: must be a lower-case DNS name" in result.stderr and "Traceback" not in result.output
    assert fake["stack"].calls == []
    assert run("preview").exit_code == 2
    assert run("preview", "-s", "does-not-exist").exit_code == 2


def test_engine_commands_without_pulumi_name_make_toolchain(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "find_pulumi", lambda *a, **k: None)
    for cmd in (["preview"], ["up", "--yes"], ["destroy", "--yes"], ["refresh", "--yes"], ["drift"], ["outputs"]):
        result = run(*cmd, "-s", "local")
        assert result.exit_code == 2, (cmd, result.output)
        assert "make toolchain" in result.stderr and "ZENML_PLATFORM_PULUMI" in result.stderr


def test_up_on_a_terminal_previews_then_asks(fake, monkeypatch):
    import cli_app.engine_cmds as cmds

    monkeypatch.setattr(cmds, "is_interactive", lambda: True)
    result = runner.invoke(app, ["up", "-s", "local"], input="n\n")
    assert result.exit_code == 1 and "cancelled; nothing changed" in result.stderr
    assert "!! replace stateful StatefulSet default-mysql" in result.stderr
    assert [c[0] for c in fake["stack"].calls] == ["preview"]
    result = runner.invoke(app, ["up", "-s", "local"], input="y\n")
    assert result.exit_code == 0, result.output
    assert [c[0] for c in fake["stack"].calls][-2:] == ["preview", "up"]
    fake["stack"] = FakeStack(no_change_events())
    result = runner.invoke(app, ["up", "-s", "local"])
    assert result.exit_code == 0 and "no changes" in result.stderr
    assert [c[0] for c in fake["stack"].calls] == ["preview"]


def test_destroy_preview_is_a_destroy_preview(fake, monkeypatch):
    import cli_app.engine_cmds as cmds

    monkeypatch.setattr(cmds, "is_interactive", lambda: True)
    runner.invoke(app, ["destroy", "-s", "local"], input="n\n")
    assert fake["stack"].calls == [("destroy", {"color": "never", "suppress_progress": True, "preview_only": True})]


def test_only_preview_and_up_create_a_stack(fake):
    run("preview", "-s", "local")
    run("up", "-s", "local", "--yes")
    for cmd in (["destroy", "--yes"], ["refresh", "--yes"], ["drift"], ["outputs"]):
        run(*cmd, "-s", "local")
    assert fake["creates"] == [True, True, False, False, False, False]
    fake["missing"] = True
    result = run("drift", "-s", "local")
    assert result.exit_code == 2 and "has no state in file://" in result.stderr and "up -s local" in result.stderr
