"""The policy pack in the real engine: `pulumi preview --policy-pack policies` on a throwaway copy of the project.

Marked e2e (needs the toolchain that tests/e2e builds; no cluster: a preview does not reach one). Shows that the
engine starts the pack, that a clean stack passes, that a mandatory violation fails the preview, and that policy
config (the air-gapped mirror) reaches the rules.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.harness import ROOT, copy_project, toolchain_env

pytestmark = pytest.mark.e2e
POLICIES = ROOT / "policies"


@pytest.fixture(scope="module")
def env():
    return {**toolchain_env(), "PULUMI_CONFIG_PASSPHRASE": "policy-engine-test"}


def _project(tmp_path, env, patch=None):
    import subprocess

    project = copy_project(tmp_path / "project")
    # A salt belongs to one passphrase: drop any a developer's run left in the file.
    text = (ROOT / "stacks" / "Pulumi.local.yaml").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("encryptionsalt:")]
    (project / "stacks" / "Pulumi.local.yaml").write_text("\n".join(lines) + "\n")
    if patch:
        patch(project)
    state = tmp_path / "state"
    state.mkdir()
    run_env = {**env, "PULUMI_BACKEND_URL": f"file://{state}"}
    run_env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    subprocess.run(["pulumi", "stack", "init", "local", "--non-interactive"], cwd=project, env=run_env,
                   check=True, capture_output=True, text=True)
    return project, run_env


def _preview(project, env, *extra):
    import subprocess

    return subprocess.run(["pulumi", "preview", "-s", "local", "--non-interactive", "--policy-pack", str(POLICIES), *extra],
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)


def test_clean_stack_passes_the_pack(tmp_path, env):
    project, run_env = _project(tmp_path, env)
    run = _preview(project, run_env)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "zenml-platform" in out  # the engine reports the pack it ran


def test_plaintext_secret_fails_the_preview(tmp_path, env):
    def leak(project):
        path = project / "components" / "workspace_server.py"
        text = path.read_text()
        marker = 'env_value("ZENML_LOGGING_VERBOSITY", "INFO"),'
        assert marker in text
        path.write_text(text.replace(marker, marker + ' env_value("DB_PASSWORD", "hunter2"),', 1))

    project, run_env = _project(tmp_path, env, leak)
    run = _preview(project, run_env)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-4000:]
    assert "zenml-no-plaintext-secrets" in out and "DB_PASSWORD" in out, out[-4000:]


def test_mirror_config_reaches_the_rule(tmp_path, env):
    project, run_env = _project(tmp_path, env)
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"zenml-images-from-mirror": {"mirror": "registry.corp.internal:5000"}}))
    run = _preview(project, run_env, "--policy-pack-config", str(config))
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "zenml-images-from-mirror" in out, out[-4000:]
    config.write_text(json.dumps({"zenml-images-from-mirror": {"mirror": "127.0.0.1:5000"}}))  # the local stack's mirror
    run = _preview(project, run_env, "--policy-pack-config", str(config))
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
