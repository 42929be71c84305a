"""PostgreSQL from Debian bookworm's postgresql-15 with our own entrypoint (see images/README.md).

Debian bookworm ships one PostgreSQL major version, 15; the official image's default tag here (`postgres:16.6`)
cannot be built from it. A stack that runs this image names `images.postgres: postgres:15` explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

from images.oci import ImageConfig, debian_rootfs_tar, write_layout

NAME = "postgres"
REPOSITORY = "postgres"
HERE = Path(__file__).resolve().parent
# The major version Debian bookworm ships; the tag names it (minor updates come with a --force rebuild).
VERSIONS = ("15",)
UID = GID = 999


def check_version(version: str) -> str | None:
    return None if version in VERSIONS else f"one of {', '.join(VERSIONS)} (the major version Debian bookworm ships)"


def build(version: str, work: Path, layout: Path, log: Path, pip_cache: Path) -> None:
    rootfs = work / "rootfs.tar"
    os.environ["RECIPE_DIR"] = str(HERE)
    os.environ["PG_MAJOR"] = version
    debian_rootfs_tar(
        rootfs,
        packages=[f"postgresql-{version}", f"postgresql-client-{version}", "ca-certificates", "tzdata"],
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
            cmd=["postgres"],
            env={
                # The server's own binaries first (Debian's /usr/bin/psql etc. are perl wrappers that pick a cluster).
                "PATH": f"/usr/lib/postgresql/{version}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C.UTF-8",
                "PG_MAJOR": version,
                "PGDATA": "/var/lib/postgresql/data",
            },
            workdir="/",
            ports=["5432/tcp"],
            labels={
                "org.opencontainers.image.title": "postgres",
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.description": "Debian bookworm postgresql with the zenml-platform entrypoint",
            },
            # The official image's: SIGINT is PostgreSQL's fast shutdown (SIGTERM, smart shutdown, waits for clients).
            stop_signal="SIGINT",
        ),
        log,
    )
