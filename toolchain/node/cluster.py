"""A one-node Kubernetes cluster that runs real containers, inside a network namespace of its own.

``up`` starts, in the node's namespace: etcd, the API server, controller-manager and scheduler (as in the
simulated cluster), containerd + runc, the kubelet, kube-proxy (iptables), kube-router (NetworkPolicy
firewall only), a local image registry (the stacks' ``registryMirror``) and, as pods, CoreDNS and Traefik.
The host reaches it only through the loopback forwarder: the API server, the registry and the ingress
controller's HTTPS port on 127.0.0.1. Needs root (network namespaces, mounts, cgroups).

``down`` stops all of it and removes what it made (see ``toolchain.node.teardown``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from toolchain import localcluster as lc
from toolchain.node import addons, hosts, kubelet, netns, oci, runtime, teardown

NODE_NAME = "zenml-node"
POD_SUBNET = "10.244.0.0/24"
API_PORT_IN_NODE = 6443
# Inside every node the registry is 127.0.0.1:5000 (the `local` stack's registryMirror); the host reaches it on
# its own loopback port (default the same), so two nodes can run side by side with the same image names.
REGISTRY_IN_NODE = "127.0.0.1:5000"
INGRESS_HOST_PORT = 443
# Started in this order, stopped in the reverse one.
COMPONENTS = (
    "forwarder", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
    "containerd", "registry", "kubelet", "kube-proxy", "kube-router",
)
STATE_MARKERS = ("cluster.json", "pids", "pki", "kubeconfig", "etcd-data", "logs", "volumes", "containerd",
                 "kubelet", "registry", "kube-proxy.json", "host-paths.json", "kubeconfig-node",
                 "kubeconfig-kubelet", "addon-images")


class NodeError(lc.ClusterError):
    pass


def _binary(name: str, bin_dir: Path | None) -> str:
    return lc._find_binary(name, bin_dir)


def _start(state: Path, name: str, argv: list[str], ns: str | None) -> subprocess.Popen[bytes]:
    log = open(state / "logs" / f"{name}.log", "ab")
    full = (netns.prefix(ns) if ns else []) + argv
    proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, close_fds=True, cwd=str(lc.TOOLCHAIN_DIR.parent))
    log.close()
    # nsenter execs the program in place: the pid is the program's, its argv[0] the program.
    (state / "pids" / f"{name}.pid").write_text(f"{proc.pid}\n{argv[0]}\n")
    return proc


def _read_pids(state: Path) -> dict[str, tuple[int, str]]:
    return lc._read_pids(state, COMPONENTS)


def _port_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _kubeconfig(server: str, pki: Path, user: str) -> str:
    cfg = json.loads(lc._kubeconfig(server, pki))
    cfg["users"][0]["user"] = {"client-certificate": str(pki / f"{user}.crt"), "client-key": str(pki / f"{user}.key")}
    return json.dumps(cfg, indent=2) + "\n"


def cgroup_root_for(state: Path) -> str:
    return "zenml-platform-" + hashlib.sha256(str(state).encode()).hexdigest()[:10]


def _addon_archive(cache: Path, name: str, image: str, binary: Path) -> Path:
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
    out = cache / f"{name}-{digest}.tar"
    if not out.exists():
        oci.binary_image(out, image, binary, name)
    return out


def _version_of(exe: str, args: list[str]) -> str:
    res = subprocess.run([exe, *args], capture_output=True, text=True, timeout=30)
    text = (res.stdout + res.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def up(state_dir: Path, bin_dir: Path | None, sandbox_image_archive: Path, sandbox_image: str,
       ingress_domain: str | None = "zenml.localhost", ingress_port: int = INGRESS_HOST_PORT,
       registry_port: int = 5000, pv_sizes: tuple[str, ...] = ("20Gi",) * 12, timeout: float = 240.0) -> lc.ClusterInfo:
    """Start the node cluster in ``state_dir`` (stopping a stale one there first) and return how to reach it."""
    if os.geteuid() != 0:
        raise NodeError("the real node needs root (network namespaces, mounts, cgroups); "
                        "use `--mode kwok` for the simulated cluster without root")
    state = state_dir.resolve()
    if state.exists():
        down(state)
    exe = {n: _binary(n, bin_dir) for n in ("etcd", "kube-apiserver", "kube-controller-manager",
                                              "kube-scheduler", "kubelet", "kube-proxy", "kube-router",
                                              "coredns", "traefik")}
    registry_exe = shutil.which("docker-registry") or shutil.which("registry")
    if not registry_exe:
        raise NodeError("docker-registry not found; run toolchain/node-packages.sh")
    for p in (ingress_port, registry_port):
        if not _port_free(p):
            raise NodeError(f"127.0.0.1:{p} is in use on this host; the node forwards that port (see --ingress-port)")
    for sub in ("pki", "logs", "pids", "etcd-data", "volumes", "registry", "addon-images"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    teardown.record_host(state)
    ns = netns.name_for(state)
    cgroot = cgroup_root_for(state)
    node_ip = netns.NODE_IP
    meta: dict[str, Any] = {"mode": "node", "netns": ns, "cgroup_root": cgroot, "node": NODE_NAME,
                            "node_ip": node_ip, "registry": f"127.0.0.1:{registry_port}", "mirror": REGISTRY_IN_NODE,
                            "ingress_port": ingress_port, "bin_dir": str(bin_dir or "")}
    (state / "cluster.json").write_text(json.dumps(meta, indent=2) + "\n")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        netns.create(ns, lc.SERVICE_CIDR)
        pki = state / "pki"
        backend = lc._make_pki(pki, extra_ips=(node_ip,),
                               clients=(("kubelet", f"system:node:{NODE_NAME}", "system:nodes"),))
        (api_host_port,) = lc._free_ports(1)
        server = f"https://127.0.0.1:{api_host_port}"
        (state / "kubeconfig").write_text(_kubeconfig(server, pki, "admin"))
        inner = f"https://127.0.0.1:{API_PORT_IN_NODE}"
        (state / "kubeconfig-node").write_text(_kubeconfig(inner, pki, "admin"))
        (state / "kubeconfig-kubelet").write_text(_kubeconfig(inner, pki, "kubelet"))
        for f in ("kubeconfig", "kubeconfig-node", "kubeconfig-kubelet"):
            (state / f).chmod(0o600)
        meta.update(server=server, pki=backend, ports={"kube-apiserver": api_host_port, "registry": registry_port,
                                                        "ingress": ingress_port})
        (state / "cluster.json").write_text(json.dumps(meta, indent=2) + "\n")

        procs["forwarder"] = _start(state, "forwarder", [
            sys.executable, "-m", "toolchain.node.forwarder", f"--netns={netns.path_of(ns)}",
            f"127.0.0.1:{api_host_port}=127.0.0.1:{API_PORT_IN_NODE}",
            f"127.0.0.1:{registry_port}={REGISTRY_IN_NODE}",
            f"127.0.0.1:{ingress_port}={addons.INGRESS_SERVICE_IP}:443",
        ], ns=None)
        procs["etcd"] = _start(state, "etcd", [
            exe["etcd"], "--name=node", f"--data-dir={state / 'etcd-data'}",
            "--listen-client-urls=http://127.0.0.1:2379", "--advertise-client-urls=http://127.0.0.1:2379",
            "--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            "--initial-cluster=node=http://127.0.0.1:2380", "--quota-backend-bytes=4294967296",
            "--unsafe-no-fsync=true", "--log-level=warn",
        ], ns)
        time.sleep(1.0)
        procs["kube-apiserver"] = _start(state, "kube-apiserver", [
            exe["kube-apiserver"], "--etcd-servers=http://127.0.0.1:2379", "--bind-address=0.0.0.0",
            f"--advertise-address={node_ip}", f"--secure-port={API_PORT_IN_NODE}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}", f"--kubelet-client-certificate={pki / 'admin.crt'}",
            f"--kubelet-client-key={pki / 'admin.key'}", f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=Node,RBAC", f"--service-cluster-ip-range={lc.SERVICE_CIDR}",
            "--allow-privileged=true", "--enable-priority-and-fairness=false", "--profiling=false",
            "--enable-admission-plugins=NodeRestriction", "--kubelet-preferred-address-types=InternalIP", "--v=1",
        ], ns)
        api = lc._Api(server, pki)
        lc._wait("kube-apiserver /readyz (through the loopback forwarder)",
                 lambda: api.request("GET", "/readyz", timeout=3)[0] == 200, timeout, procs, state)
        kc = state / "kubeconfig-node"
        procs["kube-controller-manager"] = _start(state, "kube-controller-manager", [
            exe["kube-controller-manager"], f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}", "--bind-address=127.0.0.1", "--secure-port=10257",
            "--leader-elect=false", f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}", f"--service-cluster-ip-range={lc.SERVICE_CIDR}",
            f"--cluster-cidr={lc.POD_CIDR}", "--allocate-node-cidrs=true", "--node-cidr-mask-size=24",
            "--use-service-account-credentials=true", "--controllers=*", "--profiling=false", "--v=1",
        ], ns)
        procs["kube-scheduler"] = _start(state, "kube-scheduler", [
            exe["kube-scheduler"], f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}", "--bind-address=127.0.0.1", "--secure-port=10259",
            "--leader-elect=false", "--profiling=false", "--v=1",
        ], ns)

        rt = runtime.Runtime(state / "containerd")
        runtime.write_config(rt, sandbox_image, POD_SUBNET, {REGISTRY_IN_NODE: f"http://{REGISTRY_IN_NODE}"})
        procs["containerd"] = _start(state, "containerd", runtime.containerd_argv(rt), ns)
        lc._wait("containerd socket", lambda: rt.socket.exists() and
                 runtime.ctr(rt, ns, "version", check=False).returncode == 0, 60, procs, state)
        runtime.import_archive(rt, ns, sandbox_image_archive)
        cache = lc._cache_root() / "node-images"
        for name, image in (("coredns", addons.COREDNS_IMAGE), ("traefik", addons.TRAEFIK_IMAGE)):
            ref = image.format(version=_addon_version(exe[name]))
            runtime.import_archive(rt, ns, _addon_archive(cache, name, ref, Path(exe[name])))

        (state / "registry" / "config.yml").write_text(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {state / 'registry' / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {REGISTRY_IN_NODE}\n"
        )
        procs["registry"] = _start(state, "registry", [registry_exe, "serve", str(state / "registry" / "config.yml")], ns)

        teardown.make_cgroups(cgroot)
        kubelet.write_kubelet_files(state, node_ip, f"/{cgroot}", pki, rt.socket)
        procs["kubelet"] = _start(state, "kubelet", kubelet.kubelet_argv(
            exe["kubelet"], state, NODE_NAME, node_ip, state / "kubeconfig-kubelet"), ns)
        kp = kubelet.kube_proxy_config(state, kc, NODE_NAME, lc.POD_CIDR)
        procs["kube-proxy"] = _start(state, "kube-proxy", kubelet.kube_proxy_argv(exe["kube-proxy"], kp), ns)

        def node_ready() -> bool:
            code, body = api.request("GET", f"/api/v1/nodes/{NODE_NAME}")
            if code != 200:
                return False
            return any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in body.get("status", {}).get("conditions", []) or [])

        lc._wait(f"node {NODE_NAME} Ready (kubelet)", node_ready, timeout, procs, state)
        procs["kube-router"] = _start(state, "kube-router", addons.kube_router_argv(
            exe["kube-router"], str(kc), NODE_NAME), ns)
        _storage(api, state, pv_sizes)
        lc._wait("the default ServiceAccount", lambda: api.request(
            "GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200, 60, procs, state)
        for path, obj in addons.coredns_objects(_addon_version(exe["coredns"]), ingress_domain) + \
                addons.traefik_objects(_addon_version(exe["traefik"]), node_ip):
            api.create(path, obj)
        for ns_name, dep in (("kube-system", "coredns"), (addons.INGRESS_NAMESPACE, "traefik")):
            lc._wait(f"deployment {ns_name}/{dep} available",
                     lambda ns_name=ns_name, dep=dep: _deployment_ready(api, ns_name, dep), timeout, procs, state)
    except BaseException:
        if os.environ.get("ZENML_NODE_KEEP_ON_FAILURE") != "1":  # debugging: leave the node as it is
            down(state, keep_state=True)
        raise
    return lc._info(state)


def _addon_version(exe: str) -> str:
    """The add-on image tag: the binary's own content hash, so a rebuilt binary gets a new tag."""
    h = hashlib.sha256(Path(exe).read_bytes()).hexdigest()[:12]
    return h


def _deployment_ready(api: lc._Api, ns: str, name: str) -> bool:
    code, body = api.request("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    if code != 200:
        return False
    st = body.get("status", {})
    return st.get("availableReplicas", 0) >= 1 and st.get("updatedReplicas", 0) >= 1


def _storage(api: lc._Api, state: Path, pv_sizes: tuple[str, ...]) -> None:
    """A default StorageClass and pre-made local PersistentVolumes on the node (local volumes honour fsGroup)."""
    api.create("/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner", "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
    })
    for i, size in enumerate(pv_sizes):
        path = state / "volumes" / f"pv-{i:03d}"
        path.mkdir(parents=True, exist_ok=True)
        api.create("/api/v1/persistentvolumes", {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": f"local-pv-{i:03d}", "labels": {"localcluster": "true"}},
            "spec": {
                "capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "standard",
                "volumeMode": "Filesystem", "local": {"path": str(path)},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE_NAME]}]}]}},
            },
        })


def status(state_dir: Path) -> dict[str, Any]:
    state = state_dir.resolve()
    pids = _read_pids(state) if state.exists() else {}
    comps: dict[str, dict[str, Any]] = {}
    for name in COMPONENTS:
        if name in pids:
            pid, exe = pids[name]
            comps[name] = {"pid": pid, "running": lc._pid_alive(pid) and lc._pid_matches(pid, exe)}
        else:
            comps[name] = {"pid": None, "running": False}
    out: dict[str, Any] = {"state_dir": str(state), "mode": "node", "running": all(c["running"] for c in comps.values()),
                           "components": comps,
                           "kubeconfig": str(state / "kubeconfig") if (state / "kubeconfig").exists() else None}
    if (state / "cluster.json").exists():
        meta = json.loads((state / "cluster.json").read_text())
        out.update({k: meta[k] for k in ("server", "netns", "registry", "ingress_port") if k in meta})
    return out


def down(state_dir: Path, keep_state: bool = False) -> None:
    """Stop the node and remove everything it made; ``keep_state`` keeps the logs (after a failed ``up``)."""
    state = state_dir.resolve()
    if not state.exists():
        return
    if not all(p.name in STATE_MARKERS for p in state.iterdir()):
        raise NodeError(f"{state} does not look like a node cluster state dir; not touching it")
    meta = json.loads((state / "cluster.json").read_text()) if (state / "cluster.json").exists() else {}
    ns = meta.get("netns") or netns.name_for(state)
    cgroot = meta.get("cgroup_root") or cgroup_root_for(state)
    pids = _read_pids(state)
    pod_netns = teardown.pod_netns_made(state, cgroot)
    # 1. the kubelet first, so nothing restarts containers; then every container through runc.
    for name in ("kubelet", "kube-router", "kube-proxy"):
        if name in pids:
            teardown.kill_all([pids[name][0]])
    rt = runtime.Runtime(state / "containerd")
    runc_root = rt.runc_root / "k8s.io"
    if runc_root.is_dir():
        listing = subprocess.run(["runc", "--root", str(runc_root), "list", "-q"], capture_output=True, text=True)
        for cid in listing.stdout.split():
            subprocess.run(["runc", "--root", str(runc_root), "kill", "--all", cid, "KILL"], capture_output=True)
            subprocess.run(["runc", "--root", str(runc_root), "delete", "--force", cid], capture_output=True)
    # 2. our components in reverse start order, then whatever is left in our namespaces or cgroups.
    for name in reversed(COMPONENTS):
        if name in pids and lc._pid_alive(pids[name][0]) and lc._pid_matches(*pids[name]):
            teardown.kill_all([pids[name][0]], grace=5.0)
    nspaths = [netns.path_of(ns)] + pod_netns
    teardown.kill_all(teardown.processes_of(nspaths, cgroot, [str(state) + "/"]))
    # 3. mounts (pod netns files, overlay rootfs, volume tmpfs), cgroups, the namespace, host paths.
    teardown.unmount_all([state])
    teardown.remove_pod_netns(pod_netns)
    teardown.remove_cgroups(cgroot)
    netns.delete(ns)
    teardown.restore_host(state)
    hosts.remove(state)
    if keep_state:
        keep = state.parent / (state.name + ".failed")
        shutil.rmtree(keep, ignore_errors=True)
        (keep).mkdir(parents=True, exist_ok=True)
        if (state / "logs").is_dir():
            shutil.copytree(state / "logs", keep / "logs")
    subprocess.run(["rm", "-rf", "--one-file-system", str(state)], capture_output=True)


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise NodeError(f"{url} did not answer within {timeout:.0f}s")
