"""The project's local Kubernetes clusters: a real node (default), or a control plane with simulated nodes.

``--mode node`` (the default of the command line) runs one real node in a network namespace of its own:
see ``toolchain.node``. ``--mode kwok`` (the default of the Python API, used by the engine tests that need
no running containers) is the simulated cluster described below.

kwok mode starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok from the
binaries built by ``toolchain/build.sh``; no kubelet, no container runtime, no root. kwok
plays the kubelet: it marks the fake Nodes Ready, moves scheduled Pods to Running/Ready,
completes Job Pods, finalizes deleted Pods and gives Ingresses (and LoadBalancer Services)
a load-balancer address of 127.0.0.1, so Pulumi's await logic for Deployments, Jobs,
StatefulSets (PVCs bind to pre-created PersistentVolumes) and Ingresses finishes.

Usage::

    python -m toolchain.localcluster up [--mode node|kwok] [--dir DIR] [--bin DIR]
    python -m toolchain.localcluster status [--dir DIR]
    python -m toolchain.localcluster down [--dir DIR]

Python API: ``up(state_dir=None, bin_dir=None, ...) -> ClusterInfo``,
``down(state_dir=None) -> None``, ``status(state_dir=None) -> dict``.

Certificates come from the ``cryptography`` package when it can be imported, otherwise from
the ``openssl`` command line tool. Only the standard library is needed besides that.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TOOLCHAIN_DIR = Path(__file__).resolve().parent

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
MODES = ("node", "kwok")
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
DEFAULT_NODES = 3
DEFAULT_PV_SIZES: tuple[str, ...] = ("20Gi",) * 20 + ("100Gi",) * 4
ZONES = ("zone-a", "zone-b", "zone-c")


class ClusterError(RuntimeError):
    """Raised when the local cluster cannot be started or reached."""


@dataclasses.dataclass(frozen=True)
class ClusterInfo:
    state_dir: Path
    kubeconfig: Path
    server: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    ports: dict[str, int]


# --------------------------------------------------------------------------- locations


def _cache_root() -> Path:
    if os.environ.get("ZENML_PLATFORM_CACHE"):
        return Path(os.environ["ZENML_PLATFORM_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "zenml-platform"


def default_state_dir() -> Path:
    return _cache_root() / "localcluster"


def toolchain_key() -> str:
    """The cache key build.sh uses (same hash as toolchain/lib.sh)."""
    files = [TOOLCHAIN_DIR / "versions.env"]
    for p in (TOOLCHAIN_DIR / "go").rglob("*"):
        if p.is_file() and (p.name in ("go.mod", "go.sum") or p.suffix == ".go"):
            files.append(p)
    rel = sorted((str(p.relative_to(TOOLCHAIN_DIR)) for p in files), key=lambda s: s.encode())
    h = hashlib.sha256()
    for r in rel:
        h.update(r.encode() + b"\n")
        h.update((TOOLCHAIN_DIR / r).read_bytes())
    return h.hexdigest()[:12]


def default_bin_dir() -> Path | None:
    """Where the binaries are: $TOOLCHAIN_BIN, else the build.sh cache dir, else None (PATH)."""
    if os.environ.get("TOOLCHAIN_BIN"):
        return Path(os.environ["TOOLCHAIN_BIN"])
    cand = _cache_root() / "toolchain" / toolchain_key() / "bin"
    return cand if cand.is_dir() else None


def _find_binary(name: str, bin_dir: Path | None) -> str:
    if bin_dir is not None and (bin_dir / name).is_file():
        return str(bin_dir / name)
    found = shutil.which(name)
    if not found:
        raise ClusterError(f"{name} not found in {bin_dir} or on PATH; run toolchain/build.sh first")
    return found


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


# --------------------------------------------------------------------------- PKI


def _have_cryptography() -> bool:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _pki_cryptography(pki: Path, sans_dns: list[str], sans_ip: list[str],
                      clients: tuple[tuple[str, str, str], ...] = ()) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=365)

    def key_pem(k: Any) -> bytes:
        return k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def name(cn: str, org: str | None = None) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("zenml-platform-localcluster-ca"))
        .issuer_name(name("zenml-platform-localcluster-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(pki / "ca.key", key_pem(ca_key))
    (pki / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    def leaf(stem: str, cn: str, org: str | None, server: bool) -> None:
        k = ec.generate_private_key(ec.SECP256R1())
        b = (
            x509.CertificateBuilder()
            .subject_name(name(cn, org))
            .issuer_name(ca_cert.subject)
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                    if server
                    else [ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            alt: list[x509.GeneralName] = [x509.DNSName(d) for d in sans_dns]
            alt += [x509.IPAddress(ipaddress.ip_address(i)) for i in sans_ip]
            b = b.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        _write_private(pki / f"{stem}.key", key_pem(k))
        (pki / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    leaf("apiserver", "kube-apiserver", None, server=True)
    leaf("admin", "kubernetes-admin", "system:masters", server=False)
    for stem, cn, org in clients:
        leaf(stem, cn, org, server=False)

    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(pki / "sa.key", key_pem(sa))
    (pki / "sa.pub").write_bytes(
        sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _openssl(*args: str, cwd: Path) -> None:
    res = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args)} failed: {res.stderr.strip()}")


def _pki_openssl(pki: Path, sans_dns: list[str], sans_ip: list[str],
                 clients: tuple[tuple[str, str, str], ...] = ()) -> None:
    if shutil.which("openssl") is None:
        raise ClusterError("neither the cryptography package nor the openssl command is available")
    ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    _openssl("genpkey", *ec, "-out", "ca.key", cwd=pki)
    _openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "365",
        "-subj", "/CN=zenml-platform-localcluster-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,digitalSignature,keyCertSign,cRLSign",
        "-out", "ca.crt", cwd=pki,
    )  # fmt: skip
    san = ",".join([f"DNS:{d}" for d in sans_dns] + [f"IP:{i}" for i in sans_ip])
    leaves = [
        ("apiserver", "/CN=kube-apiserver", f"subjectAltName={san}\nextendedKeyUsage=serverAuth,clientAuth\n"),
        ("admin", "/O=system:masters/CN=kubernetes-admin", "extendedKeyUsage=clientAuth\n"),
    ] + [(stem, f"/O={org}/CN={cn}", "extendedKeyUsage=clientAuth\n") for stem, cn, org in clients]
    for stem, subj, ext in leaves:
        _openssl("genpkey", *ec, "-out", f"{stem}.key", cwd=pki)
        _openssl("req", "-new", "-key", f"{stem}.key", "-subj", subj, "-out", f"{stem}.csr", cwd=pki)
        (pki / f"{stem}.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" + ext
        )
        _openssl(
            "x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "365", "-sha256", "-extfile", f"{stem}.ext",
            "-out", f"{stem}.crt", cwd=pki,
        )  # fmt: skip
        (pki / f"{stem}.csr").unlink()
        (pki / f"{stem}.ext").unlink()
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key", cwd=pki)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    for k in pki.glob("*.key"):
        k.chmod(0o600)


def _make_pki(pki: Path, extra_ips: tuple[str, ...] = (),
              clients: tuple[tuple[str, str, str], ...] = ()) -> str:
    """The cluster CA, the API server's serving cert, the admin client cert and any extra client certs
    (``clients``: (file stem, CN, O)); ``extra_ips`` join the API server's SANs."""
    pki.mkdir(parents=True, exist_ok=True)
    first_service_ip = str(next(ipaddress.ip_network(SERVICE_CIDR).hosts()))
    dns = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
    ]
    ips = ["127.0.0.1", first_service_ip, *extra_ips]
    if _have_cryptography():
        _pki_cryptography(pki, dns, ips, clients)
        return "cryptography"
    _pki_openssl(pki, dns, ips, clients)
    return "openssl"


# --------------------------------------------------------------------------- config files


def _kubeconfig(server: str, pki: Path) -> str:
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "localcluster", "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate": str(pki / "admin.crt"),
                    "client-key": str(pki / "admin.key"),
                },
            }
        ],
        "contexts": [{"name": "localcluster", "context": {"cluster": "localcluster", "user": "admin"}}],
        "current-context": "localcluster",
    }
    return json.dumps(cfg, indent=2) + "\n"  # JSON is valid YAML


# kwok Stage objects (kwok.x-k8s.io/v1alpha1), written for this project. JSON documents are
# valid YAML, and kwok reads a multi-document YAML file.
def _stages() -> list[dict[str, Any]]:
    def stage(name: str, ref: tuple[str, str], exprs: list[dict[str, Any]], nxt: dict[str, Any],
              delay_ms: int | None = None, immediate: bool = False) -> dict[str, Any]:  # fmt: skip
        spec: dict[str, Any] = {
            "resourceRef": {"apiGroup": ref[0], "kind": ref[1]},
            "selector": {"matchExpressions": exprs},
            "next": nxt,
        }
        if delay_ms is not None:
            spec["delay"] = {"durationMilliseconds": delay_ms}
        if immediate:
            spec["immediateNextStage"] = True
        return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": name}, "spec": spec}

    not_deleting = {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}
    ready_status = '.status.conditions.[] | select( .type == "Ready" ) | .status'
    node_conditions = (
        "{{ $now := Now }}\n"
        "conditions:\n"
        "{{ range NodeConditions }}\n"
        "- lastHeartbeatTime: {{ $now | Quote }}\n"
        "  lastTransitionTime: {{ $now | Quote }}\n"
        "  message: {{ .message | Quote }}\n"
        "  reason: {{ .reason | Quote }}\n"
        "  status: {{ .status | Quote }}\n"
        "  type: {{ .type | Quote }}\n"
        "{{ end }}\n"
    )
    node_init = node_conditions + (
        "addresses:\n"
        "- address: {{ NodeIP | Quote }}\n"
        "  type: InternalIP\n"
        "- address: {{ NodeName | Quote }}\n"
        "  type: Hostname\n"
        "allocatable:\n"
        "{{ YAML .status.allocatable 1 }}\n"
        "capacity:\n"
        "{{ YAML .status.capacity 1 }}\n"
        "nodeInfo:\n"
        "  architecture: amd64\n"
        "  operatingSystem: linux\n"
        "  kubeletVersion: {{ printf \"kwok-%s\" Version | Quote }}\n"
        "  kubeProxyVersion: \"\"\n"
        "phase: Running\n"
    )
    pod_running = (
        "{{ $now := Now }}\n"
        "conditions:\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  status: \"True\"\n  type: PodScheduled\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  status: \"True\"\n  type: Initialized\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  status: \"True\"\n  type: ContainersReady\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  status: \"True\"\n  type: Ready\n"
        "{{ range .spec.readinessGates }}\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  status: \"True\"\n  type: {{ .conditionType | Quote }}\n"
        "{{ end }}\n"
        "containerStatuses:\n"
        "{{ range .spec.containers }}\n"
        "- image: {{ .image | Quote }}\n  name: {{ .name | Quote }}\n  ready: true\n  started: true\n"
        "  restartCount: 0\n  state:\n    running:\n      startedAt: {{ $now | Quote }}\n"
        "{{ end }}\n"
        "initContainerStatuses:\n"
        "{{ range .spec.initContainers }}\n"
        "- image: {{ .image | Quote }}\n  name: {{ .name | Quote }}\n  ready: true\n  restartCount: 0\n"
        "  state:\n    terminated:\n      exitCode: 0\n      reason: Completed\n"
        "      startedAt: {{ $now | Quote }}\n      finishedAt: {{ $now | Quote }}\n"
        "{{ end }}\n"
        "hostIP: {{ NodeIPWith .spec.nodeName | Quote }}\n"
        "hostIPs:\n- ip: {{ NodeIPWith .spec.nodeName | Quote }}\n"
        "{{ with PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid \"\" )"
        " ( or .metadata.name \"\" ) ( or .metadata.namespace \"\" ) }}\n"
        "podIP: {{ . | Quote }}\npodIPs:\n- ip: {{ . | Quote }}\n"
        "{{ end }}\n"
        "phase: Running\n"
        "startTime: {{ $now | Quote }}\n"
    )
    pod_succeeded = (
        "{{ $now := Now }}\n"
        "conditions:\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  status: \"True\"\n  type: PodScheduled\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  status: \"True\"\n  type: Initialized\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  reason: PodCompleted\n  status: \"False\"\n  type: ContainersReady\n"
        "- lastTransitionTime: {{ $now | Quote }}\n  reason: PodCompleted\n  status: \"False\"\n  type: Ready\n"
        "containerStatuses:\n"
        "{{ range .spec.containers }}\n"
        "- image: {{ .image | Quote }}\n  name: {{ .name | Quote }}\n  ready: false\n  started: false\n"
        "  restartCount: 0\n  state:\n    terminated:\n      exitCode: 0\n      reason: Completed\n"
        "      startedAt: {{ $now | Quote }}\n      finishedAt: {{ $now | Quote }}\n"
        "{{ end }}\n"
        "phase: Succeeded\n"
    )
    lb_status = "loadBalancer:\n  ingress:\n  - ip: 127.0.0.1\n"
    return [
        stage(
            "node-initialize",
            ("v1", "Node"),
            [{"key": ready_status, "operator": "NotIn", "values": ["True"]}],
            {"statusTemplate": node_init},
        ),
        stage(
            "node-heartbeat",
            ("v1", "Node"),
            [
                {"key": ".status.phase", "operator": "In", "values": ["Running"]},
                {"key": ready_status, "operator": "In", "values": ["True"]},
            ],
            {"statusTemplate": node_conditions},
            delay_ms=10000,
            immediate=True,
        ),
        stage(
            "pod-ready",
            ("v1", "Pod"),
            [
                not_deleting,
                {"key": ".spec.nodeName", "operator": "Exists"},
                {"key": ".status.phase", "operator": "In", "values": ["Pending"]},
            ],
            {"statusTemplate": pod_running},
        ),
        stage(
            "pod-complete-job",
            ("v1", "Pod"),
            [
                not_deleting,
                {"key": ".status.phase", "operator": "In", "values": ["Running"]},
                {"key": ".metadata.ownerReferences.[].kind", "operator": "In", "values": ["Job"]},
            ],
            {"statusTemplate": pod_succeeded},
            delay_ms=1000,
        ),
        stage(
            "pod-delete",
            ("v1", "Pod"),
            [{"key": ".metadata.deletionTimestamp", "operator": "Exists"}],
            {"delete": True},
        ),
        stage(
            "ingress-load-balancer",
            ("networking.k8s.io/v1", "Ingress"),
            [not_deleting, {"key": ".status.loadBalancer.ingress", "operator": "DoesNotExist"}],
            {"statusTemplate": lb_status},
        ),
        stage(
            "service-load-balancer",
            ("v1", "Service"),
            [
                not_deleting,
                {"key": ".spec.type", "operator": "In", "values": ["LoadBalancer"]},
                {"key": ".status.loadBalancer.ingress", "operator": "DoesNotExist"},
            ],
            {"statusTemplate": lb_status},
        ),
    ]


# --------------------------------------------------------------------------- API access


class _Api:
    def __init__(self, server: str, pki: Path):
        self.server = server
        self.ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
                raw = r.read()
                code = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            code = e.code
        try:
            return code, json.loads(raw) if raw else None
        except ValueError:
            return code, raw.decode(errors="replace")

    def create(self, path: str, obj: dict[str, Any]) -> None:
        code, body = self.request("POST", path, obj)
        if code not in (200, 201, 409):
            raise ClusterError(f"POST {path} -> {code}: {body}")


# --------------------------------------------------------------------------- processes


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _pid_matches(pid: int, exe: str) -> bool:
    """True if pid still runs our binary (guards against pid reuse)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return _pid_alive(pid)
    return os.path.basename(argv0) == os.path.basename(exe)


def _read_pids(state: Path, components: tuple[str, ...] = COMPONENTS) -> dict[str, tuple[int, str]]:
    """name -> (pid, executable) from the pid files `_start` wrote (kwok mode's components by default)."""
    out = {}
    for name in components:
        p = state / "pids" / f"{name}.pid"
        if p.exists():
            try:
                pid_s, exe = p.read_text().split("\n", 1)
                out[name] = (int(pid_s), exe.strip())
            except ValueError:
                continue
    return out


def _start(state: Path, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    log = open(state / "logs" / f"{name}.log", "ab")
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # survives the caller's Ctrl-C; `down` stops it
        close_fds=True,
    )
    log.close()
    (state / "pids" / f"{name}.pid").write_text(f"{proc.pid}\n{argv[0]}\n")
    return proc


def _wait(what: str, check: Any, timeout: float, procs: dict[str, subprocess.Popen[bytes]], state: Path) -> Any:
    deadline = time.monotonic() + timeout
    last_err: Any = None
    while time.monotonic() < deadline:
        for name, p in procs.items():
            if p.poll() is not None:
                tail = (state / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
                raise ClusterError(f"{name} exited with {p.returncode} while waiting for {what}:\n{tail}")
        try:
            res = check()
            if res:
                return res
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last_err = e
        time.sleep(0.5)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_err})")


def _stop_pids(pids: dict[str, tuple[int, str]], grace: float = 10.0) -> None:
    live = {n: pid for n, (pid, exe) in pids.items() if _pid_alive(pid) and _pid_matches(pid, exe)}
    # stop in reverse start order: kwok and controllers first, etcd last
    for name in reversed(COMPONENTS):
        if name in live:
            try:
                os.killpg(live[name], signal.SIGTERM)
            except ProcessLookupError:
                pass
            except PermissionError:
                os.kill(live[name], signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_pid_alive(p) for p in live.values()):
        _reap()
        time.sleep(0.2)
    for pid in live.values():
        if _pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_pid_alive(p) for p in live.values()):
        _reap()
        time.sleep(0.1)


def _reap() -> None:
    try:
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
    except ChildProcessError:
        pass


# --------------------------------------------------------------------------- public API


def up(
    state_dir: str | os.PathLike[str] | None = None,
    bin_dir: str | os.PathLike[str] | None = None,
    nodes: int = DEFAULT_NODES,
    pv_sizes: tuple[str, ...] = DEFAULT_PV_SIZES,
    timeout: float = 180.0,
    mode: str = "kwok",
    ingress_port: int | None = None,
    registry_port: int | None = None,
) -> ClusterInfo:
    """Start the cluster in ``state_dir`` and return how to reach it.

    ``mode="kwok"``: the simulated cluster (no root, nothing runs); ``mode="node"``: one real node in a
    network namespace of its own (``toolchain.node``; needs root). If a cluster of that mode already runs
    there, returns its info. A stale (stopped) state dir is removed first. On failure everything that was
    started is stopped again.
    """
    if mode not in MODES:
        raise ClusterError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
    state = Path(state_dir) if state_dir is not None else default_state_dir()
    state = state.resolve()
    st = status(state)
    if st["running"] and st.get("mode", "kwok") == mode:
        return _info(state)
    if state.exists():
        down(state)
    if mode == "node":
        return _node_up(state, Path(bin_dir) if bin_dir is not None else default_bin_dir(), timeout,
                        ingress_port, registry_port)

    bdir = Path(bin_dir) if bin_dir is not None else default_bin_dir()
    exe = {name: _find_binary(name, bdir) for name in COMPONENTS}

    for sub in ("pki", "logs", "pids", "etcd-data"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    pki = state / "pki"
    backend = _make_pki(pki)

    (etcd_client, etcd_peer, api_port, kcm_port, sched_port, kwok_port) = _free_ports(6)
    ports = {
        "etcd-client": etcd_client,
        "etcd-peer": etcd_peer,
        "kube-apiserver": api_port,
        "kube-controller-manager": kcm_port,
        "kube-scheduler": sched_port,
        "kwok": kwok_port,
    }
    server = f"https://127.0.0.1:{api_port}"
    kubeconfig = state / "kubeconfig"
    kubeconfig.write_text(_kubeconfig(server, pki))
    kubeconfig.chmod(0o600)
    kwok_cfg = state / "kwok.yaml"
    kwok_cfg.write_text("\n---\n".join(json.dumps(s, indent=1) for s in _stages()) + "\n")
    (state / "cluster.json").write_text(
        json.dumps({"server": server, "ports": ports, "pki": backend, "bin_dir": str(bdir or "")}, indent=2) + "\n"
    )

    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        procs["etcd"] = _start(state, "etcd", [
            exe["etcd"],
            "--name=localcluster",
            f"--data-dir={state / 'etcd-data'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
            f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
            f"--initial-cluster=localcluster=http://127.0.0.1:{etcd_peer}",
            "--quota-backend-bytes=4294967296",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ])  # fmt: skip

        def etcd_ok() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{etcd_client}/health", timeout=2) as r:
                return json.loads(r.read()).get("health") == "true"

        _wait("etcd /health", etcd_ok, 60, procs, state)

        procs["kube-apiserver"] = _start(state, "kube-apiserver", [
            exe["kube-apiserver"],
            f"--etcd-servers=http://127.0.0.1:{etcd_client}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=Node,RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
        ])  # fmt: skip
        api = _Api(server, pki)

        def api_ready() -> bool:
            code, _ = api.request("GET", "/readyz", timeout=3)
            return code == 200

        _wait("kube-apiserver /readyz", api_ready, timeout, procs, state)

        procs["kube-controller-manager"] = _start(state, "kube-controller-manager", [
            exe["kube-controller-manager"],
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={kcm_port}",
            "--leader-elect=false",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--cluster-cidr={POD_CIDR}",
            "--controllers=*",
            "--profiling=false",
            "--v=1",
        ])  # fmt: skip
        procs["kube-scheduler"] = _start(state, "kube-scheduler", [
            exe["kube-scheduler"],
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={sched_port}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ])  # fmt: skip
        procs["kwok"] = _start(state, "kwok", [
            exe["kwok"],
            f"--kubeconfig={kubeconfig}",
            f"--config={kwok_cfg}",
            "--manage-all-nodes=true",
            f"--server-address=127.0.0.1:{kwok_port}",
            "--node-ip=127.0.0.1",
            "--node-lease-duration-seconds=40",
            f"--cidr={POD_CIDR.replace('0.0/16', '0.1/16')}",
        ])  # fmt: skip

        def health(port: int) -> bool:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx, timeout=2) as r:
                return r.status == 200

        _wait("kube-controller-manager /healthz", lambda: health(kcm_port), 60, procs, state)
        _wait("kube-scheduler /healthz", lambda: health(sched_port), 60, procs, state)

        _seed(api, nodes, pv_sizes, state)

        def nodes_ready() -> bool:
            code, body = api.request("GET", "/api/v1/nodes")
            if code != 200:
                return False
            ready = 0
            for n in body.get("items", []):
                for c in n.get("status", {}).get("conditions", []) or []:
                    if c.get("type") == "Ready" and c.get("status") == "True":
                        ready += 1
            return ready >= nodes

        _wait(f"{nodes} Ready nodes (kwok)", nodes_ready, 60, procs, state)

        def default_sa() -> bool:
            code, _ = api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")
            return code == 200

        _wait("the default ServiceAccount (controller-manager)", default_sa, 60, procs, state)
    except BaseException:
        _stop_pids(_read_pids(state))
        raise
    return _info(state)


def _seed(api: _Api, nodes: int, pv_sizes: tuple[str, ...], state: Path) -> None:
    for i in range(nodes):
        name = f"kwok-node-{i}"
        zone = ZONES[i % len(ZONES)]
        api.create("/api/v1/nodes", {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/hostname": name,
                    "type": "kwok",
                    "topology.kubernetes.io/region": "local",
                    "topology.kubernetes.io/zone": zone,
                    "node.kubernetes.io/instance-type": "kwok",
                },
            },
            "spec": {},
            "status": {
                "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "250", "ephemeral-storage": "1Ti"},
                "capacity": {"cpu": "64", "memory": "256Gi", "pods": "250", "ephemeral-storage": "1Ti"},
            },
        })  # fmt: skip
    api.create("/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "standard",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
    })  # fmt: skip
    for i, size in enumerate(pv_sizes):
        api.create("/api/v1/persistentvolumes", {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"local-pv-{i:03d}", "labels": {"localcluster": "true"}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "standard",
                "volumeMode": "Filesystem",
                "hostPath": {"path": str(state / "volumes" / f"pv-{i:03d}"), "type": "DirectoryOrCreate"},
            },
        })  # fmt: skip


def _info(state: Path) -> ClusterInfo:
    meta = json.loads((state / "cluster.json").read_text())
    pki = state / "pki"
    return ClusterInfo(
        state_dir=state,
        kubeconfig=state / "kubeconfig",
        server=meta["server"],
        ca_file=pki / "ca.crt",
        cert_file=pki / "admin.crt",
        key_file=pki / "admin.key",
        ports=meta["ports"],
    )


def _mode_of(state: Path) -> str:
    try:
        return json.loads((state / "cluster.json").read_text()).get("mode", "kwok")
    except (OSError, ValueError):
        return "kwok"


def sandbox_image_archive() -> tuple[Path, str]:
    """containerd's sandbox (pause) image, built by images/ and converted once to an archive `ctr` imports."""
    from images import build as image_build
    from images.catalog import PAUSE_IMAGE

    built = image_build.build(PAUSE_IMAGE)
    out = _cache_root() / "node-images" / f"pause-{built.key}.tar"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        res = subprocess.run(["skopeo", "copy", "--quiet", built.oci_ref, f"docker-archive:{tmp}:{PAUSE_IMAGE}"],
                             capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise ClusterError(f"converting {PAUSE_IMAGE} for containerd failed: {res.stderr.strip()}")
        tmp.replace(out)
    return out, PAUSE_IMAGE


def _node_up(state: Path, bin_dir: Path | None, timeout: float, ingress_port: int | None,
             registry_port: int | None) -> ClusterInfo:
    from toolchain.node import cluster

    archive, image = sandbox_image_archive()
    kw: dict[str, Any] = {} if ingress_port is None else {"ingress_port": ingress_port}
    if registry_port is not None:
        kw["registry_port"] = registry_port
    return cluster.up(state, bin_dir, archive, image, timeout=max(timeout, 240.0), **kw)


def status(state_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Report which components run. ``running`` is True only if all of them do."""
    state = Path(state_dir) if state_dir is not None else default_state_dir()
    state = state.resolve()
    if _mode_of(state) == "node":
        from toolchain.node import cluster

        return cluster.status(state)
    pids = _read_pids(state) if state.exists() else {}
    comps: dict[str, dict[str, Any]] = {}
    for name in COMPONENTS:
        if name in pids:
            pid, exe = pids[name]
            comps[name] = {"pid": pid, "running": _pid_alive(pid) and _pid_matches(pid, exe)}
        else:
            comps[name] = {"pid": None, "running": False}
    running = all(c["running"] for c in comps.values())
    out: dict[str, Any] = {
        "state_dir": str(state),
        "running": running,
        "components": comps,
        "kubeconfig": str(state / "kubeconfig") if (state / "kubeconfig").exists() else None,
    }
    if (state / "cluster.json").exists():
        out["server"] = json.loads((state / "cluster.json").read_text())["server"]
    return out


def _is_state_dir(state: Path) -> bool:
    """Only directories made by `up` (or empty ones) are ever removed."""
    markers = ("cluster.json", "pids", "pki", "kwok.yaml", "kubeconfig", "etcd-data", "logs", "volumes")
    return all(p.name in markers for p in state.iterdir())


def down(state_dir: str | os.PathLike[str] | None = None) -> None:
    """Stop every process of the cluster (SIGTERM, then SIGKILL) and remove the state dir."""
    state = Path(state_dir) if state_dir is not None else default_state_dir()
    state = state.resolve()
    if not state.exists():
        return
    if state.is_dir() and _mode_of(state) == "node":
        from toolchain.node import cluster

        cluster.down(state)
        return
    if not state.is_dir() or not _is_state_dir(state):
        raise ClusterError(f"{state} does not look like a localcluster state dir; not touching it")
    _stop_pids(_read_pids(state))
    shutil.rmtree(state, ignore_errors=True)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m toolchain.localcluster", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("up", "down", "status", "hosts"))
    ap.add_argument("names", nargs="*", help="hosts: names that resolve to 127.0.0.1 until `down` (node mode)")
    ap.add_argument("--dir", default=None, help=f"state directory (default: {default_state_dir()})")
    ap.add_argument("--bin", default=None, help="directory with the binaries (default: the build.sh cache)")
    ap.add_argument("--mode", choices=MODES, default="node",
                    help="node: one real node in its own network namespace (root); kwok: simulated nodes (up)")
    ap.add_argument("--nodes", type=int, default=DEFAULT_NODES, help="number of fake nodes (up, kwok mode)")
    ap.add_argument("--ingress-port", type=int, default=None,
                    help="host loopback port for the ingress controller's HTTPS (up, node mode; default 443)")
    ap.add_argument("--json", action="store_true", help="print machine-readable output")
    args = ap.parse_intermixed_args(argv)  # `hosts --dir D NAME...` as well as `hosts NAME... --dir D`
    try:
        if args.command == "up":
            t0 = time.monotonic()
            info = up(args.dir, args.bin, nodes=args.nodes, mode=args.mode, ingress_port=args.ingress_port)
            if args.json:
                print(json.dumps({k: str(v) if isinstance(v, Path) else v
                                  for k, v in dataclasses.asdict(info).items()}))  # fmt: skip
            else:
                print(f"local cluster up in {time.monotonic() - t0:.0f}s: {info.server}")
                print(f"kubeconfig: {info.kubeconfig}")
                print(f"export KUBECONFIG={info.kubeconfig}")
        elif args.command == "hosts":
            from toolchain.node import hosts

            state = Path(args.dir).resolve() if args.dir else default_state_dir()
            if _mode_of(state) != "node" or not status(state)["running"]:
                raise ClusterError(f"no node cluster runs in {state}")
            hosts.add(state, args.names)
            print(f"/etc/hosts: {' '.join(args.names)} -> 127.0.0.1 (until `down`)")
        elif args.command == "down":
            down(args.dir)
            print("local cluster stopped")
        else:
            st = status(args.dir)
            if args.json:
                print(json.dumps(st))
            else:
                print("running" if st["running"] else "stopped")
                for name, c in st["components"].items():
                    print(f"  {name:24} {'running' if c['running'] else 'stopped'} (pid {c['pid']})")
                print(f"kubeconfig: {st['kubeconfig']}")
            return 0 if st["running"] else 3
    except ClusterError as e:
        print(f"localcluster: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
