"""containerd + runc for the node, with every path under the cluster's state directory.

containerd runs inside the node's network namespace (so the CNI plugins it calls put the pods' host-side
veths there) but in the host's mount namespace (so kubelet's volume mounts are visible to it). Its root,
state, socket, runc root, CNI config and pod network namespaces all live under ``<state>/containerd``, so
``down`` knows exactly what to unmount and remove, and a second cluster never shares anything with it.

Nothing is pulled from outside: registries are reached only through ``certs.d`` entries written here
(the local mirror on the node's loopback, plain HTTP because it never leaves the namespace), and every
other image (the sandbox image, the add-ons) is imported from archives with ``ctr images import``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from toolchain.node import netns


@dataclass(frozen=True)
class Runtime:
    state: Path  # <cluster state>/containerd

    @property
    def root(self) -> Path:
        return self.state / "root"

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def socket(self) -> Path:
        return self.state / "containerd.sock"

    @property
    def config(self) -> Path:
        return self.state / "config.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state / "cni" / "net.d"

    @property
    def certs_dir(self) -> Path:
        return self.state / "certs.d"

    @property
    def netns_dir(self) -> Path:
        return self.state / "netns"

    @property
    def runc_root(self) -> Path:
        return self.state / "runc"


def cni_bin_dir() -> str:
    for d in ("/usr/lib/cni", "/opt/cni/bin"):
        if Path(d, "bridge").exists():
            return d
    raise FileNotFoundError("CNI plugins (bridge, host-local, loopback, portmap) not found; run toolchain/node-packages.sh")


def write_config(rt: Runtime, sandbox_image: str, pod_subnet: str, mirrors: dict[str, str],
                 runtime_binary: str = "runc") -> None:
    """containerd 1.6/1.7 config (version 2), the CNI network, and a certs.d entry per mirror host.

    ``mirrors``: registry host (as image names spell it) -> URL containerd should use for it.
    """
    for d in (rt.root, rt.run, rt.cni_conf_dir, rt.certs_dir, rt.netns_dir, rt.runc_root):
        d.mkdir(parents=True, exist_ok=True)
    toml = f"""version = 2
root = "{rt.root}"
state = "{rt.run}"
oom_score = 0

[grpc]
  address = "{rt.socket}"

[ttrpc]
  address = "{rt.socket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  netns_mounts_under = "{rt.netns_dir}"
  enable_selinux = false
  restrict_oom_score_adj = true
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{rt.runc_root}"
        BinaryName = "{runtime_binary}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin_dir()}"
    conf_dir = "{rt.cni_conf_dir}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{rt.certs_dir}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{rt.state / 'opt'}"
"""
    rt.config.write_text(toml)
    cni = {
        "cniVersion": "0.4.0",
        "name": "zenml-platform-node",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": pod_subnet}]], "routes": [{"dst": "0.0.0.0/0"}],
                         "dataDir": str(rt.state / "cni" / "ipam")},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    (rt.cni_conf_dir / "10-node.conflist").write_text(json.dumps(cni, indent=2) + "\n")
    for host, url in mirrors.items():
        d = rt.certs_dir / host
        d.mkdir(parents=True, exist_ok=True)
        (d / "hosts.toml").write_text(
            f'server = "{url}"\n\n[host."{url}"]\n  capabilities = ["pull", "resolve"]\n'
        )


def containerd_argv(rt: Runtime) -> list[str]:
    exe = shutil.which("containerd")
    if not exe:
        raise FileNotFoundError("containerd not found; run toolchain/node-packages.sh")
    return [exe, "--config", str(rt.config), "--log-level", "warn"]


def ctr(rt: Runtime, ns: str, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        netns.prefix(ns) + ["ctr", "--address", str(rt.socket), "--namespace", "k8s.io", *args],
        capture_output=True, text=True, timeout=timeout,
    )
    if check and res.returncode != 0:
        raise RuntimeError(f"ctr {' '.join(args)}: {res.stderr.strip() or res.stdout.strip()}")
    return res


def import_archive(rt: Runtime, ns: str, archive: Path) -> None:
    """Import an image archive (docker-archive or OCI tar) into the CRI namespace, unpacked for overlayfs."""
    ctr(rt, ns, "images", "import", "--snapshotter", "overlayfs", str(archive))


def image_names(rt: Runtime, ns: str) -> list[str]:
    res = ctr(rt, ns, "images", "list", "--quiet")
    return sorted(line.strip() for line in res.stdout.splitlines() if line.strip())
