"""Smoke checks of the node binaries that `toolchain/build.sh node` builds (CoreDNS, kube-router, Traefik,
containerd 2.x): the version each reports, and a short real start where that is cheap.

Marker `e2e`: run with `.venv/bin/python -m pytest tests/toolchain -m e2e -q -p no:cacheprovider`. Nothing is
built here; a binary that is not in the cache for the current toolchain key is skipped with the command that
builds it. Every process listens on 127.0.0.1 only, on a free port, and is stopped at the end of its test.
"""

from __future__ import annotations

import http.server
import os
import random
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN = ROOT / "toolchain"

pytestmark = pytest.mark.e2e


NAMES = ("TOOLCHAIN_BIN", "COREDNS_VERSION", "KUBE_ROUTER_VERSION", "TRAEFIK_VERSION", "TRAEFIK_CODENAME",
         "CONTAINERD_VERSION")


def _versions() -> dict[str, str]:
    """The cache bin dir of the current toolchain key and the pinned versions, as toolchain/lib.sh sees them."""
    script = f". {TOOLCHAIN / 'lib.sh'} && for v in {' '.join(NAMES)}; do printf '%s=%s\\n' \"$v\" \"${{!v}}\"; done"
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


VERSIONS = _versions()
BIN = Path(VERSIONS["TOOLCHAIN_BIN"])


def binary(name: str, step: str) -> Path:
    path = BIN / name
    if not os.access(path, os.X_OK):
        pytest.skip(f"{name} not built for this toolchain key: run toolchain/build.sh {step}")
    return path


def run(*args: str | Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A background process with its output in a file; stopped (TERM, then KILL) on exit."""

    def __init__(self, args: list[str | Path], log: Path, env: dict[str, str] | None = None):
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen([str(a) for a in args], stdout=self._out, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()


def wait_for(check, what: str, daemon: Daemon, timeout: float = 20.0):
    """Call check() until it returns a true value; bounded in time, fails with the daemon's log."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if daemon.proc.poll() is not None:
            pytest.fail(f"{what}: process exited with {daemon.proc.returncode}:\n{daemon.output()[-3000:]}")
        try:
            result = check()
            if result:
                return result
        except (OSError, urllib.error.URLError) as e:
            last = e
        time.sleep(0.2)
    pytest.fail(f"{what}: not ready after {timeout}s (last error: {last}):\n{daemon.output()[-3000:]}")


# --- a bounded DNS client (one UDP query, one-second socket timeout) ---------------------------------

def _skip_name(msg: bytes, i: int) -> int:
    while True:
        n = msg[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def dns_query(port: int, name: str, qtype: int = 1) -> tuple[int, list[bytes]]:
    """Ask 127.0.0.1:port for name; return (rcode, [rdata of each answer of that type])."""
    qid = random.randrange(0x10000)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.sendto(packet, ("127.0.0.1", port))
        msg, _ = s.recvfrom(4096)
    rid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    assert rid == qid, "DNS answer for another query"
    i = 12
    for _ in range(qd):
        i = _skip_name(msg, i) + 4
    answers = []
    for _ in range(an):
        i = _skip_name(msg, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        i += 10
        if rtype == qtype:
            answers.append(msg[i:i + rdlen])
        i += rdlen
    return flags & 0xF, answers


# --- CoreDNS -------------------------------------------------------------------------------------------

def test_coredns_version_and_plugins():
    coredns = binary("coredns", "coredns")
    out = run(coredns, "-version")
    assert out.returncode == 0, out.stderr
    assert f"CoreDNS-{VERSIONS['COREDNS_VERSION'].lstrip('v')}" in out.stdout
    plugins = run(coredns, "-plugins").stdout.split()
    for needed in ("kubernetes", "hosts", "cache", "errors", "health", "ready", "loop", "reload", "log"):
        assert needed in plugins, f"{needed} missing from: {plugins}"
    # The slim build: nothing that forwards out of the cluster, no cloud back ends.
    for absent in ("forward", "route53", "azure", "clouddns", "etcd", "grpc"):
        assert absent not in plugins


def test_coredns_serves_a_hosts_zone(tmp_path):
    coredns = binary("coredns", "coredns")
    port, health = free_port(socket.SOCK_DGRAM), free_port()
    (tmp_path / "hosts").write_text("10.96.7.8 web.node.test\n")
    (tmp_path / "Corefile").write_text(
        f"node.test:{port} {{\n"
        "    bind 127.0.0.1\n"
        f"    hosts {tmp_path / 'hosts'}\n"
        f"    health 127.0.0.1:{health}\n"
        "    errors\n"
        "}\n"
    )
    with Daemon([coredns, "-conf", tmp_path / "Corefile"], tmp_path / "coredns.log") as d:
        rcode, answers = wait_for(lambda: dns_query(port, "web.node.test"), "coredns answers", d)
        assert rcode == 0
        assert answers == [socket.inet_aton("10.96.7.8")]
        # A name the hosts file does not have: no plugin after hosts and no forward, so SERVFAIL
        # ("no next plugin found") and no answer, never a query sent anywhere else.
        rcode, answers = dns_query(port, "missing.node.test")
        assert (rcode, answers) == (2, [])
        with urllib.request.urlopen(f"http://127.0.0.1:{health}/health", timeout=2) as r:
            assert r.status == 200


def test_coredns_refuses_a_plugin_left_out(tmp_path):
    coredns = binary("coredns", "coredns")
    (tmp_path / "Corefile").write_text(f".:{free_port(socket.SOCK_DGRAM)} {{\n    bind 127.0.0.1\n    forward . 127.0.0.1\n}}\n")
    out = run(coredns, "-conf", tmp_path / "Corefile", timeout=20)
    assert out.returncode != 0
    assert "no action found for directive 'forward'" in out.stderr


# --- kube-router (NetworkPolicy firewall only) ------------------------------------------------------------

def test_kube_router_version_and_flags():
    kube_router = binary("kube-router", "kube-router")
    out = run(kube_router, "--version")
    assert out.returncode == 0, out.stderr
    assert VERSIONS["KUBE_ROUTER_VERSION"] in out.stdout + out.stderr
    help_text = run(kube_router, "--help")
    text = help_text.stdout + help_text.stderr
    for flag in ("--run-firewall", "--run-router", "--run-service-proxy", "--kubeconfig", "--hostname-override"):
        assert flag in text, f"{flag} not in kube-router --help"


# --- Traefik ------------------------------------------------------------------------------------------------

def test_traefik_version():
    traefik = binary("traefik", "traefik")
    out = run(traefik, "version")
    assert out.returncode == 0, out.stderr
    assert VERSIONS["TRAEFIK_VERSION"].lstrip("v") in out.stdout
    assert VERSIONS["TRAEFIK_CODENAME"] in out.stdout


def test_traefik_routes_with_the_file_provider(tmp_path):
    traefik = binary("traefik", "traefik")

    class Backend(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = f"backend saw {self.path} host={self.headers['Host']}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    web, ping = free_port(), free_port()
    (tmp_path / "dynamic.yaml").write_text(
        "http:\n"
        "  routers:\n"
        "    app:\n"
        "      rule: Host(`app.node.test`)\n"
        "      entryPoints: [web]\n"
        "      service: app\n"
        "  services:\n"
        "    app:\n"
        "      loadBalancer:\n"
        f"        servers: [{{url: 'http://127.0.0.1:{backend.server_address[1]}'}}]\n"
    )
    (tmp_path / "traefik.yaml").write_text(
        "entryPoints:\n"
        f"  web: {{address: '127.0.0.1:{web}'}}\n"
        f"  traefik: {{address: '127.0.0.1:{ping}'}}\n"
        "ping: {entryPoint: traefik}\n"
        f"providers:\n  file: {{filename: '{tmp_path / 'dynamic.yaml'}'}}\n"
        "global: {checkNewVersion: false, sendAnonymousUsage: false}\n"
        "log: {level: INFO}\n"
    )

    def get(host: str) -> tuple[int, str]:
        req = urllib.request.Request(f"http://127.0.0.1:{web}/hello", headers={"Host": host})
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""

    try:
        with Daemon([traefik, f"--configFile={tmp_path / 'traefik.yaml'}"], tmp_path / "traefik.log") as d:
            wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{ping}/ping", timeout=2).status == 200,
                     "traefik ping", d)
            status, body = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(get("app.node.test")),
                                    "traefik routes app.node.test", d)
            assert body == "backend saw /hello host=app.node.test"
            assert get("other.node.test")[0] == 404
    finally:
        backend.shutdown()
        backend.server_close()


# --- containerd 2.x ------------------------------------------------------------------------------------------

def test_containerd_versions():
    version = VERSIONS["CONTAINERD_VERSION"]
    out = run(binary("containerd", "containerd"), "--version")
    assert out.returncode == 0, out.stderr
    assert f"github.com/containerd/containerd/v2 {version}" in out.stdout
    shim = run(binary("containerd-shim-runc-v2", "containerd"), "-v")
    assert version in shim.stdout, shim.stdout + shim.stderr
    ctr = run(binary("ctr", "containerd"), "--version")
    assert version in ctr.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="containerd and runc need root")
def test_containerd_runs_a_container_with_debian_runc(tmp_path):
    """containerd 2.x with its CRI plugin loaded, then one real container (shim + Debian's runc, cgroup v1)."""
    containerd = binary("containerd", "containerd")
    ctr = binary("ctr", "containerd")
    binary("containerd-shim-runc-v2", "containerd")
    if not os.access("/usr/sbin/runc", os.X_OK):
        pytest.skip("runc not installed: run toolchain/node-packages.sh")
    sock = tmp_path / "containerd.sock"
    # Config version 4 (containerd 2.4): the socket addresses live in the grpc/ttrpc plugin sections.
    (tmp_path / "config.toml").write_text(
        "version = 4\n"
        f"root = '{tmp_path / 'root'}'\n"
        f"state = '{tmp_path / 'state'}'\n"
        f"[plugins.'io.containerd.server.v1.grpc']\n  address = '{sock}'\n"
        f"[plugins.'io.containerd.server.v1.ttrpc']\n  address = '{sock}.ttrpc'\n"
        f"[plugins.'io.containerd.cri.v1.runtime'.cni]\n  bin_dirs = ['/usr/lib/cni']\n  conf_dir = '{tmp_path / 'net.d'}'\n"
    )
    # The payload: a static binary of ours in a bare rootfs directory (no image, nothing pulled).
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "bin" / "coredns").write_bytes(binary("coredns", "coredns").read_bytes())
    (rootfs / "bin" / "coredns").chmod(0o755)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}  # containerd finds the shim on PATH
    with Daemon([containerd, "--config", tmp_path / "config.toml"], tmp_path / "containerd.log", env=env) as d:
        out = wait_for(lambda: (lambda p: p if p.returncode == 0 else None)(run(ctr, "--address", sock, "version")),
                       "containerd answers ctr", d)
        assert f"Version:  {VERSIONS['CONTAINERD_VERSION']}" in out.stdout.split("Server:")[1]
        status = {tuple(line.split()[:2]): line.split()[-1]
                  for line in run(ctr, "--address", sock, "plugins", "ls").stdout.splitlines()[1:]}
        for plugin in (("io.containerd.snapshotter.v1", "overlayfs"), ("io.containerd.cri.v1", "runtime"),
                       ("io.containerd.grpc.v1", "cri"), ("io.containerd.runtime.v2", "task")):
            assert status.get(plugin) == "ok", (plugin, status.get(plugin))
        ns = f"i9go-test-{os.getpid()}"
        res = run(ctr, "--address", sock, "--namespace", ns, "run", "--rm", "--rootfs", rootfs,
                  "--runc-root", tmp_path / "runc", "--fifo-dir", tmp_path / "fifo",
                  "smoke", "/bin/coredns", "-version", timeout=90)
        assert res.returncode == 0, res.stdout + res.stderr + d.output()[-3000:]
        assert res.stdout.startswith("CoreDNS-")
        run(ctr, "--address", sock, "namespaces", "remove", ns)
