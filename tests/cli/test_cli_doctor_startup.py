"""`doctor` checks (each failure names its fix) and start-up hygiene: no pulumi for --help, no cloud SDK offline."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from cli_app import doctor, engine
from cli_app.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_packages_match_the_pins():
    checks = doctor.check_packages()
    assert [c.status for c in checks] == ["ok"], [c.detail for c in checks]


def test_package_mismatch_names_the_fix(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("pulumi==0.0.1  # pinned\nnot-a-real-package-xyz==1.0\n")
    checks = doctor.check_packages(req)
    assert {c.status for c in checks} == {"fail"}
    assert any("not installed" in c.detail for c in checks)
    assert all(c.fix == ".venv/bin/pip install -r requirements.txt" for c in checks)


def test_pulumi_cli_checks(tmp_path):
    [c] = doctor.check_pulumi(None)
    assert c.status == "fail" and c.fix == "make toolchain"
    old = tmp_path / "pulumi"
    old.write_text("#!/bin/sh\necho v3.100.0\n")
    old.chmod(0o755)
    [c] = doctor.check_pulumi(engine.PulumiCli(str(old), "PATH"))
    assert c.status == "fail" and "3.100.0" in c.detail and "make toolchain" in c.fix
    good = tmp_path / "good" / "pulumi"
    good.parent.mkdir()
    good.write_text("#!/bin/sh\necho v3.259.0\n")
    good.chmod(0o755)
    assert doctor.check_pulumi(engine.PulumiCli(str(good), "PATH"))[0].status == "ok"


def test_plugin_checks_from_plugin_ls_json():
    listing = [
        {"name": "kubernetes", "kind": "resource", "version": "4.25.0"},
        {"name": "random", "kind": "resource", "version": "4.20.0"},
        {"name": "python", "kind": "language", "version": "3.259.0"},
    ]
    checks = {c.name: c for c in doctor.check_plugins(object(), listing)}
    assert checks["plugin kubernetes"].status == "ok"
    assert checks["plugin random"].status == "fail" and "have 4.20.0" in checks["plugin random"].detail
    assert "pulumi plugin install resource random 4.21.1" in checks["plugin random"].fix
    assert checks["plugin tls"].status == "fail"


def _kubeconfig(tmp_path, server: str, context: str = "kind") -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "current-context": context,
        "contexts": [{"name": "kind", "context": {"cluster": "c1", "user": "u"}}],
        "clusters": [{"name": "c1", "cluster": {"server": server}}],
    }))
    return path


def test_kube_context_reachable_and_not(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        [c] = doctor.check_kube(None, {"KUBECONFIG": str(_kubeconfig(tmp_path, f"https://127.0.0.1:{port}"))})
        assert c.status == "ok" and "kind" in c.detail
    finally:
        listener.close()
    [c] = doctor.check_kube(None, {"KUBECONFIG": str(_kubeconfig(tmp_path, f"https://127.0.0.1:{port}"))}, connect_timeout=0.5)
    assert c.status == "fail" and "unreachable" in c.detail and c.fix
    cfg = SimpleNamespace(kubernetes=SimpleNamespace(kubeconfig=str(_kubeconfig(tmp_path, "https://127.0.0.1:1")), context="prod"))
    [c] = doctor.check_kube(cfg, {})
    assert c.status == "fail" and "context prod not in" in c.detail and "kubernetes.context" in c.fix
    [c] = doctor.check_kube(None, {"KUBECONFIG": str(tmp_path / "none")})
    assert c.status == "fail" and "export KUBECONFIG" in c.fix


def test_cloud_credentials_only_when_the_target_needs_them():
    kube = SimpleNamespace(target=SimpleNamespace(value="kubernetes"))
    assert doctor.check_cloud(kube, {})[0].status == "skip"
    aws = SimpleNamespace(target=SimpleNamespace(value="aws"))
    [c] = doctor.check_cloud(aws, {})
    assert c.status == "fail" and "AWS_PROFILE" in c.fix
    assert doctor.check_cloud(aws, {"AWS_PROFILE": "x"})[0].status == "ok"
    gcp = SimpleNamespace(target=SimpleNamespace(value="gcp"))
    assert "gcloud auth application-default login" in doctor.check_cloud(gcp, {})[0].fix


def test_passphrase_check(tmp_path):
    f = tmp_path / "Pulumi.s.yaml"
    f.write_text("config:\n  zenml-platform:x:\n    secure: abc\n")
    assert doctor.check_passphrase(f, {})[0].status == "fail"
    assert doctor.check_passphrase(f, {"PULUMI_CONFIG_PASSPHRASE": ""})[0].status == "ok"
    assert doctor.check_passphrase(ROOT / "stacks" / "Pulumi.local.yaml", {})[0].status == "warn"
    assert doctor.check_passphrase(f, {"PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "no")})[0].status == "fail"


def test_doctor_command_exit_codes(monkeypatch):
    monkeypatch.setattr(doctor, "run_checks", lambda *a, **k: [doctor.Check("pulumi CLI", "fail", "not found", "make toolchain")])
    result = runner.invoke(app, ["doctor", "-s", "local"])
    assert result.exit_code == 1
    assert "FAIL  pulumi CLI: not found" in result.stdout and "fix: make toolchain" in result.stdout
    monkeypatch.setattr(doctor, "run_checks", lambda *a, **k: [doctor.Check("pulumi CLI", "ok", "v3.259.0")])
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"] is True
    assert runner.invoke(app, ["doctor", "-s", "nope"]).exit_code == 2


def _modules_after(*argv: str) -> set[str]:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['cli.py', {', '.join(repr(a) for a in argv)}]\n"
        "try:\n    runpy.run_path('cli.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "sys.stdout.flush()\nprint('\\nMODULES ' + ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    line = [ln for ln in out.stderr.splitlines() if ln.startswith("MODULES ")][-1]
    return set(line.split()[1:])


def test_help_imports_no_pulumi_at_all():
    mods = _modules_after("--help")
    assert not {m for m in mods if m == "pulumi" or m.startswith(("pulumi.", "pulumi_"))}
    assert "pydantic" not in mods  # not even the config model


@pytest.mark.parametrize("argv", [
    ["validate", "-s", "local"], ["plan", "-s", "local"], ["images", "-s", "local"], ["residency", "-s", "local"],
    ["workspace", "list", "-s", "local"], ["preview", "--help"],
], ids=lambda a: " ".join(a))
def test_offline_commands_import_no_cloud_sdk(argv):
    mods = _modules_after(*argv)
    assert not {m for m in mods if m.startswith(("pulumi_aws", "pulumi_gcp", "boto", "google.cloud", "googleapiclient"))}
