"""What the real-node tests use to look inside the node: kubectl, containerd's image list, HTTPS to the ingress,
throwaway probe pods, and the ZenML client of the deployed version."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.e2e.harness import ROOT, Kube, Pulumi, copy_project


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

    @property
    def kube(self) -> Kube:
        """A client of the node's API server (the cluster admin's certificate)."""
        i = self.info
        return Kube(i.server, i.ca_file, i.cert_file, i.key_file)

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


class HealthPoller:
    """GET https://<host>/health through the ingress every ``interval`` s (at most ``limit`` probes) while an
    operation runs: the statuses seen, as strings ("200", "503", or the connection error's type)."""

    def __init__(self, node: Node, host: str, ca: str, limit: int = 900, interval: float = 2.0):
        self.node, self.host, self.ca, self.limit, self.interval = node, host, ca, limit, interval
        self.seen: list[str] = []
        self.at: list[float] = []
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set() and len(self.seen) < self.limit:
            try:
                status, _, _ = self.node.https(self.host, "/health", self.ca, timeout=5)
                self.seen.append(str(status))
            except (OSError, ssl.SSLError, ValueError, IndexError) as exc:
                self.seen.append(type(exc).__name__)
            self.at.append(round(time.monotonic() - self.t0, 1))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def until_ok(self, timeout: float) -> bool:
        """Wait until a probe after this call answers 200 (bounded by ``timeout``); whether one did."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._thread.is_alive():
            if "200" in self.seen[start:]:
                return True
            time.sleep(0.2)
        return "200" in self.seen[start:]

    def failures(self) -> list[tuple[float, str]]:
        """(seconds since the start, what was seen) for every probe that was not a 200."""
        return [(t, s) for t, s in zip(self.at, self.seen, strict=True) if s != "200"]


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


def wait_served(url: str, ca_file: Path, timeout: float = 60) -> list[str]:
    """Poll ``url``/health once a second (bounded by ``timeout``) until it answers 200; what was seen before.

    `up` returns when the server's Deployment is Ready; the ingress controller routes to the new endpoints a moment
    later (Traefik reloads at most every 2 s) and answers 503 until then. A client that starts in that gap fails
    its login, so every client run waits here first. If no 200 comes, the client runs anyway and fails as itself."""
    parts = urlsplit(url)
    ctx = ssl.create_default_context(cafile=str(ca_file))
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port or 443, timeout=5, context=ctx)
        try:
            conn.request("GET", "/health")
            status = conn.getresponse().status
            if status == 200:
                return seen
            seen.append(str(status))
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            seen.append(type(exc).__name__)
        finally:
            conn.close()
        time.sleep(1)
    return seen


def run_client(version: str, workdir: Path, url: str, username: str, password: str, ca_file: Path, script: str,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with the ZenML client of ``version`` against the server, as a user who logs in would
    (once the ingress serves it: `wait_served`)."""
    wait_served(url, ca_file)
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


@contextlib.contextmanager
def module_node(work: Path, env: dict[str, str], timings: dict[str, float], *, ingress_port: int, registry_port: int):
    """The node of one test module, on that module's own host ports (so it can run beside other nodes). Its start
    time goes into ``timings``, which is written to ``work/timings.json`` and printed when the module is done."""
    if os.geteuid() != 0:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("the real node needs root")
        pytest.skip("the real node needs root")
    start = time.monotonic()
    with running_node(work / "cluster", Path(env["TOOLCHAIN_BIN"]), ingress_port=ingress_port,
                      registry_port=registry_port) as n:
        timings["node up"] = round(time.monotonic() - start, 1)
        yield n
    (work / "timings.json").write_text(json.dumps(timings, indent=2))
    print("\nTIMINGS " + json.dumps(timings))


STACK_FILE = "stacks/Pulumi.local.yaml"
# The Secrets whose data are generated values (database credentials, secrets-store key, JWT key, admin password).
GENERATED = re.compile(r"(-credentials|-encryption-key|^zenml-server-jwt|^zenml-server-admin)$")


def copy_cli_project(work: Path) -> Path:
    """A copy of the project (program, stacks, venv link) with cli.py and cli_app, as a user's checkout has them."""
    project = copy_project(work / "project")
    shutil.copy2(ROOT / "cli.py", project / "cli.py")
    shutil.copytree(ROOT / "cli_app", project / "cli_app", ignore=shutil.ignore_patterns("__pycache__"))
    return project


def on_file_backend(work: Path, node: Node, env: dict[str, str], project: Path, stack: str) -> Pulumi:
    """``project`` with ``stack`` initialised on its own file backend (``work``/state) and passphrase, talking to
    ``node``."""
    state = work / "state"
    state.mkdir()
    run_env = {**env, "KUBECONFIG": str(node.info.kubeconfig), "PULUMI_BACKEND_URL": f"file://{state}",
               "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24)}
    run_env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    p = Pulumi(project, run_env)
    p.run("stack", "init", stack)
    return p


def cli_project(work: Path, node: Node, env: dict[str, str], edit=None) -> Pulumi:
    """A copy of the project with cli.py, `local` (``edit`` applied to its parsed stack file) initialised on its
    own file backend and passphrase, talking to ``node``."""
    project = copy_cli_project(work)
    doc = yaml.safe_load((ROOT / STACK_FILE).read_text())
    for key in ("encryptionsalt", "encryptedkey", "secretsprovider"):
        doc.pop(key, None)
    if edit:
        edit(doc)
    (project / STACK_FILE).write_text(yaml.safe_dump(doc, sort_keys=False))
    return on_file_backend(work, node, env, project, "local")


def production_on_the_node(doc: dict) -> None:
    """`profile: production` for `local`, with what the node cannot give (its sizes) set explicitly."""
    c = doc["config"]
    c["zenml-platform:profile"] = "production"
    [ws] = c["zenml-platform:workspaces"]
    # What the node cannot give, set explicitly (the profile asks for 2-6 replicas, 1-2 CPUs, 50Gi/100Gi volumes).
    ws["replicas"], ws["maxReplicas"] = 1, 1
    ws["resources"] = {"requests": {"cpu": "100m", "memory": "450Mi"}, "limits": {"cpu": "1", "memory": "800Mi"}}
    ws["database"]["inCluster"].update({
        "storageSize": "2Gi", "backup": {"storageSize": "1Gi"},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}})


def production_project(work: Path, node: Node, env: dict[str, str], registry_port: int) -> Pulumi:
    """`local` with the node-sized production profile (``production_on_the_node``), on its own backend, with the
    stack's images pushed into the node's registry first."""
    from images.push import push_stack

    push_stack(f"127.0.0.1:{registry_port}", "local")
    return cli_project(work, node, env, edit=production_on_the_node)


def up_and_run_pipeline(project: Pulumi, node: Node, work: Path, ingress_port: int, version: str, pipeline: str,
                        timings: dict[str, float], label: str) -> tuple[dict[str, Any], str]:
    """`cli.py up` of `local` (timed as ``label``), then ``pipeline`` run by the generated admin with the client of
    ``version``: the admin's login and the id of the run it printed (a ``RUN <id>`` line)."""
    start = time.monotonic()
    proc = cli(project, "up", "-s", "local", "--yes")
    timings[label] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    login = admin_login(project)
    node.add_hosts([login["url"].split("://", 1)[1].split("/", 1)[0]])
    (work / "client").mkdir(parents=True, exist_ok=True)
    (work / "client" / "pipeline.py").write_text(pipeline)
    run = client_as_admin(version, work, login, ingress_port,
                          "import runpy; runpy.run_path('pipeline.py', run_name='__main__')")
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-4000:])
    run_id = [ln for ln in run.stdout.splitlines() if ln.startswith("RUN ")][-1].split()[1]
    return login, run_id


def admin_login(project: Pulumi, stack: str = "local", workspace: str = "default") -> dict[str, Any]:
    """What a user logs in with, from the stack's outputs: URL, CA bundle, admin user and password (masked)."""
    out = json.loads(project.run("stack", "output", "--stack", stack, "--json", "--show-secrets").stdout)
    creds = out["adminCredentials"][workspace]
    return {"url": out["workspaces"][workspace]["url"], "ca": out["caBundle"], "username": creds["username"],
            "password": Masked(creds["password"])}


def client_as_admin(version: str, work: Path, login: dict[str, Any], ingress_port: int,
                    script: str) -> subprocess.CompletedProcess[str]:
    """``script`` with the ZenML client of ``version``, logged in as ``login`` says, through the node's ingress port."""
    ca = work / "zenml-ca.pem"
    ca.write_text(login["ca"])
    return run_client(version, work / "client", f"{login['url']}:{ingress_port}", login["username"],
                      login["password"], ca, script)


def cli(project: Pulumi, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    """`.venv/bin/python cli.py ARGS` in the project copy, as the runbook runs it."""
    return subprocess.run([str(project.project / ".venv" / "bin" / "python"), "cli.py", *args], cwd=project.project,
                          env=project.env, capture_output=True, text=True, timeout=timeout)


def state_of(project: Pulumi, stack: str = "local") -> dict:
    return json.loads(project.run("stack", "export", "--stack", stack).stdout)["deployment"]


def secret_hashes(kube: Kube, namespaces: list[str]) -> dict[str, str]:
    """sha256 of each generated Secret's data, by namespace/name (the values are never kept or printed)."""
    out = {}
    for ns in namespaces:
        for s in (kube.get(f"/api/v1/namespaces/{ns}/secrets") or {}).get("items", []):
            if GENERATED.search(s["metadata"]["name"]):
                out[f"{ns}/{s['metadata']['name']}"] = hashlib.sha256(
                    json.dumps(s.get("data") or {}, sort_keys=True).encode()).hexdigest()
    return out
