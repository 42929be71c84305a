"""`doctor`: is this machine ready to run the engine commands? Each failed check names the command that fixes it.

No network except one TCP connect to the Kubernetes API server of the selected context; cloud credentials are
checked (by presence of their environment) only when the stack's target needs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from cli_app import options
from cli_app.common import EXIT_FAILED, ROOT, emit_json

PLUGINS = {"kubernetes": "4.25.0", "random": "4.21.1", "tls": "5.5.1"}


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: Optional[str] = None


def check_packages(requirements: Path = ROOT / "requirements.txt") -> list[Check]:
    from importlib import metadata

    out = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" not in line:
            continue
        name, _, pinned = line.partition("==")
        name, pinned = name.strip(), pinned.strip()
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        if have == pinned:
            continue
        out.append(Check(f"python package {name}", "fail", f"{'not installed' if have is None else have}, pinned {pinned}",
                         ".venv/bin/pip install -r requirements.txt"))
    if not out:
        out.append(Check("python packages", "ok", f"every pin of {requirements.name} installed"))
    return out


def check_pulumi(cli) -> list[Check]:
    from cli_app.engine import PINNED_PULUMI

    if cli is None:
        return [Check("pulumi CLI", "fail", "not found (ZENML_PLATFORM_PULUMI, PATH, toolchain cache)", "make toolchain")]
    version = cli.version()
    if version != PINNED_PULUMI:
        return [Check("pulumi CLI", "fail", f"{cli.path} is {version or 'unusable'}, pinned v{PINNED_PULUMI}",
                      "make toolchain  # or point ZENML_PLATFORM_PULUMI at a v" + PINNED_PULUMI + " binary")]
    return [Check("pulumi CLI", "ok", f"v{version} at {cli.path} (from {cli.source})")]


def check_plugins(cli, listing: Optional[list[dict]] = None) -> list[Check]:
    if cli is None and listing is None:
        return [Check("pulumi plugins", "skip", "no pulumi CLI")]
    if listing is None:
        import subprocess

        try:
            proc = subprocess.run([cli.path, "plugin", "ls", "--json"], capture_output=True, text=True, timeout=60,
                                  env={**os.environ, **cli.env})
            import json

            listing = json.loads(proc.stdout or "[]") if proc.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError):
            listing = None
        if listing is None:
            return [Check("pulumi plugins", "fail", "`pulumi plugin ls --json` failed", "make toolchain")]
    have = {(p.get("name"), str(p.get("version", "")).lstrip("v")) for p in listing if p.get("kind", "resource") == "resource"}
    out = []
    for name, version in PLUGINS.items():
        if (name, version) in have:
            out.append(Check(f"plugin {name}", "ok", f"resource {name} v{version}"))
        else:
            others = sorted(v for n, v in have if n == name)
            out.append(Check(f"plugin {name}", "fail", f"resource {name} v{version} not installed" + (f" (have {', '.join(others)})" if others else ""),
                             f"make toolchain  # or: pulumi plugin install resource {name} {version} --file <binary>"))
    return out


def kubeconfig_path(cfg, environ: Mapping[str, str]) -> tuple[Path, str]:
    if cfg is not None and cfg.kubernetes.kubeconfig:
        return Path(os.path.expanduser(cfg.kubernetes.kubeconfig)), "kubernetes.kubeconfig"
    if environ.get("KUBECONFIG"):
        return Path(environ["KUBECONFIG"].split(os.pathsep)[0]), "KUBECONFIG"
    return Path(os.path.expanduser("~/.kube/config")), "default"


def check_kube(cfg, environ: Mapping[str, str], connect_timeout: float = 3.0) -> list[Check]:
    import socket
    from urllib.parse import urlparse

    import yaml

    path, source = kubeconfig_path(cfg, environ)
    if not path.exists():
        return [Check("kube context", "fail", f"no kubeconfig at {path} (from {source})",
                      "export KUBECONFIG=/path/to/kubeconfig  # or set zenml-platform:kubernetes.kubeconfig")]
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, OSError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        return [Check("kube context", "fail", f"{path} is not a readable kubeconfig (UTF-8 YAML mapping)",
                      f"kubectl config view --kubeconfig {path}")]
    wanted = (cfg.kubernetes.context if cfg is not None else None) or doc.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in doc.get("contexts") or []}
    if not wanted or wanted not in contexts:
        known = ", ".join(sorted(str(c) for c in contexts)) or "none"
        return [Check("kube context", "fail", f"context {wanted or '(none selected)'} not in {path} (contexts: {known})",
                      "kubectl config use-context <name>  # or set zenml-platform:kubernetes.context")]
    clusters = {c.get("name"): c.get("cluster") or {} for c in doc.get("clusters") or []}
    server = clusters.get(contexts[wanted].get("cluster"), {}).get("server")
    if not server:
        return [Check("kube context", "fail", f"context {wanted}: its cluster has no server", f"kubectl config view --minify --context {wanted}")]
    u = urlparse(server)
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        with socket.create_connection((u.hostname, port), timeout=connect_timeout):
            pass
    except OSError as exc:
        return [Check("kube context", "fail", f"context {wanted}: {server} unreachable ({exc.__class__.__name__})",
                      "start the cluster (`make cluster-up` for the local one) or select a reachable context")]
    return [Check("kube context", "ok", f"{wanted} -> {server} reachable ({source} {path})")]


CLOUD_ENV = {
    "aws": (("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            "export AWS_PROFILE=<profile>  # or aws sso login --profile <profile>"),
    "gcp": (("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN", "GOOGLE_OAUTH_ACCESS_TOKEN"),
            "gcloud auth application-default login  # or export GOOGLE_APPLICATION_CREDENTIALS=key.json"),
}


def check_cloud(cfg, environ: Mapping[str, str]) -> list[Check]:
    target = cfg.target.value if cfg is not None else None
    if target not in CLOUD_ENV:
        return [Check("cloud credentials", "skip", f"not needed (target {target or 'unknown: pass --stack'})")]
    names, fix = CLOUD_ENV[target]
    present = [n for n in names if environ.get(n)]
    if present:
        return [Check(f"{target} credentials", "ok", f"{', '.join(present)} set (not verified: no network)")]
    return [Check(f"{target} credentials", "fail", f"none of {', '.join(names)} is set", fix)]


def check_passphrase(stack_file: Optional[Path], environ: Mapping[str, str]) -> list[Check]:
    from cli_app.engine import stack_file_secrets

    if environ.get("PULUMI_CONFIG_PASSPHRASE") is not None and "PULUMI_CONFIG_PASSPHRASE" in environ:
        return [Check("passphrase", "ok", "PULUMI_CONFIG_PASSPHRASE set")]
    file = environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if file:
        if os.path.isfile(file):
            return [Check("passphrase", "ok", f"PULUMI_CONFIG_PASSPHRASE_FILE={file}")]
        return [Check("passphrase", "fail", f"PULUMI_CONFIG_PASSPHRASE_FILE={file} does not exist",
                      f"umask 077; printf '%s' \"$PASSPHRASE\" > {file}")]
    needs = False
    if stack_file is not None and stack_file.exists():
        import yaml

        needs = bool(stack_file_secrets(yaml.safe_load(stack_file.read_text()) or {}))
    fix = "export PULUMI_CONFIG_PASSPHRASE_FILE=$HOME/.config/zenml-platform/<stack>.passphrase"
    if needs and stack_file is not None:
        return [Check("passphrase", "fail", f"{stack_file.name} holds secrets and neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set", fix)]
    salted = False
    if stack_file is not None and stack_file.exists():
        salted = "\nencryptionsalt:" in "\n" + stack_file.read_text()
    why = ("the stack has an encryptionsalt: the engine needs the passphrase it was initialised with" if salted
           else "state keys would use an empty passphrase")
    return [Check("passphrase", "warn", f"neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set ({why})", fix)]


def check_backend(flag: Optional[str], environ: Mapping[str, str]) -> list[Check]:
    from cli_app.engine import backend_url

    url, source = backend_url(flag, environ)
    if url.startswith("file://"):
        d = Path(url[len("file://"):]).expanduser()
        parent = d if d.exists() else d.parent
        if not os.access(parent, os.W_OK):
            return [Check("state backend", "fail", f"{url} ({source}) is not writable", f"mkdir -p {d} && chmod u+w {d}")]
    return [Check("state backend", "ok", f"{url} ({source})")]


def run_checks(cfg, stack_file: Optional[Path], environ: Mapping[str, str], backend: Optional[str] = None, cli: Any = "find") -> list[Check]:
    from cli_app.engine import find_pulumi

    if cli == "find":
        cli = find_pulumi(environ)
    checks = check_packages()
    checks += check_pulumi(cli)
    checks += check_plugins(cli) if cli is not None else [Check("pulumi plugins", "skip", "no pulumi CLI")]
    checks += check_backend(backend, environ)
    checks += check_kube(cfg, environ)
    checks += check_cloud(cfg, environ)
    checks += check_passphrase(stack_file, environ)
    return checks


def doctor(
    stack: options.Stack = None,
    config_file: options.ConfigFile = None,
    backend: options.Backend = None,
    as_json: options.Json = False,
) -> None:
    """Check Python packages, the Pulumi CLI and plugins, the kube context, cloud credentials and the passphrase."""
    cfg, path = None, None
    if stack is not None or config_file is not None:
        from cli_app.stack_files import load

        _, path, cfg = load(stack, config_file)
    checks = run_checks(cfg, path, os.environ, backend)
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        emit_json({"ok": not failed, "checks": [c.__dict__ for c in checks]})
    else:
        for c in checks:
            typer.echo(f"{c.status.upper():<5} {c.name}: {c.detail}")
            if c.fix and c.status in ("fail", "warn"):
                typer.echo(f"      fix: {c.fix}")
        typer.echo(f"{len(failed)} problem(s)" if failed else "ready")
    if failed:
        raise typer.Exit(EXIT_FAILED)
