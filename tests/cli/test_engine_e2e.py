"""The engine commands against the real engine and the local simulated cluster (marked e2e; deselected by default).

Runs `python cli.py ...` in a throwaway copy of the project (so stack init and workspace edits never touch the
committed files), with the default file backend of that copy. Skips cleanly when no `pulumi` CLI, a missing
pinned plugin, or no local cluster is available: `make toolchain` provides all three.

    .venv/bin/python -m pytest -m e2e tests/cli/test_engine_e2e.py
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLI_FILES = ("cli.py",)
CLI_DIRS = ("cli_app", "planning")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from cli_app.doctor import check_plugins
    from cli_app.engine import find_pulumi

    cli = find_pulumi()
    if cli is None:
        pytest.skip("no pulumi CLI (ZENML_PLATFORM_PULUMI, PATH or the toolchain cache): run `make toolchain`")
    missing = [c.name for c in check_plugins(cli) if c.status != "ok"]
    if missing:
        pytest.skip(f"pinned plugins missing ({', '.join(missing)}): run `make toolchain`")
    try:
        from toolchain import localcluster
    except Exception as exc:  # noqa: BLE001 - any import problem means: no cluster here
        pytest.skip(f"no local cluster support: {exc}")
    base = tmp_path_factory.mktemp("cli-e2e")
    try:
        cluster = localcluster.up(base / "cluster")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"local cluster did not start: {exc}")

    from tests.e2e.harness import copy_project

    dest = copy_project(base / "project")
    for name in CLI_FILES:
        shutil.copy2(ROOT / name, dest / name)
    for name in CLI_DIRS:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    # A fresh stack gets its own salt: drop one left in the working tree by a `pulumi stack init` there.
    text = (ROOT / "stacks" / "Pulumi.local.yaml").read_text()
    kept = [ln for ln in text.splitlines(keepends=True) if not ln.startswith(("encryptionsalt:", "encryptedkey:", "secretsprovider:"))]
    (dest / "stacks" / "Pulumi.local.yaml").write_text("".join(kept))
    env = {**os.environ, **cli.env, "KUBECONFIG": str(cluster.kubeconfig),
           "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24), "PULUMI_SKIP_UPDATE_CHECK": "true"}
    for key in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        env.pop(key, None)
    try:
        yield dest, env
    finally:
        subprocess.run([sys.executable, "cli.py", "destroy", "-s", "local", "--yes"], cwd=dest, env=env,
                       capture_output=True, timeout=1800)
        localcluster.down(base / "cluster")


def cli(project, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    dest, env = project
    return subprocess.run([sys.executable, "cli.py", *args], cwd=dest, env=env, capture_output=True, text=True, timeout=timeout)


def test_doctor_is_ready(project):
    proc = cli(project, "doctor", "-s", "local")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_first_preview_creates_and_summarises(project):
    dest, _ = project
    proc = cli(project, "preview", "-s", "local", "--summary-md", "preview.md", "--expect-no-changes")
    assert proc.returncode == 3, proc.stderr
    md = (dest / "preview.md").read_text()
    assert "to create" in md and "StatefulSet" in md and "[secret]" not in md
    assert (dest / ".pulumi-state").is_dir()  # the default file backend inside the project


def test_up_then_no_changes_and_no_drift(project):
    proc = cli(project, "up", "-s", "local", "--yes", "--json")
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert result["changes"]["create"] > 30 and not result["failed"]
    assert result["outputs"]["workspaces"]["default"]["url"] == "https://default.zenml.localhost"
    assert cli(project, "preview", "-s", "local", "--expect-no-changes").returncode == 0
    assert cli(project, "drift", "-s", "local").returncode == 0


def test_outputs(project):
    proc = cli(project, "outputs", "caBundle", "-s", "local")
    assert proc.returncode == 0 and proc.stdout.startswith("-----BEGIN CERTIFICATE-----")


def test_workspace_add_then_preview_only_creates(project):
    assert cli(project, "workspace", "add", "team-b", "-s", "local").returncode == 0
    proc = cli(project, "preview", "-s", "local", "--json")
    assert proc.returncode == 0, proc.stderr[-4000:]
    change = json.loads(proc.stdout)
    assert set(change["changes"]) <= {"create", "same"}
    assert all("team-b" in r["urn"] for r in change["resources"])
    assert cli(project, "workspace", "remove", "team-b", "-s", "local", "--force").returncode == 0


def test_destroy(project):
    proc = cli(project, "destroy", "-s", "local", "--yes", "--json")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout)["changes"].get("delete", 0) > 30
