"""Shared build steps: a Debian bookworm rootfs from mmdebstrap, a layer tarball, and an OCI image layout via umoci.

Every recipe ends in `write_layout(layout, tag, layer_tar, config)`: one uncompressed layer added with
`umoci raw add-layer` (umoci compresses it into the blob store), then the runtime config (user, env, entrypoint,
cmd, working dir, ports, labels) set with `umoci config`, then `umoci gc`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

SUITE = "bookworm"
# Base, updates and security: a rebuild picks up Debian's security fixes.
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# No docs, man pages, info or translations in any image (copyright files stay: they are the licences).
DPKG_OPTS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/lintian/*",
)
TOOLS = ("mmdebstrap", "umoci")


class BuildError(RuntimeError):
    """A build step failed; the message names the step and the tail of its output."""


def need_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        raise BuildError(f"missing build tools: {', '.join(missing)} (run images/install-tools.sh as root)")


def run(cmd: list[str], step: str, log: Optional[Path] = None, env: Optional[dict[str, str]] = None) -> None:
    """Run one step; its output goes to `log` (kept next to the cache entry) and its tail into the error."""
    if log:
        with open(log, "ab") as out:
            out.write(f"\n$ {shlex.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    else:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = ""
        if log and log.exists():
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise BuildError(f"{step} failed (exit {proc.returncode}){': ' + chr(10) + tail if tail else ''}")


@dataclass
class ImageConfig:
    user: str
    entrypoint: list[str]
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    ports: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: Optional[str] = None


def debian_rootfs_tar(
    out_tar: Path,
    packages: list[str],
    hooks: dict[str, list[str]],
    log: Path,
    variant: str = "minbase",
) -> None:
    """mmdebstrap a bookworm rootfs straight into an uncompressed tarball; hooks are mmdebstrap hook commands
    keyed by kind (setup, extract, essential, customize), each run with the rootfs path as "$1"."""
    need_tools("mmdebstrap")
    cmd = ["mmdebstrap", f"--variant={variant}", "--mode=root", "--format=tar", "--aptopt=Acquire::Retries 3"]
    cmd += [f"--dpkgopt={o}" for o in DPKG_OPTS]
    if packages:
        cmd.append("--include=" + ",".join(packages))
    for kind, commands in hooks.items():
        cmd += [f"--{kind}-hook={c}" for c in commands]
    # Reproducible timestamps for files whose time mmdebstrap sets.
    env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "1700000000")}
    cmd += [SUITE, str(out_tar), *MIRRORS]
    run(cmd, "mmdebstrap", log, env=env)


def write_layout(layout: Path, tag: str, layer_tar: Path, config: ImageConfig, log: Path) -> None:
    need_tools("umoci")
    image = f"{layout}:{tag}"
    run(["umoci", "init", "--layout", str(layout)], "umoci init", log)
    run(["umoci", "new", "--image", image], "umoci new", log)
    run(["umoci", "raw", "add-layer", "--image", image, str(layer_tar)], "umoci raw add-layer", log)
    cfg = ["umoci", "config", "--image", image, "--no-history", "--config.user", config.user,
           "--config.workingdir", config.workdir, "--clear=config.entrypoint", "--clear=config.cmd"]
    cfg += [a for e in config.entrypoint for a in ("--config.entrypoint", e)]
    cfg += [a for c in config.cmd for a in ("--config.cmd", c)]
    cfg += [a for k, v in config.env.items() for a in ("--config.env", f"{k}={v}")]
    cfg += [a for p in config.ports for a in ("--config.exposedports", p)]
    cfg += [a for k, v in config.labels.items() for a in ("--config.label", f"{k}={v}")]
    if config.stop_signal:
        cfg += ["--config.stopsignal", config.stop_signal]
    run(cfg, "umoci config", log)
    run(["umoci", "gc", "--layout", str(layout)], "umoci gc", log)


def scratch_dir(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".work-", dir=parent))
