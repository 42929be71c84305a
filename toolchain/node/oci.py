"""Single-layer image archives (docker-archive format) for the node's add-ons, built from local binaries.

The add-ons (CoreDNS, Traefik) run as pods like on any cluster, so NetworkPolicies, probes and RBAC treat
them as they would elsewhere; their images hold one static binary and a passwd entry for a non-root user.
A stable archive (sorted entries, zero mtimes, fixed owner) gives a stable image ID for the same binary.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

NONROOT_UID = 65532


def _add(tar: tarfile.TarFile, name: str, data: bytes | None, mode: int, uid: int = 0) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = uid
    info.uname = info.gname = ""
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def layer_tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    """files: absolute path in the image -> (content, mode). Adds /etc/passwd, /etc/group and /tmp."""
    entries = dict(files)
    entries.setdefault("/etc/passwd", (f"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:{NONROOT_UID}:{NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n".encode(), 0o644))
    entries.setdefault("/etc/group", (f"root:x:0:\nnonroot:x:{NONROOT_UID}:\n".encode(), 0o644))
    dirs = {"tmp", "etc", "home", "home/nonroot"}
    for path in entries:
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(dirs):
            if d == "tmp":
                _add(tar, d, None, 0o1777)
            elif d == "home/nonroot":
                _add(tar, d, None, 0o755, NONROOT_UID)
            else:
                _add(tar, d, None, 0o755)
        for path in sorted(entries):
            data, mode = entries[path]
            _add(tar, path.lstrip("/"), data, mode)
    return buf.getvalue()


def write_archive(out: Path, ref: str, files: dict[str, tuple[bytes, int]], entrypoint: list[str],
                  user: str = f"{NONROOT_UID}:{NONROOT_UID}", env: list[str] | None = None,
                  ports: list[str] | None = None) -> str:
    """Write a docker-archive tar for image ``ref``; returns the image config digest (the image ID)."""
    layer = layer_tar(files)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": entrypoint,
            "User": user,
            "Env": env or ["PATH=/usr/local/bin:/usr/bin:/bin"],
            "WorkingDir": "/",
            **({"ExposedPorts": {p: {} for p in ports}} if ports else {}),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "zenml-platform toolchain/node/oci.py"}],
    }
    cfg_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    cfg_digest = hashlib.sha256(cfg_bytes).hexdigest()
    layer_dir = diff_id.split(":", 1)[1]
    manifest = [{"Config": f"{cfg_digest}.json", "RepoTags": [ref], "Layers": [f"{layer_dir}/layer.tar"]}]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, f"{cfg_digest}.json", cfg_bytes, 0o644)
        _add(tar, layer_dir, None, 0o755)
        _add(tar, f"{layer_dir}/layer.tar", layer, 0o644)
        _add(tar, "manifest.json", json.dumps(manifest).encode(), 0o644)
        _add(tar, "repositories", json.dumps({ref.rsplit(":", 1)[0]: {ref.rsplit(":", 1)[1]: layer_dir}}).encode(), 0o644)
    tmp.replace(out)
    return "sha256:" + cfg_digest


def binary_image(out: Path, ref: str, binary: Path, entrypoint_name: str, args: list[str] | None = None,
                 ports: list[str] | None = None) -> str:
    """An image whose only program is ``binary`` at ``/<entrypoint_name>``, run as the non-root user."""
    return write_archive(out, ref, {f"/{entrypoint_name}": (binary.read_bytes(), 0o755)},
                         [f"/{entrypoint_name}", *(args or [])], ports=ports)
