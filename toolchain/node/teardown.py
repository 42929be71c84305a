"""Everything ``down`` removes for a real node, and the host snapshot a test compares before and after.

Order matters: containers first (so nothing restarts them), then the processes, then the mounts they
held, the cgroup subtree, the network namespace, and host paths the kubelet or containerd made that did
not exist before ``up`` (recorded in ``host-paths.json`` at start). Host-wide sysctls the kubelet sets on
start are put back to the values recorded then.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

# Paths the kubelet / containerd 1.x write outside their configured directories (constants in their code).
HOST_PATHS = (
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/log/pods",
    "/run/containerd",
    "/var/lib/containerd",
    "/etc/cni",
    "/opt/cni",
    "/var/lib/cni",
)
# Host-wide (not namespaced) sysctls the kubelet sets at start.
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
CGROUP_FS = Path("/sys/fs/cgroup")


def record_host(state: Path) -> None:
    """Before ``up``: which host paths exist and the sysctl values the kubelet will change."""
    sysctls = {}
    for key in KUBELET_SYSCTLS:
        try:
            sysctls[key] = Path("/proc/sys", key).read_text().strip()
        except OSError:
            continue
    netns_dir = Path("/run/netns")
    data = {
        "existing": [p for p in HOST_PATHS if os.path.lexists(p)],
        "sysctls": sysctls,
        "netns": sorted(p.name for p in netns_dir.iterdir()) if netns_dir.is_dir() else [],
        "run_netns": "dir+mount" if _is_mount(netns_dir) else ("dir" if netns_dir.is_dir() else "none"),
    }
    (state / "host-paths.json").write_text(json.dumps(data, indent=2) + "\n")


def _is_mount(path: Path) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == str(path) for line in f)


def cgroup_dirs(cgroup_root: str) -> list[Path]:
    out: list[Path] = []
    if not CGROUP_FS.is_dir():
        return out
    for ctrl in sorted(CGROUP_FS.iterdir()):
        d = ctrl / cgroup_root.strip("/")
        if d.is_dir():
            out.append(d)
    return out


def make_cgroups(cgroup_root: str) -> None:
    for ctrl in sorted(CGROUP_FS.iterdir()):
        if ctrl.is_dir() and not ctrl.is_symlink() and os.access(ctrl, os.W_OK):
            try:
                (ctrl / cgroup_root.strip("/")).mkdir(exist_ok=True)
            except OSError:
                continue


def _netns_inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def processes_of(netns_paths: list[Path], cgroup_root: str, markers: list[str]) -> list[int]:
    """Processes in one of our network namespaces, under our cgroup root, or whose command line names one
    of ``markers`` (our state directory): the set ``down`` must end."""
    inodes = {i for i in (_netns_inode(p) for p in netns_paths) if i}
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        try:
            ns = os.stat(entry / "ns" / "net").st_ino
        except OSError:
            ns = None
        hit = ns in inodes
        if not hit:
            try:
                cg = (entry / "cgroup").read_text()
                hit = f"/{cgroup_root.strip('/')}/" in cg or cg.rstrip().endswith(f"/{cgroup_root.strip('/')}")
            except OSError:
                pass
        if not hit and markers:
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                hit = any(m in cmd for m in markers)
            except OSError:
                pass
        if hit:
            found.append(pid)
    return found


def kill_all(pids: list[int], grace: float = 10.0) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        live = [p for p in pids if _alive(p)]
        if not live:
            return
        for p in live:
            try:
                os.kill(p, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_alive(p) for p in live):
            _reap()
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def mounts_under(roots: list[Path]) -> list[str]:
    """Mount points at or below any of ``roots``, deepest first."""
    prefixes = [str(r.resolve()) for r in roots]
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if any(mp == p or mp.startswith(p + "/") for p in prefixes):
                points.append(mp)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def unmount_all(roots: list[Path]) -> None:
    for _ in range(5):
        points = mounts_under(roots)
        if not points:
            return
        for mp in points:
            if subprocess.run(["umount", mp], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", mp], capture_output=True)


def remove_cgroups(cgroup_root: str) -> None:
    for top in cgroup_dirs(cgroup_root):
        for _ in range(3):
            dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [top]
            for d in dirs:
                try:
                    d.rmdir()
                except OSError:
                    pass
            if not top.exists():
                break
            time.sleep(0.3)


def _netns_of_processes(pred) -> dict[int, set[int]]:
    """netns inode -> pids, for processes matching ``pred(pid_dir)``."""
    out: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if pred is not None and not pred(entry):
                continue
            out.setdefault(os.stat(entry / "ns" / "net").st_ino, set()).add(int(entry.name))
        except OSError:
            continue
    return out


def pod_netns_made(state: Path, cgroup_root: str) -> list[Path]:
    """Our pod network namespaces (``/run/netns/cni-*``, where containerd 1.x puts them): those a process
    under our cgroup root uses, plus ones made since ``up`` that no process uses at all (a failed sandbox).
    A pod namespace of another cluster on this host is never among them. Call before killing anything."""
    rec = state / "host-paths.json"
    before = set(json.loads(rec.read_text()).get("netns", [])) if rec.exists() else set()
    d = Path("/run/netns")
    if not d.is_dir():
        return []
    tag = f"/{cgroup_root.strip('/')}/"

    def ours(entry: Path) -> bool:
        return tag in (entry / "cgroup").read_text()

    mine = set(_netns_of_processes(ours))
    used = set(_netns_of_processes(None))
    out = []
    for p in sorted(d.iterdir()):
        if not p.name.startswith("cni-"):
            continue
        ino = _netns_inode(p)
        if ino in mine or (p.name not in before and ino not in used):
            out.append(p)
    return out


def remove_pod_netns(paths: list[Path]) -> None:
    for p in paths:
        subprocess.run(["umount", str(p)], capture_output=True)
        try:
            p.unlink()
        except OSError:
            subprocess.run(["umount", "-l", str(p)], capture_output=True)
            try:
                p.unlink()
            except OSError:
                pass


def restore_host(state: Path) -> None:
    """Remove host paths that did not exist before ``up``; put the kubelet's sysctls back."""
    rec = state / "host-paths.json"
    if not rec.exists():
        return
    data = json.loads(rec.read_text())
    existing = set(data.get("existing", []))
    for p in HOST_PATHS:
        if p not in existing and os.path.lexists(p):
            unmount_all([Path(p)])
            subprocess.run(["rm", "-rf", "--one-file-system", p], capture_output=True)
    # `ip netns add` makes /run/netns a mount point the first time; undo that when we were the first.
    run_netns = Path("/run/netns")
    before = data.get("run_netns", "dir+mount")
    if before != "dir+mount" and run_netns.is_dir() and not any(run_netns.iterdir()):
        if _is_mount(run_netns):
            subprocess.run(["umount", str(run_netns)], capture_output=True)
        if before == "none":
            try:
                run_netns.rmdir()
            except OSError:
                pass
    for key, value in data.get("sysctls", {}).items():
        try:
            current = Path("/proc/sys", key).read_text().strip()
            if current != value:
                Path("/proc/sys", key).write_text(value + "\n")
        except OSError:
            continue


def host_snapshot() -> dict[str, list[str]]:
    """What a clean ``down`` must leave as it found: namespaces, links, host iptables rules, mounts, paths."""
    def out(argv: list[str]) -> list[str]:
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return []
        return sorted(line for line in res.stdout.splitlines() if line.strip())

    with open("/proc/self/mountinfo") as f:
        mounts = sorted(line.split()[4] for line in f)
    links = [line.split("@")[0] for line in out(["ip", "-o", "link", "show"])]
    links = sorted({" ".join(link.split()[1:2]) for link in links})
    return {
        "netns": out(["ip", "netns", "list"]),
        "links": links,
        "iptables": out(["iptables-save"]) and [rule for rule in out(["iptables-save"]) if not rule.startswith("#")],
        "mounts": mounts,
        "host_paths": [p for p in HOST_PATHS if os.path.lexists(p)],
        "cgroups": sorted(str(p) for c in (CGROUP_FS.iterdir() if CGROUP_FS.is_dir() else [])
                          if c.is_dir() for p in c.iterdir() if p.is_dir() and p.name.startswith("zenml-platform-")),
        "sysctls": [f"{k}={Path('/proc/sys', k).read_text().strip()}" for k in KUBELET_SYSCTLS if Path('/proc/sys', k).exists()],
    }
