"""Real-engine harness: the built toolchain, a local simulated cluster, and a throwaway copy of the project.

The copy keeps the repository clean: `pulumi stack init` writes an `encryptionsalt` into the stack file, and
tests edit stack files; neither may touch the committed ones.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt")
PROJECT_DIRS = ("stack_config", "components", "scenarios")


def toolchain_env() -> dict[str, str]:
    """Build what is missing (a no-op when cached) and return the environment that puts it on PATH."""
    subprocess.run([str(ROOT / "toolchain" / "build.sh")], check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([str(ROOT / "toolchain" / "env.sh")], check=True, capture_output=True, text=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = subprocess.run(["bash", "-c", f"printf %s {value}"], capture_output=True, text=True).stdout
    return env


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, dest / name)
    for name in PROJECT_DIRS:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "stacks").mkdir()
    os.symlink(ROOT / ".venv", dest / ".venv")
    return dest


@dataclass
class Pulumi:
    project: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        return proc


@dataclass
class Kube:
    """A minimal client for the local cluster: client-certificate auth over HTTPS, JSON in and out."""

    server: str
    ca_file: Path
    cert_file: Path
    key_file: Path

    def _ctx(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx

    def get(self, path: str) -> Optional[dict[str, Any]]:
        try:
            with urllib.request.urlopen(self.server + path, context=self._ctx(), timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def secret_values(self, namespace: str) -> list[str]:
        items = (self.get(f"/api/v1/namespaces/{namespace}/secrets") or {}).get("items", [])
        values = []
        for item in items:
            for value in (item.get("data") or {}).values():
                values.append(base64.b64decode(value).decode(errors="replace"))
        return values


def local_stack(project_dir: Path, env: dict[str, str], kubeconfig: Path, state_dir: Path) -> Pulumi:
    """A throwaway copy of the project with the `local` stack initialised on a file backend in ``state_dir``,
    under its own passphrase, talking to the cluster of ``kubeconfig``."""
    import secrets

    project = copy_project(project_dir)
    # A salt belongs to one passphrase: drop any a developer's own run left in the file.
    text = (ROOT / "stacks" / "Pulumi.local.yaml").read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith(("encryptionsalt:", "encryptedkey:", "secretsprovider:"))]
    (project / "stacks" / "Pulumi.local.yaml").write_text("\n".join(lines) + "\n")
    state_dir.mkdir(parents=True, exist_ok=True)
    run_env = {
        **env,
        "KUBECONFIG": str(kubeconfig),
        "PULUMI_BACKEND_URL": f"file://{state_dir}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
    }
    run_env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    p = Pulumi(project, run_env)
    p.run("stack", "init", "local")
    return p
