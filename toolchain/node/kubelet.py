"""kubelet and kube-proxy for the node: configuration files and command lines.

Choices that follow from this machine (see docs/toolchain.md):

* cgroup v1 with the cgroupfs driver (PID 1 is not systemd); ``failCgroupV1: false`` because kubelet 1.35+
  refuses cgroup v1 otherwise; pods live under a cgroup root of their own (``/zenml-platform-<id>``) so
  ``down`` removes exactly that subtree;
* every directory (root dir, pod logs, resolv.conf) under the cluster's state directory;
* the pods' upstream resolver is an empty file: cluster DNS forwards nowhere outside;
* kube-proxy in iptables mode without touching host-wide conntrack sysctls.
"""

from __future__ import annotations

import json
from pathlib import Path

CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"


def kubelet_config(state: Path, node_ip: str, cgroup_root: str, pki: Path) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root,
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "failSwapOn": False,
        "address": node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [CLUSTER_DNS_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(state / "kubelet" / "resolv.conf"),
        "podLogsDir": str(state / "kubelet" / "pod-logs"),
        "staticPodPath": "",
        "maxPods": 60,
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "evictionPressureTransitionPeriod": "30s",
        "localStorageCapacityIsolation": False,
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": True,
        "containerRuntimeEndpoint": "",  # set by the caller (unix socket path)
        "shutdownGracePeriod": "0s",
        "nodeStatusReportFrequency": "10s",
        "nodeStatusUpdateFrequency": "10s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
        "logging": {"format": "text", "verbosity": 1},
    }


def write_kubelet_files(state: Path, node_ip: str, cgroup_root: str, pki: Path, runtime_socket: Path) -> Path:
    kdir = state / "kubelet"
    (kdir / "root").mkdir(parents=True, exist_ok=True)
    (kdir / "pod-logs").mkdir(parents=True, exist_ok=True)
    (kdir / "resolv.conf").write_text("# pods' upstream resolver: none (the cluster forwards nowhere outside)\n")
    cfg = kubelet_config(state, node_ip, cgroup_root, pki)
    cfg["containerRuntimeEndpoint"] = f"unix://{runtime_socket}"
    path = kdir / "config.json"
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    return path


def kubelet_argv(exe: str, state: Path, node_name: str, node_ip: str, kubeconfig: Path) -> list[str]:
    kdir = state / "kubelet"
    return [
        exe,
        f"--config={kdir / 'config.json'}",
        f"--kubeconfig={kubeconfig}",
        f"--root-dir={kdir / 'root'}",
        f"--hostname-override={node_name}",
        f"--node-ip={node_ip}",
        f"--cert-dir={kdir / 'pki'}",
        "--node-labels=topology.kubernetes.io/zone=zone-a,topology.kubernetes.io/region=local,node.kubernetes.io/instance-type=local",
        "--v=1",
    ]


def kube_proxy_config(state: Path, kubeconfig: Path, node_name: str, pod_cidr: str) -> Path:
    cfg = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": node_name,
        "clusterCIDR": pod_cidr,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"masqueradeAll": False, "syncPeriod": "10s", "minSyncPeriod": "1s"},
    }
    path = state / "kube-proxy.json"
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    return path


def kube_proxy_argv(exe: str, config: Path) -> list[str]:
    return [exe, f"--config={config}", "--v=1"]
