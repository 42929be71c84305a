"""The Pulumi engine behind preview/up/destroy/refresh/drift/outputs: which CLI, which backend, which passphrase.

Resolution order, each step explained in errors so a user can fix it in one go:
- CLI: `ZENML_PLATFORM_PULUMI`, then `pulumi` on PATH, then the project's toolchain cache (`toolchain/env.sh`).
- Backend: `--backend`, then `PULUMI_BACKEND_URL`, then the backend of `pulumi login`, then `file://<project>/.pulumi-state` (git-ignored).
- Passphrase: `PULUMI_CONFIG_PASSPHRASE` or `PULUMI_CONFIG_PASSPHRASE_FILE`; required when the stack file holds secrets.
`pulumi.automation` is imported only inside `open_stack`, so this module loads fast.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from cli_app.common import EXIT_FAILED, EXIT_INVALID, EXIT_LOCKED, ROOT, die, err

PINNED_PULUMI = "3.259.0"
STATE_DIR = ROOT / ".pulumi-state"
PULUMI_ENV = "ZENML_PLATFORM_PULUMI"
NO_PULUMI_HELP = (
    "no Pulumi CLI found: set ZENML_PLATFORM_PULUMI=/path/to/pulumi, put `pulumi` on PATH, "
    f"or build the project's toolchain with `make toolchain` (pinned v{PINNED_PULUMI})"
)


@dataclass
class PulumiCli:
    path: str
    source: str  # env | PATH | toolchain
    env: dict[str, str] = field(default_factory=dict)  # extra environment for every engine command

    def version(self) -> Optional[str]:
        try:
            out = subprocess.run(
                [self.path, "version"], capture_output=True, text=True, timeout=30,
                env={**os.environ, **self.env, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip().lstrip("v") or None if out.returncode == 0 else None


def _cache_root() -> Path:
    base = os.environ.get("ZENML_PLATFORM_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "zenml-platform")
    return Path(base) / "toolchain"


def _toolchain_env(root: Path = ROOT) -> Optional[dict[str, str]]:
    """Ask `toolchain/env.sh` (owned by the toolchain issue) for its environment; None when it cannot give one."""
    script = root / "toolchain" / "env.sh"
    if not script.exists():
        return None
    try:
        out = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    env: dict[str, str] = {}
    for line in out.stdout.splitlines():
        if line.startswith("export "):
            parts = shlex.split(line[len("export "):])
            if parts and "=" in parts[0]:
                key, _, value = parts[0].partition("=")
                env[key] = value
    return env


def find_pulumi(environ: Optional[Mapping[str, str]] = None, root: Path = ROOT, use_toolchain: bool = True) -> Optional[PulumiCli]:
    environ = os.environ if environ is None else environ
    explicit = environ.get(PULUMI_ENV)
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            die(f"{PULUMI_ENV}={explicit}: not an executable file")
        bin_dir = os.path.dirname(os.path.abspath(explicit))
        return PulumiCli(explicit, "env", {"PATH": bin_dir + os.pathsep + environ.get("PATH", "")})
    on_path = shutil.which("pulumi", path=environ.get("PATH"))
    if on_path:
        return PulumiCli(on_path, "PATH", {})
    if not use_toolchain:
        return None
    env = _toolchain_env(root)
    if env and env.get("TOOLCHAIN_BIN") and os.access(os.path.join(env["TOOLCHAIN_BIN"], "pulumi"), os.X_OK):
        extra = {k: v for k, v in env.items() if k.startswith("PULUMI_") or k == "PATH"}
        return PulumiCli(os.path.join(env["TOOLCHAIN_BIN"], "pulumi"), "toolchain", extra)
    # env.sh names only the cache directory of the current toolchain sources; an earlier build still works.
    candidates = sorted(glob.glob(str(_cache_root() / "*" / "bin" / "pulumi")), key=os.path.getmtime, reverse=True)
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            bin_dir = os.path.dirname(candidate)
            home = os.path.join(os.path.dirname(bin_dir), "pulumi-home")
            extra = {
                "PATH": bin_dir + os.pathsep + environ.get("PATH", ""),
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            }
            if os.path.isdir(home):
                extra["PULUMI_HOME"] = home
            return PulumiCli(candidate, "toolchain", extra)
    return None


def require_pulumi() -> PulumiCli:
    cli = find_pulumi()
    if cli is None:
        die(NO_PULUMI_HELP)
    assert cli is not None
    return cli


def backend_url(flag: Optional[str], environ: Optional[Mapping[str, str]] = None, state_dir: Path = STATE_DIR) -> tuple[str, str]:
    """(url, where it came from)."""
    environ = os.environ if environ is None else environ
    if flag:
        return flag, "--backend"
    if environ.get("PULUMI_BACKEND_URL"):
        return environ["PULUMI_BACKEND_URL"], "PULUMI_BACKEND_URL"
    current = logged_in_backend(environ)
    if current:
        return current, "pulumi login"
    return f"file://{state_dir}", "default"


def logged_in_backend(environ: Mapping[str, str]) -> Optional[str]:
    """The backend of `pulumi login` (credentials.json `current` in PULUMI_HOME), if the user logged in anywhere."""
    home = Path(environ.get("PULUMI_HOME") or Path(environ.get("HOME", str(Path.home()))) / ".pulumi")
    try:
        current = json.loads((home / "credentials.json").read_text()).get("current")
    except (OSError, ValueError, AttributeError):
        return None
    return current or None


def stack_file_secrets(doc: Mapping[str, Any]) -> list[str]:
    """Key paths of `secure:` values in a parsed stack file."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if set(value) == {"secure"}:
                found.append(path)
                return
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    walk(doc.get("config") or {}, "")
    return found


def passphrase_env(stack_file: Path, environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Environment for the passphrase secrets provider; exit 2 when the stack needs a passphrase and none is set."""
    import yaml

    environ = os.environ if environ is None else environ
    doc = yaml.safe_load(stack_file.read_text()) or {}
    provider = str(doc.get("secretsprovider") or "passphrase")
    if provider not in ("passphrase", "default") and not provider.startswith("passphrase"):
        return {}  # a KMS/Vault provider: no passphrase involved
    if "PULUMI_CONFIG_PASSPHRASE" in environ:
        return {}
    path = environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if path:
        if not os.path.isfile(path):
            die(f"PULUMI_CONFIG_PASSPHRASE_FILE={path}: no such file")
        return {}
    secrets = stack_file_secrets(doc)
    if secrets:
        die(
            f"{stack_file.name}: holds secrets ({', '.join(secrets[:3])}{', ...' if len(secrets) > 3 else ''}); "
            "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE to the stack's passphrase"
        )
    if doc.get("encryptionsalt"):
        err("warning: no PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE set; trying an empty passphrase")
    else:
        err(
            "warning: no PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE set: generated keys in the state "
            "are encrypted with an empty passphrase (fine for a disposable stack, not for a real one)"
        )
    return {"PULUMI_CONFIG_PASSPHRASE": ""}


def engine_env(cli: PulumiCli, backend: str, stack_file: Path) -> dict[str, str]:
    env = dict(cli.env)
    env["PULUMI_BACKEND_URL"] = backend
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    env.update(passphrase_env(stack_file))
    from cli_app.stack_files import NOTES_SHOWN_ENV

    env[NOTES_SHOWN_ENV] = "1"  # the command loaded the stack file and showed its deprecation notes already
    if backend.startswith("file://"):
        Path(backend[len("file://"):]).expanduser().mkdir(parents=True, exist_ok=True)
    return env


def open_stack(stack: str, cli: PulumiCli, env: dict[str, str], create: bool = True):
    """An Automation API stack over this project directory (its stack files are in stacks/ via stackConfigDir).

    `create=False` (destroy, refresh, drift, outputs) selects an existing stack only: StackNotFoundError otherwise.
    """
    from pulumi.automation import LocalWorkspaceOptions, PulumiCommand, create_or_select_stack, select_stack
    from semver import VersionInfo

    class _Command(PulumiCommand):  # a CLI at any path; its version checked by `doctor`, not on every run
        def __init__(self, path: str, version: str):
            self.command = path
            self.version = VersionInfo.parse(version)

    version = cli.version() or PINNED_PULUMI
    if version != PINNED_PULUMI:
        err(f"warning: {cli.path} is pulumi v{version}; this project is tested with v{PINNED_PULUMI} (`zenml-platform doctor`)")
    opts = LocalWorkspaceOptions(env_vars=env, pulumi_command=_Command(cli.path, version), pulumi_home=env.get("PULUMI_HOME"))
    if not create:
        return select_stack(stack, work_dir=str(ROOT), opts=opts)
    return create_or_select_stack(stack, work_dir=str(ROOT), opts=opts)


# --- errors ------------------------------------------------------------------------------------------------

_HINTS: list[tuple[tuple[str, ...], int, str]] = [
    (("incorrect passphrase", "passphrase must be set", "failed to decrypt", "constructing secrets manager"), EXIT_INVALID,
     "the passphrase is missing or wrong: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE"),
    (("invalid stack configuration",), EXIT_INVALID, "fix the key paths above in the stack file (`zenml-platform validate -s STACK`)"),
    (("the stack is currently locked", "conflict: another update", "concurrent update"), EXIT_LOCKED,
     "another operation holds the stack lock: wait for it, or `pulumi cancel -s STACK` if it died"),
    (("no resource plugin", "could not find plugin", "failed to load plugin", "plugin not found"), EXIT_FAILED,
     "a provider plugin is missing: `make toolchain` installs the pinned plugins (`zenml-platform doctor` lists them)"),
    (("cannot be deleted because it is protected", "refusing to delete protected", "is protected"), EXIT_FAILED,
     "production stacks protect data: `pulumi state unprotect -s STACK URN` first if you really mean to remove it"),
    (("unable to load kubeconfig", "configured kubernetes cluster is unreachable", "connection refused"), EXIT_FAILED,
     "the cluster is not reachable: check the kube context (`zenml-platform doctor -s STACK`)"),
]


def classify_error(text: str) -> tuple[int, Optional[str]]:
    low = text.lower()
    for needles, code, hint in _HINTS:
        if any(n in low for n in needles):
            return code, hint
    return EXIT_FAILED, None


def error_lines(exc: BaseException, limit: int = 15) -> list[str]:
    """The useful part of a CommandError: its stderr, else the error lines of its stdout, without the banner."""
    text = str(exc)
    stdout, stderr = getattr(exc, "stdout", None), getattr(exc, "stderr", None)
    if stdout is None and stderr is None and "\n stderr: " in text:
        head, _, stderr = text.partition("\n stderr: ")
        stdout = head.partition("\n stdout: ")[2]
    lines = [ln.rstrip() for ln in (stderr or "").splitlines() if ln.strip()]
    if not lines:
        lines = [ln.rstrip() for ln in (stdout or "").splitlines() if "error" in ln.lower()]
    if not lines:
        lines = [ln.rstrip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("code:")]
    return lines[-limit:]
