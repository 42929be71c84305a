"""Host names of the node's ingress in the host's ``/etc/hosts``, in a block marked with the state dir.

``*.localhost`` names do not resolve through glibc's ``files dns`` here, so `zenml login https://<ws>.<domain>`
would fail as printed. ``add`` writes one marked block per cluster (replacing an older one); ``remove``
(called by ``down``) takes exactly that block out again and leaves every other line as it was.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

HOSTS = Path("/etc/hosts")
_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


def _markers(state: Path) -> tuple[str, str]:
    return f"# >>> zenml-platform node {state}", f"# <<< zenml-platform node {state}"


def _without_block(text: str, state: Path) -> str:
    begin, end = _markers(state)
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == begin:
            skipping = True
            continue
        if skipping and line.rstrip("\n") == end:
            skipping = False
            continue
        if not skipping:
            out.append(line)
    return "".join(out)


def _write(text: str, hosts: Path) -> None:
    # In place (not rename): /etc/hosts may be a bind mount in containers and sandboxes.
    with open(hosts, "r+") as f:
        f.seek(0)
        f.write(text)
        f.truncate()
        f.flush()
        os.fsync(f.fileno())


def add(state: Path, names: list[str], address: str = "127.0.0.1", hosts: Path = HOSTS) -> None:
    for n in names:
        if not _NAME.fullmatch(n):
            raise ValueError(f"not a host name: {n!r}")
    begin, end = _markers(state)
    text = _without_block(hosts.read_text(), state)
    if text and not text.endswith("\n"):
        text += "\n"
    block = [begin] + [f"{address} {n}" for n in sorted(set(names))] + [end]
    _write(text + "\n".join(block) + "\n", hosts)


def remove(state: Path, hosts: Path = HOSTS) -> None:
    if not hosts.exists():
        return
    text = hosts.read_text()
    new = _without_block(text, state)
    if new != text:
        _write(new, hosts)


def names(state: Path, hosts: Path = HOSTS) -> list[str]:
    begin, end = _markers(state)
    out, inside = [], False
    for line in hosts.read_text().splitlines():
        if line == begin:
            inside = True
        elif line == end:
            inside = False
        elif inside and line.strip():
            out.append(line.split()[1])
    return out
