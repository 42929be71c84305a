"""The node binaries against a real kube-apiserver, run the way a node runs them: host processes in the node's
network namespace, reading a client-certificate kubeconfig.

Marker `e2e`, root only. Everything happens in four throwaway network namespaces that the fixture creates and
always deletes: NODE (bridge br0 10.244.0.1/24, forwarding on; etcd, kube-apiserver, CoreDNS, Traefik,
kube-router), POD (10.244.0.5 on br0, an HTTP server on :8080), and two clients routed through NODE, ALLOW
(10.244.9.5) and DENY (10.244.8.5). Nothing touches the root namespace's addresses, routes or rules.

etcd and kube-apiserver come from the toolchain's `kubernetes`/`etcd` steps: the cache `bin/` of the current key,
or the directory in $TOOLCHAIN_CONTROL_PLANE_BIN. The checks run inside NODE (`python -m` this module), which
prints one JSON object of observations; the tests assert on it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.toolchain.test_node_binaries import BIN, ROOT, dns_query

pytestmark = pytest.mark.e2e

CONTROL_PLANE = Path(os.environ.get("TOOLCHAIN_CONTROL_PLANE_BIN") or BIN)
NODE_BINARIES = ("coredns", "traefik", "kube-router")
SERVICE_CIDR = "10.96.0.0/16"
POD_IP, ALLOWED_NET, DENIED_NET, NODE_IP = "10.244.0.5", "10.244.9", "10.244.8", "10.0.0.10"


# --------------------------------------------------------------------------- inside the NODE namespace

def _pki(d: Path) -> None:
    """A CA, an API server certificate for 127.0.0.1 and an admin client certificate (system:masters)."""
    d.mkdir(parents=True)

    def ossl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ossl("req", "-x509", *ec, "-days", "1", "-subj", "/CN=node-test-ca", "-keyout", "ca.key", "-out", "ca.crt")
    for name, subj, ext in (("apiserver", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                            ("admin", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth")):
        ossl("req", *ec, "-subj", subj, "-keyout", f"{name}.key", "-out", f"{name}.csr")
        (d / f"{name}.ext").write_text(ext + "\n")
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.crt")
    ossl("genrsa", "-out", "sa.key", "2048")
    ossl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
    for f in d.glob("*.key"):
        f.chmod(0o600)


class _Api:
    def __init__(self, server: str, pki: Path):
        self.server = server
        self.ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def call(self, method: str, path: str, body: dict | None = None, patch: bool = False) -> int:
        """The HTTP status of one request (bodies are not needed here; /readyz answers plain text)."""
        ctype = "application/merge-patch+json" if patch else "application/json"
        req = urllib.request.Request(self.server + path, method=method, headers={"Content-Type": ctype},
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def create(self, path: str, obj: dict) -> None:
        code = self.call("POST", path, obj)
        assert code == 201, f"POST {path} -> {code}"


def _checks(cp: Path, nb: Path, st: Path, pod_ns: str, allow_ns: str, deny_ns: str) -> dict:
    out: dict = {}
    procs: list[subprocess.Popen] = []

    def start(name: str, argv: list, env: dict | None = None) -> None:
        log = open(st / f"{name}.log", "wb")
        procs.append(subprocess.Popen([str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True))

    def wait(what: str, fn, timeout: float = 60.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                r = fn()
                if r:
                    return r
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{what}: not ready after {timeout}s")

    def probe(ns: str) -> str:
        code = (f"import socket\ntry:\n socket.create_connection(('{POD_IP}', 8080), timeout=1).close(); print('open')\n"
                "except OSError as e: print(type(e).__name__)")
        return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=15).stdout.strip()

    pki = st / "pki"
    _pki(pki)
    server = "https://127.0.0.1:6443"
    kubeconfig = st / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "node",
        "clusters": [{"name": "node", "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": "admin", "user": {"client-certificate": str(pki / "admin.crt"),
                                             "client-key": str(pki / "admin.key")}}],
        "contexts": [{"name": "node", "context": {"cluster": "node", "user": "admin"}}],
    }))
    kubeconfig.chmod(0o600)
    try:
        # The pod: an HTTP server in the POD namespace (bounded in time like everything here).
        start("pod", ["ip", "netns", "exec", pod_ns, "timeout", "300", sys.executable, "-c",
                      "import http.server\nclass H(http.server.BaseHTTPRequestHandler):\n"
                      " def do_GET(self):\n  b=('pod:'+self.path).encode(); self.send_response(200)\n"
                      "  self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)\n"
                      " def log_message(self,*a): pass\n"
                      f"http.server.ThreadingHTTPServer(('{POD_IP}', 8080), H).serve_forever()"])
        start("etcd", [cp / "etcd", f"--data-dir={st / 'etcd'}", "--listen-client-urls=http://127.0.0.1:2379",
                       "--advertise-client-urls=http://127.0.0.1:2379", "--listen-peer-urls=http://127.0.0.1:2380",
                       "--unsafe-no-fsync=true", "--log-level=warn"])
        wait("etcd", lambda: urllib.request.urlopen("http://127.0.0.1:2379/health", timeout=2).status == 200)
        start("kube-apiserver", [
            cp / "kube-apiserver", "--etcd-servers=http://127.0.0.1:2379", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", "--secure-port=6443", f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}", f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local", "--authorization-mode=Node,RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false"])
        api = _Api(server, pki)
        wait("kube-apiserver", lambda: api.call("GET", "/readyz") == 200, 120)
        wait("kubernetes Service", lambda: api.call("GET", "/api/v1/namespaces/default/services/kubernetes") == 200)

        # Objects a kubelet and controllers would otherwise produce.
        api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        api.create("/api/v1/namespaces/demo/serviceaccounts",
                   {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
        api.create("/api/v1/namespaces/demo/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"clusterIP": "10.96.0.50", "selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        api.create("/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
            "endpoints": [{"addresses": [POD_IP], "conditions": {"ready": True}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=web.demo.test",
                        "-addext", "subjectAltName=DNS:web.demo.test", "-keyout", st / "tls.key", "-out", st / "tls.crt"],
                       check=True, capture_output=True, timeout=60)
        api.create("/api/v1/namespaces/demo/secrets", {
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": "web-tls"},
            "data": {k: base64.b64encode((st / f).read_bytes()).decode()
                     for k, f in (("tls.crt", "tls.crt"), ("tls.key", "tls.key"))}})
        api.create("/apis/networking.k8s.io/v1/namespaces/demo/ingresses", {
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
            "spec": {"tls": [{"hosts": ["web.demo.test"], "secretName": "web-tls"}],
                     "rules": [{"host": "web.demo.test", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                               "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}})
        api.create("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}})
        assert api.call("PATCH", "/api/v1/nodes/node-a/status",
                        {"status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}}, patch=True) == 200
        api.create("/api/v1/namespaces/demo/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-a", "containers": [{"name": "web", "image": "registry.invalid/web:1"}]}})
        assert api.call("PATCH", "/api/v1/namespaces/demo/pods/web/status", {"status": {
            "phase": "Running", "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}],
            "podIP": POD_IP, "podIPs": [{"ip": POD_IP}]}}, patch=True) == 200

        # CoreDNS: the kubernetes plugin with the kubeconfig.
        (st / "Corefile").write_text(
            "cluster.local:1053 in-addr.arpa:1053 {\n    bind 127.0.0.1\n    errors\n    ready 127.0.0.1:18181\n"
            f"    kubernetes cluster.local in-addr.arpa {{\n        kubeconfig {kubeconfig} node\n"
            "        pods insecure\n        fallthrough in-addr.arpa\n    }\n    cache 30\n    loop\n    reload\n}\n")
        start("coredns", [nb / "coredns", "-conf", st / "Corefile"])
        wait("coredns /ready", lambda: urllib.request.urlopen("http://127.0.0.1:18181/ready", timeout=2).status == 200)
        out["dns"] = {name: [dns_query(1053, name)[0], [socket.inet_ntoa(a) for a in dns_query(1053, name)[1]]]
                      for name in ("kubernetes.default.svc.cluster.local", "web.demo.svc.cluster.local",
                                   "nosuch.demo.svc.cluster.local", "example.com")}

        # Traefik: kubernetesingress provider through $KUBECONFIG (no in-cluster variables).
        (st / "traefik.yaml").write_text(
            "entryPoints:\n  web:\n    address: '127.0.0.1:8000'\n  websecure:\n    address: '127.0.0.1:8443'\n"
            "    http:\n      tls: {}\n  traefik:\n    address: '127.0.0.1:9000'\n"
            "ping:\n  entryPoint: traefik\nproviders:\n  kubernetesIngress: {}\n"
            "global:\n  checkNewVersion: false\n  sendAnonymousUsage: false\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE_")}
        env["KUBECONFIG"] = str(kubeconfig)
        start("traefik", [nb / "traefik", f"--configFile={st / 'traefik.yaml'}"], env=env)
        wait("traefik ping", lambda: urllib.request.urlopen("http://127.0.0.1:9000/ping", timeout=2).status == 200)

        def http_get():
            req = urllib.request.Request("http://127.0.0.1:8000/plain", headers={"Host": "web.demo.test"})
            with urllib.request.urlopen(req, timeout=2) as r:
                return r.read().decode()

        out["traefik_http"] = wait("traefik routes the Ingress", http_get, 30)
        ctx = ssl.create_default_context(cafile=str(st / "tls.crt"))  # only the Secret's certificate is trusted

        def https_get():
            with socket.create_connection(("127.0.0.1", 8443), timeout=3) as s, \
                    ctx.wrap_socket(s, server_hostname="web.demo.test") as t:
                t.sendall(b"GET /secure HTTP/1.1\r\nHost: web.demo.test\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := t.recv(4096):
                    data += chunk
                return data.decode().rsplit("\r\n", 1)[-1]

        out["traefik_https"] = wait("traefik serves the Secret's certificate", https_get, 30)

        # kube-router: the firewall only, enforcing a NetworkPolicy on forwarded traffic.
        start("kube-router", [nb / "kube-router", f"--kubeconfig={kubeconfig}", "--hostname-override=node-a",
                              "--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
                              "--enable-cni=false", f"--service-cluster-ip-range={SERVICE_CIDR}",
                              "--health-port=20244", "--metrics-port=0"])
        wait("kube-router /healthz", lambda: urllib.request.urlopen("http://127.0.0.1:20244/healthz", timeout=2).status == 200)
        out["no_policy"] = [probe(allow_ns), probe(deny_ns)]
        api.create("/apis/networking.k8s.io/v1/namespaces/demo/networkpolicies", {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allowed-net-only"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"ipBlock": {"cidr": f"{ALLOWED_NET}.0/24"}}],
                                  "ports": [{"port": 8080, "protocol": "TCP"}]}]}})
        wait("policy enforced", lambda: probe(deny_ns) != "open", 60)
        out["policy"] = [probe(allow_ns), probe(deny_ns)]
        assert api.call("DELETE", "/apis/networking.k8s.io/v1/namespaces/demo/networkpolicies/allowed-net-only") == 200
        wait("policy lifted", lambda: probe(deny_ns) == "open", 60)
        out["policy_deleted"] = [probe(allow_ns), probe(deny_ns)]
    except Exception as e:  # report what failed with the logs' tails instead of a bare traceback
        out["error"] = f"{type(e).__name__}: {e}"
        out["logs"] = {f.stem: f.read_text(errors="replace")[-1500:] for f in st.glob("*.log")}
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return out


# --------------------------------------------------------------------------- the tests (root namespace)

NETNS_SETUP = rf"""
set -eu
S=$1 NODE=$2 POD=$3 AL=$4 DE=$5
for n in $NODE $POD $AL $DE; do ip netns add $n; ip -n $n link set lo up; done
ip -n $NODE link add br0 type bridge
ip -n $NODE addr add 10.244.0.1/24 dev br0
ip -n $NODE link set br0 up
ip -n $NODE addr add {NODE_IP}/32 dev lo
ip link add np$S type veth peer name nn$S
ip link set np$S netns $POD; ip link set nn$S netns $NODE
ip -n $POD link set np$S name eth0
ip -n $POD addr add {POD_IP}/24 dev eth0; ip -n $POD link set eth0 up
ip -n $POD route add default via 10.244.0.1
ip -n $NODE link set nn$S master br0; ip -n $NODE link set nn$S up
i=0
for spec in "$AL {ALLOWED_NET}" "$DE {DENIED_NET}"; do
  ns=${{spec% *}}; net=${{spec#* }}; i=$((i+1))
  ip link add c$i$S type veth peer name cn$i$S
  ip link set c$i$S netns $ns; ip link set cn$i$S netns $NODE
  ip -n $ns addr add $net.5/24 dev c$i$S; ip -n $ns link set c$i$S up; ip -n $ns route add default via $net.1
  ip -n $NODE addr add $net.1/24 dev cn$i$S; ip -n $NODE link set cn$i$S up
done
ip netns exec $NODE sysctl -qw net.ipv4.ip_forward=1
ip netns exec $NODE sysctl -qw net.bridge.bridge-nf-call-iptables=1
"""


@pytest.fixture(scope="module")
def observed(tmp_path_factory) -> dict:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, iptables)")
    for tool in ("ip", "iptables", "ipset", "openssl"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed: run toolchain/node-packages.sh")
    for name in ("etcd", "kube-apiserver"):
        if not os.access(CONTROL_PLANE / name, os.X_OK):
            pytest.skip(f"{name} not in {CONTROL_PLANE}: run toolchain/build.sh etcd kubernetes, "
                        "or set TOOLCHAIN_CONTROL_PLANE_BIN to a bin/ that has it")
    for name in NODE_BINARIES:
        if not os.access(BIN / name, os.X_OK):
            pytest.skip(f"{name} not built for this toolchain key: run toolchain/build.sh {name}")
    tag = f"{os.getpid() % 100000}"
    names = [f"nbt-{role}-{tag}" for role in ("node", "pod", "allow", "deny")]
    state = tmp_path_factory.mktemp("node-binaries-cluster")
    try:
        subprocess.run(["bash", "-c", NETNS_SETUP, "setup", tag, *names], check=True, capture_output=True, timeout=60)
        proc = subprocess.run(
            ["ip", "netns", "exec", names[0], sys.executable, "-m", "tests.toolchain.test_node_binaries_cluster",
             str(CONTROL_PLANE), str(BIN), str(state), *names[1:]],
            cwd=ROOT, capture_output=True, text=True, timeout=400)
    finally:
        for n in names:
            subprocess.run(["ip", "netns", "del", n], capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in result, json.dumps(result, indent=1)[-6000:]
    return result


def test_coredns_answers_for_the_cluster_from_the_api(observed):
    dns = observed["dns"]
    assert dns["kubernetes.default.svc.cluster.local"] == [0, ["10.96.0.1"]]
    assert dns["web.demo.svc.cluster.local"] == [0, ["10.96.0.50"]]
    assert dns["nosuch.demo.svc.cluster.local"] == [3, []]   # NXDOMAIN
    assert dns["example.com"] == [5, []]                      # REFUSED: not served, never forwarded


def test_traefik_serves_an_ingress_with_tls_from_its_secret(observed):
    assert observed["traefik_http"] == "pod:/plain"
    assert observed["traefik_https"] == "pod:/secure"  # the TLS handshake trusted only the Secret's certificate


def test_kube_router_enforces_a_network_policy(observed):
    assert observed["no_policy"] == ["open", "open"]
    assert observed["policy"] == ["open", "ConnectionRefusedError"]  # kube-router REJECTs what the policy denies
    assert observed["policy_deleted"] == ["open", "open"]


if __name__ == "__main__":
    control_plane, node_bin, state_dir, pod, allow, deny = sys.argv[1:7]
    print(json.dumps(_checks(Path(control_plane), Path(node_bin), Path(state_dir), pod, allow, deny)))
