"""What the real-node tests use to look inside the node: kubectl, containerd's image list, HTTPS to the ingress,
throwaway probe pods, and the ZenML client of the deployed version."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.harness import ROOT


class Masked(str):
    """A secret as a test holds it: the value for use, `[secret]` for every repr pytest may print on failure."""

    def __repr__(self) -> str:
        return "'[secret]'"


def mask_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Stack outputs with every generated admin password wrapped in Masked."""
    creds = outputs.get("adminCredentials") or {}
    for ws in creds.values():
        ws["password"] = Masked(ws["password"])
    return outputs


@dataclass
class Node:
    info: Any  # toolchain.localcluster.ClusterInfo
    state: Path

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.state / "cluster.json").read_text())

    @property
    def registry(self) -> str:
        return self.meta["registry"]

    @property
    def mirror(self) -> str:
        """The registry as image names spell it inside the node (the stack's registryMirror)."""
        return self.meta["mirror"]

    @property
    def ingress_port(self) -> int:
        return int(self.meta["ingress_port"])

    def add_hosts(self, names: list[str]) -> None:
        from toolchain.node import hosts

        hosts.add(self.state, names)

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        exe = Path(os.environ.get("TOOLCHAIN_BIN", "")) / "kubectl"
        if not exe.exists():
            from toolchain.localcluster import default_bin_dir

            exe = (default_bin_dir() or Path("/nonexistent")) / "kubectl"
        proc = subprocess.run([str(exe), f"--kubeconfig={self.info.kubeconfig}", *args], capture_output=True,
                              text=True, timeout=timeout, input=stdin)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-3000:]}")
        return proc

    def memory_mib(self) -> float:
        """Resident memory of every process of the node (components, containers), in MiB."""
        from toolchain.node import netns, teardown

        meta = self.meta
        pids = teardown.processes_of([netns.path_of(meta["netns"])], meta["cgroup_root"], [str(self.state) + "/"])
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    def containerd_images(self) -> list[str]:
        from toolchain.node import runtime

        rt = runtime.Runtime(self.state / "containerd")
        return runtime.image_names(rt, self.meta["netns"])

    def https(self, host: str, path: str, ca_pem: str, timeout: float = 10) -> tuple[int, bytes, dict[str, Any]]:
        """GET https://host/path through the ingress on the host's loopback, verified against ``ca_pem``."""
        ctx = ssl.create_default_context(cadata=ca_pem)
        with socket.create_connection(("127.0.0.1", self.ingress_port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                cert = tls.getpeercert()
                tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                chunks = []
                while True:
                    data = tls.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        raw_resp = b"".join(chunks)
        head, _, body = raw_resp.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return status, body, cert

    def probe_pod(self, namespace: str, name: str, image: str, script: str, labels: dict[str, str] | None = None,
                  timeout: float = 180) -> tuple[str, str]:
        """Run ``python3 -c script`` in a restricted throwaway pod; return (phase, logs). The pod is deleted."""
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app.kubernetes.io/name": "probe"}},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": "probe", "image": image, "command": ["python3", "-c", script],
                    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "capabilities": {"drop": ["ALL"]}},
                }],
            },
        }
        self.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
        try:
            deadline = time.monotonic() + timeout
            phase = ""
            while time.monotonic() < deadline:
                out = self.kubectl("get", "pod", "-n", namespace, name, "-o", "jsonpath={.status.phase}", check=False)
                phase = out.stdout.strip()
                if phase in ("Succeeded", "Failed"):
                    break
                time.sleep(1)
            logs = self.kubectl("logs", "-n", namespace, name, check=False).stdout
            return phase, logs
        finally:
            self.kubectl("delete", "pod", "-n", namespace, name, "--wait=false", check=False)


@contextlib.contextmanager
def running_node(state: Path, bin_dir: Path, **ports: int):
    """A real node in ``state`` for the duration of the block (``ingress_port``/``registry_port`` to run beside
    another one), always taken down again."""
    from toolchain import localcluster

    info = localcluster.up(state, mode="node", bin_dir=bin_dir, **ports)
    try:
        yield Node(info, state)
    finally:
        localcluster.down(state)


def zenml_python(version: str) -> Path:
    py = ROOT / f".venv-zenml-{version}" / "bin" / "python"
    if not py.exists():
        raise AssertionError(f"{py} missing: run `make test-env` (tests/contract/contract-env.sh) first")
    return py


def run_client(version: str, workdir: Path, url: str, username: str, password: str, ca_file: Path, script: str,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with the ZenML client of ``version`` against the server, as a user who logs in would."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "ZENML_CONFIG_PATH": str(workdir / "zenconfig"),
        "ZENML_STORE_URL": url,
        "ZENML_STORE_USERNAME": username,
        "ZENML_STORE_PASSWORD": password,
        "ZENML_STORE_VERIFY_SSL": str(ca_file),
        "REQUESTS_CA_BUNDLE": str(ca_file),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
        "ZENML_LOGGING_VERBOSITY": "WARN",
    }
    # ZenML resolves step code from its source file (with `-c` it asks for `zenml init`): run a real file.
    path = workdir / "client_script.py"
    path.write_text(script)
    return subprocess.run([str(zenml_python(version)), str(path)], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=timeout)
