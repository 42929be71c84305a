"""Run built images with runc the way the rendered pods run them: as the image's uid, read-only root, the
writable paths the pod mounts (emptyDir -> a fresh 0777 directory, volumes -> bind mounts), host network on 127.0.0.1.

Everything a Container creates (runc state, bundle, mounts) lives under one directory and `close()` removes it;
processes are killed and deleted by their runc id.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


def unpack(layout: str, tag: str, bundle: Path) -> None:
    """umoci unpack (as root: owners and modes as in the image) into `bundle` (config.json + rootfs/)."""
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle)], check=True,
                   capture_output=True, timeout=600)


@dataclass
class Mount:
    destination: str
    source: Optional[Path] = None  # None: an emptyDir (a fresh 0777 directory, as the kubelet creates it)
    readonly: bool = False


@dataclass
class Container:
    """One runc container from an unpacked bundle; the rootfs is shared read-only between runs."""

    name: str
    bundle: Path  # from unpack(); config.json is rewritten per run into a private copy
    state_root: Path
    log: Path
    args: list[str]
    env: dict[str, str]
    uid: int
    gid: int
    mounts: list[Mount] = field(default_factory=list)
    cwd: str = "/"
    # Capabilities of the process: none, as the pods' securityContext drops ALL; a test of a plain root start
    # gives the usual runtime defaults (CAP_CHOWN, CAP_SETUID, ...).
    capabilities: list[str] = field(default_factory=list)
    proc: Optional[subprocess.Popen] = None

    def _config(self) -> dict:
        spec = json.loads((self.bundle / "config.json").read_text())
        image_env = dict(e.split("=", 1) for e in spec["process"].get("env", []))
        spec["process"].update(
            terminal=False,
            args=self.args,
            env=[f"{k}={v}" for k, v in {**image_env, **self.env}.items()],
            user={"uid": self.uid, "gid": self.gid, "additionalGids": [self.gid]},
            cwd=self.cwd,
            noNewPrivileges=not self.capabilities,
            capabilities={k: list(self.capabilities) for k in ("bounding", "effective", "permitted")},
        )
        spec["root"] = {"path": str(self.bundle / "rootfs"), "readonly": True}
        spec["hostname"] = self.name
        linux = spec.setdefault("linux", {})
        # Host network (the test binds 127.0.0.1 on free ports); every other namespace stays private.
        linux["namespaces"] = [ns for ns in linux.get("namespaces", []) if ns["type"] not in ("network", "user")]
        linux.pop("uidMappings", None)
        linux.pop("gidMappings", None)
        mounts = [m for m in spec.get("mounts", []) if m["destination"] not in {x.destination for x in self.mounts}]
        for i, m in enumerate(self.mounts):
            source = m.source
            if source is None:
                # A bind-mounted directory, not a tmpfs: runc gives a tmpfs the mode of the directory it covers,
                # while the kubelet's emptyDir is a 0777 directory.
                source = self.state_root / f"{self.name}-emptydir-{i}"
                source.mkdir(parents=True, exist_ok=True)
                source.chmod(0o777)
            mounts.append({"destination": m.destination, "type": "bind", "source": str(source),
                           "options": ["rbind", "nosuid", "nodev", "ro" if m.readonly else "rw"]})
        # resolv.conf/hosts as a kubelet would provide them (the image has none).
        etc = self.state_root / f"{self.name}-etc"
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        for f in ("hosts", "resolv.conf"):
            mounts.append({"destination": f"/etc/{f}", "type": "bind", "source": str(etc / f), "options": ["rbind", "ro"]})
        spec["mounts"] = mounts
        return spec

    def _runc(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["runc", "--root", str(self.state_root / "runc"), *args], capture_output=True,
                              text=True, timeout=timeout, check=check)

    def start(self) -> None:
        run_bundle = self.state_root / f"{self.name}-bundle"
        run_bundle.mkdir(parents=True, exist_ok=True)
        (run_bundle / "config.json").write_text(json.dumps(self._config(), indent=1))
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            ["runc", "--root", str(self.state_root / "runc"), "run", "--bundle", str(run_bundle), self.name],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        out.close()

    def exec(self, args: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a probe or command in the running container, as its user, like an exec probe."""
        return self._runc("exec", "--user", f"{self.uid}:{self.gid}", self.name, *args, timeout=timeout, check=False)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self, grace: float = 30) -> Optional[int]:
        """SIGTERM, then SIGKILL after `grace` seconds, then delete the container; returns the exit status."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            self._runc("kill", self.name, "TERM", check=False)
            try:
                code = self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._runc("kill", "--all", self.name, "KILL", check=False)
                code = self.proc.wait(timeout=15)
        self._runc("delete", "--force", self.name, check=False)
        return code

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_until(predicate, timeout: float, interval: float = 0.5, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached in {timeout:.0f}s")
