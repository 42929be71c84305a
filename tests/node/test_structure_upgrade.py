"""A `local` stack deployed by the code as it was before the structure refactor (issue 13) is upgraded by today's
code with no replacement and no deletion, and the deployed ZenML keeps serving.

The refactor moved resources between parents and files; aliases keep their URNs. The graph snapshots check the
URNs offline; this checks what only a real deployment shows: the engine's own plan against real state, the
provider's diffs (a changed immutable field is a replace only the provider reports), and the server afterwards.

The old code is taken from git (BASE, the last commit before the refactor), so the test needs the repository's
history (a clone, not an export).

    sudo CI=true .venv/bin/python -m pytest -m e2e tests/node/test_structure_upgrade.py -p no:cacheprovider
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, Pulumi, copy_project, toolchain_env
from tests.node.harness import running_node

pytestmark = pytest.mark.e2e

# The last commit of main before the structure refactor of issue 13 (components with their own args, the
# self-hosted/air-gap split): what a team upgrading from the previous release has deployed.
BASE = "ca4479cd53e159cf68e08e534909179cbe6426f6"
PORTS = {"ingress_port": 8446, "registry_port": 5004}
OLD_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt", "stack_config", "components", "scenarios",
             "stacks/Pulumi.local.yaml")
SALT_KEYS = ("encryptionsalt:", "encryptedkey:", "secretsprovider:")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"structure-upgrade test cannot run in CI: {reason}")
    pytest.skip(reason)


def _export_base(dest: Path) -> None:
    """BASE's project files (only what the Pulumi program needs) into ``dest``."""
    proc = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", BASE, *OLD_FILES],
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        _unavailable(f"git archive {BASE[:12]} failed (no history in this checkout?): "
                     f"{proc.stderr.decode(errors='replace')[-500:]}")
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    os.symlink(ROOT / ".venv", dest / ".venv")


def _without_salt(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if not ln.startswith(SALT_KEYS)]


def _steps(preview_json: str) -> list[dict]:
    """The engine's planned steps from `pulumi preview --json` (one JSON document)."""
    return json.loads(preview_json).get("steps", [])


@pytest.fixture(scope="module")
def env():
    if os.geteuid() != 0:
        _unavailable("the real node needs root")
    return toolchain_env()


def test_old_deployment_upgrades_without_replacement(tmp_path_factory, env):
    from images.push import push_stack

    work = tmp_path_factory.mktemp("structure-upgrade")
    with running_node(work / "cluster", Path(env["TOOLCHAIN_BIN"]), **PORTS) as node:
        push_stack(node.registry, "local")
        run_env = {**env, "KUBECONFIG": str(node.info.kubeconfig),
                   "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
                   "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24)}
        run_env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
        (work / "state").mkdir()

        # 1. Deploy with the old code and its own stack file, as the team did before upgrading.
        old = work / "old"
        _export_base(old)
        stack_file = old / "stacks" / "Pulumi.local.yaml"
        stack_file.write_text("\n".join(_without_salt(stack_file.read_text())) + "\n")
        old_p = Pulumi(old, run_env)
        old_p.run("stack", "init", "local")
        t0 = time.monotonic()
        old_p.run("up", "--stack", "local", "--yes", "--skip-preview", "--diff=false", timeout=1500)
        deploy_s = time.monotonic() - t0

        # 2. Today's code and today's stack file, keeping the stack's salt (the stack's secrets are encrypted
        # with it) as a team's checkout would after `git pull`.
        new = copy_project(work / "new")
        salt = [ln for ln in stack_file.read_text().splitlines() if ln.startswith(SALT_KEYS)]
        text = (ROOT / "stacks" / "Pulumi.local.yaml").read_text()
        (new / "stacks" / "Pulumi.local.yaml").write_text("\n".join(_without_salt(text) + salt) + "\n")
        new_p = Pulumi(new, run_env)

        state = json.loads(old_p.run("stack", "export", "--stack", "local").stdout)["deployment"]["resources"]
        preview = new_p.run("preview", "--stack", "local", "--json", "--show-sames", timeout=900)
        ops: dict[str, list[str]] = {}
        covered: set[str] = set()
        for step in _steps(preview.stdout):
            ops.setdefault(step["op"], []).append(step["urn"])
            covered |= {step["urn"], (step.get("oldState") or {}).get("urn", "")}
        # Every deployed resource is accounted for by a step of today's program (kept, updated, or moved under
        # an alias): nothing of the old deployment is silently outside the new program.
        unaccounted = sorted(r["urn"] for r in state
                             if r["urn"] not in covered and not r["type"].startswith("pulumi:providers:"))
        assert not unaccounted, unaccounted[:20]
        forbidden = {op: urns for op, urns in ops.items()
                     if op in ("replace", "create-replacement", "delete-replaced", "delete", "discard")}
        assert not forbidden, f"the upgrade would replace or delete: {json.dumps(forbidden, indent=1)[:4000]}"

        t0 = time.monotonic()
        new_p.run("up", "--stack", "local", "--yes", "--skip-preview", "--diff=false", timeout=1500)
        upgrade_s = time.monotonic() - t0

        # 3. The server is still the one serving: the Deployment's pods Ready.
        kubectl = Path(env["TOOLCHAIN_BIN"]) / "kubectl"
        rollout = subprocess.run([str(kubectl), f"--kubeconfig={node.info.kubeconfig}", "-n", "zenml-default",
                                  "rollout", "status", "deployment", "--timeout=300s"],
                                 capture_output=True, text=True, timeout=330)
        assert rollout.returncode == 0, rollout.stderr[-2000:]

        # 4. Converged: a second preview of today's code changes nothing.
        again = new_p.run("preview", "--stack", "local", "--json", "--expect-no-changes", timeout=900)
        assert again.returncode == 0
        print(f"old deploy {deploy_s:.0f}s, upgrade up {upgrade_s:.0f}s, ops {{{', '.join(f'{k}: {len(v)}' for k, v in ops.items())}}}")
        print("updated in place:", sorted(u.rsplit("::", 1)[-1] for u in ops.get("update", [])))
        new_p.run("destroy", "--stack", "local", "--yes", "--skip-preview", timeout=900)
