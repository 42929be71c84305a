"""pause: one static binary of our own (pause.c) in an otherwise empty image, as containerd's sandbox image."""

from __future__ import annotations

import re
import shutil
import tarfile
from pathlib import Path

from images.oci import BuildError, ImageConfig, run, write_layout

NAME = "pause"
REPOSITORY = "registry.k8s.io/pause"
HERE = Path(__file__).resolve().parent
_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
UID = GID = 65535  # the upstream pause image's user


def check_version(version: str) -> str | None:
    return None if _VERSION.match(version) else "a version like 3.10"


def compile_binary(version: str, out: Path, log: Path) -> None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise BuildError("pause: no C compiler (apt-get install gcc libc6-dev)")
    run([cc, "-static", "-Os", "-s", "-Wall", "-Werror", f'-DPAUSE_VERSION="{version}"', "-o", str(out),
         str(HERE / "pause.c")], "compile pause.c", log)


def build(version: str, work: Path, layout: Path, log: Path, pip_cache: Path) -> None:
    binary = work / "pause"
    compile_binary(version, binary, log)
    layer = work / "layer.tar"
    with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tar.gettarinfo(str(binary), arcname="pause")
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mode = 0o755
        info.mtime = 0
        with open(binary, "rb") as f:
            tar.addfile(info, f)
    write_layout(
        layout,
        version,
        layer,
        ImageConfig(
            user=f"{UID}:{GID}",
            entrypoint=["/pause"],
            labels={"org.opencontainers.image.title": "pause", "org.opencontainers.image.version": version},
        ),
        log,
    )
