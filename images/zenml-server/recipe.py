"""ZenML server: zenml[server]==<version> from PyPI in a venv on Debian bookworm's python3.11 (see images/README.md)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from images.oci import ImageConfig, debian_rootfs_tar, write_layout

NAME = "zenml-server"
REPOSITORY = "zenmldocker/zenml-server"
HERE = Path(__file__).resolve().parent
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
UID = GID = 1000
PORT = 8080
CONFIG_PATH = "/zenml/.zenconfig"
ENV = {
    "PATH": "/opt/venv/bin:/home/zenml/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "PYTHONFAULTHANDLER": "1",
    "PYTHONHASHSEED": "random",
    "VIRTUAL_ENV": "/opt/venv",
    "ZENML_CONTAINER": "1",
    "ZENML_CONFIG_PATH": CONFIG_PATH,
    "ZENML_DEBUG": "false",
    "ZENML_ANALYTICS_OPT_IN": "true",
}
CMD = ["uvicorn", "zenml.zen_server.zen_server_api:app", "--no-server-header", "--proxy-headers",
       "--forwarded-allow-ips", "*", "--port", str(PORT), "--host", "0.0.0.0"]


def check_version(version: str) -> str | None:
    """None when buildable, else why not."""
    return None if _VERSION.match(version) else "a ZenML release version X.Y.Z (the PyPI version of zenml[server])"


def build(version: str, work: Path, layout: Path, log: Path, pip_cache: Path) -> None:
    rootfs = work / "rootfs.tar"
    os.environ.setdefault("HOST_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    os.environ.update({"ZENML_VERSION": version, "RECIPE_DIR": str(HERE), "PIP_CACHE": str(pip_cache)})
    debian_rootfs_tar(
        rootfs,
        packages=["python3", "python3-venv", "ca-certificates", "tzdata"],
        hooks={"customize": [f'sh "{HERE / "customize.sh"}" "$1"']},
        log=log,
    )
    write_layout(
        layout,
        version,
        rootfs,
        ImageConfig(
            user=f"{UID}:{GID}",
            entrypoint=["/entrypoint.sh"],
            cmd=CMD,
            env=ENV,
            workdir="/zenml",
            ports=[f"{PORT}/tcp"],
            labels={
                "org.opencontainers.image.title": "zenml-server",
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.description": f"zenml[server]=={version} on Debian bookworm (zenml-platform recipe)",
            },
        ),
        log,
    )
