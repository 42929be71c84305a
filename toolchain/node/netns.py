"""The node's network namespace: created empty, never linked to the host.

Inside it: ``lo`` (127.0.0.1, plus the node address ``NODE_IP``, so the API server, kubelet and the
add-ons have a non-loopback address pods can reach), and later the CNI bridge with the pod network. There is
no veth to the host and no default route, so pod and Service addresses are routable only inside; the host
reaches the node only through ``toolchain.node.forwarder`` on its own loopback.

Processes enter it with ``nsenter --net=...`` (only the network namespace): kubelet and containerd must share
the host's mount namespace, which ``ip netns exec`` would replace with a private one.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

NODE_IP = "10.255.255.1"
NETNS_DIR = Path("/run/netns")


class NetnsError(RuntimeError):
    pass


def name_for(state_dir: Path) -> str:
    """A stable, short namespace name per state directory (two clusters never share one)."""
    return "zp-" + hashlib.sha256(str(state_dir).encode()).hexdigest()[:10]


def path_of(name: str) -> Path:
    return NETNS_DIR / name


def _ip(*args: str) -> None:
    res = subprocess.run(["ip", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {res.stderr.strip()}")


def exists(name: str) -> bool:
    return path_of(name).exists()


def create(name: str, service_cidr: str) -> None:
    """Create the namespace with lo up, the node address on lo, and forwarding on inside it only.

    The Service range gets a route through lo: a connection made on the node itself (the forwarder, the
    kubelet's probes of Service addresses) needs a route before kube-proxy's OUTPUT rules rewrite it to a pod;
    without one it fails at once with "network unreachable"."""
    if exists(name):
        delete(name)
    _ip("netns", "add", name)
    try:
        run_in(name, ["ip", "link", "set", "lo", "up"])
        run_in(name, ["ip", "addr", "add", f"{NODE_IP}/32", "dev", "lo"])
        run_in(name, ["ip", "route", "add", service_cidr, "dev", "lo", "src", NODE_IP])
        for key, value in (
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv4.conf.all.route_localnet", "1"),
            ("net.bridge.bridge-nf-call-iptables", "1"),
        ):
            run_in(name, ["sysctl", "-q", "-w", f"{key}={value}"], check=False)
    except BaseException:
        delete(name)
        raise


def delete(name: str) -> None:
    if exists(name):
        _ip("netns", "delete", name)


def prefix(name: str) -> list[str]:
    """argv prefix that runs a command inside the namespace (network only)."""
    return ["nsenter", f"--net={path_of(name)}", "--"]


def run_in(name: str, argv: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(prefix(name) + argv, capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} (in {name}): {res.stderr.strip() or res.stdout.strip()}")
    return res
