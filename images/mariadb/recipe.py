"""MariaDB from Debian bookworm's mariadb-server (10.11) with our own entrypoint (see images/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

from images.oci import ImageConfig, debian_rootfs_tar, write_layout

NAME = "mariadb"
REPOSITORY = "mariadb"
HERE = Path(__file__).resolve().parent
# Debian bookworm ships exactly one MariaDB series; the tag names it.
VERSIONS = ("10.11",)
UID = GID = 999


def check_version(version: str) -> str | None:
    return None if version in VERSIONS else f"one of {', '.join(VERSIONS)} (the series Debian bookworm ships)"


def build(version: str, work: Path, layout: Path, log: Path, pip_cache: Path) -> None:
    rootfs = work / "rootfs.tar"
    os.environ["RECIPE_DIR"] = str(HERE)
    debian_rootfs_tar(
        rootfs,
        packages=["mariadb-server", "mariadb-client", "ca-certificates", "tzdata"],
        hooks={
            "essential": [f'sh "{HERE / "essential.sh"}" "$1"'],
            "customize": [f'sh "{HERE / "customize.sh"}" "$1"'],
        },
        log=log,
    )
    write_layout(
        layout,
        version,
        rootfs,
        ImageConfig(
            user=f"{UID}:{GID}",
            entrypoint=["docker-entrypoint.sh"],
            cmd=["mariadbd"],
            env={
                "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C.UTF-8",
            },
            workdir="/",
            ports=["3306/tcp"],
            labels={
                "org.opencontainers.image.title": "mariadb",
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.description": "Debian bookworm mariadb-server with the zenml-platform entrypoint",
            },
            stop_signal="SIGTERM",
        ),
        log,
    )
