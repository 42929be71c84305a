"""`pulumi up` of `local` on the real node, and the deployed platform used as a user would.

Ordered, sharing one deployment: pods Ready by their own probes with the migration first and images from
the mirror; HTTPS through the ingress controller verified against the stack's CA; the ZenML client logs in
with the generated admin and runs a pipeline, visible through the API and in the database; NetworkPolicies
enforced; pods restarted without losing the run; no-op preview; destroy.

    sudo .venv/bin/python -m pytest -m e2e tests/node -p no:cacheprovider
"""

from __future__ import annotations

import json
import ssl
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.node.harness import HealthPoller, run_client

pytestmark = pytest.mark.e2e

NS = "zenml-default"
HOST = "default.zenml.localhost"
VERSION = "0.98.0"

PIPELINE = """
from zenml import pipeline, step
from zenml.client import Client

@step
def make_number() -> int:
    return 41

@step
def add_one(x: int) -> int:
    return x + 1

@pipeline(enable_cache=False)
def node_smoke():
    add_one(make_number())

run = node_smoke()
run = Client().get_pipeline_run(run.id)
print("RUN", run.id, run.status)
"""


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pods(kube, namespace: str) -> list[dict]:
    return kube.get(f"/api/v1/namespaces/{namespace}/pods")["items"]


def _servers(kube, namespace: str = NS) -> list[dict]:
    """The server's pods (not the migration Job's, which carry the same name label), running or starting."""
    return [p for p in _pods(kube, namespace)
            if p["metadata"]["labels"].get("app.kubernetes.io/name") == "zenml-server"
            and p["metadata"]["labels"].get("app.kubernetes.io/component") != "migration"
            and p["status"]["phase"] in ("Running", "Pending")]


def _ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def _db_pod(kube, namespace: str = NS) -> dict:
    pods = [p for p in _pods(kube, namespace)
            if p["metadata"]["labels"].get("app.kubernetes.io/name") in ("mysql", "mariadb")]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    return pods[0]


def _sql(node, kube, query: str, namespace: str = NS) -> str:
    pod = _db_pod(kube, namespace)
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    root = next(n for n in env if n.endswith("ROOT_PASSWORD"))
    database = next(e["value"] for n, e in env.items() if n.endswith("_DATABASE"))
    client = "mariadb" if pod["metadata"]["labels"]["app.kubernetes.io/name"] == "mariadb" else "mysql"
    script = f'{client} -uroot -p"${root}" -N -B -h 127.0.0.1 "{database}" -e "$Q"'
    out = node.kubectl("exec", "-n", namespace, pod["metadata"]["name"], "-c", pod["spec"]["containers"][0]["name"],
                       "--", "env", f"Q={query}", "sh", "-c", script)
    return out.stdout.strip()


def _wait(what: str, check, timeout: float = 300, interval: float = 2.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            res = check()
            if res:
                return res
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


@pytest.fixture(scope="module")
def ca_file(deployed, node_dir) -> Path:
    path = node_dir / "zenml-ca.pem"
    path.write_text(deployed["outputs"]["caBundle"])
    return path


@pytest.fixture(scope="module")
def admin(deployed) -> tuple[str, str]:
    creds = deployed["outputs"]["adminCredentials"]["default"]
    return creds["username"], creds["password"]


def test_pods_ready_by_their_probes_migration_first_images_from_the_mirror(deployed, kube, node, pushed):
    pods = _pods(kube, NS)
    running = [p for p in pods if p["status"]["phase"] == "Running"]
    assert running and all(_ready(p) for p in running), [(p["metadata"]["name"], p["status"]["phase"]) for p in pods]
    for p in running:
        for c in p["spec"]["containers"]:
            assert c.get("readinessProbe"), f"{p['metadata']['name']}/{c['name']} has no readiness probe"
    jobs = kube.get(f"/apis/batch/v1/namespaces/{NS}/jobs")["items"]
    [migration] = [j for j in jobs if j["metadata"]["name"].startswith("zenml-migrate-0-98-0-")]
    assert migration["status"].get("succeeded") == 1
    finished = _ts(migration["status"]["completionTime"])
    servers = [p for p in running if p["metadata"]["labels"].get("app.kubernetes.io/name") == "zenml-server"]
    assert servers
    for p in servers:
        started = _ts(p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
        assert started >= finished, f"server started {started} before the migration finished {finished}"
        # The server really runs as the image's non-root user with a read-only root filesystem.
        out = node.kubectl("exec", "-n", NS, p["metadata"]["name"], "--", "python3", "-c",
                           "import os; open('/zenml/.zenconfig/probe','w').write('x');\n"
                           "try:\n    open('/probe','w')\nexcept OSError as e:\n    print('RO', e.errno)\n"
                           "print('UID', os.getuid())").stdout
        assert "UID 1000" in out and "RO 30" in out, out
    print(f"node memory with one workspace running: {node.memory_mib():.0f} MiB resident")
    images = node.containerd_images()
    for pushed_image in pushed:
        in_node = node.mirror + pushed_image.destination[len(node.registry):]
        assert in_node in images, (in_node, images)
    for p in running:
        for c in p["spec"]["containers"]:
            assert c["image"].startswith(node.mirror + "/"), c["image"]


def test_https_through_the_ingress_verified_against_the_stack_ca(deployed, node):
    ca = deployed["outputs"]["caBundle"]
    status, body, cert = _wait("the ingress to route the workspace host",
                               lambda: (r := node.https(HOST, "/health", ca)) and r[0] == 200 and r, timeout=120)
    assert body.strip().strip(b'"').lower() == b"ok", body
    names = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    assert HOST in names, names
    with pytest.raises(ssl.SSLCertVerificationError):
        node.https(HOST, "/health", Path(__file__).resolve().parents[1].joinpath("data", "example-ca.pem").read_text())


def test_client_logs_in_and_runs_a_pipeline(deployed, kube, node, node_dir, ca_file, admin):
    url = deployed["outputs"]["workspaces"]["default"]["url"]
    proc = run_client(VERSION, node_dir / "client", url, admin[0], admin[1], ca_file, PIPELINE)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RUN ")][-1]
    _, run_id, status = line.split()
    assert status.endswith("completed"), line
    (node_dir / "run-id").write_text(run_id)
    check = run_client(VERSION, node_dir / "client", url, admin[0], admin[1], ca_file,
                       f"from zenml.client import Client; print(Client().get_pipeline_run('{run_id}').status)")
    assert check.returncode == 0 and "completed" in check.stdout, check.stderr[-3000:]
    assert _sql(node, kube, f"SELECT COUNT(*) FROM pipeline_run WHERE id='{run_id.replace('-', '')}'") == "1"
    wrong = run_client(VERSION, node_dir / "client-wrong", url, admin[0], "not-the-password", ca_file,
                       "from zenml.client import Client; Client().active_user")
    assert wrong.returncode != 0


def test_printed_login_instructions_work_as_printed(deployed, pulumi, node_dir, ca_file):
    """What `make deploy-local` prints, run verbatim in a shell: the non-browser login reaches the server."""
    import importlib.util
    import os
    import subprocess

    from tests.e2e.harness import ROOT
    from tests.node.harness import zenml_python

    spec = importlib.util.spec_from_file_location("login_instructions", ROOT / "scripts" / "login_instructions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    outputs = {k: v for k, v in deployed["outputs"].items() if k != "adminCredentials"}  # what deploy-local reads
    lines = mod.instructions(outputs, str(ca_file), "local", VERSION)
    start = lines.index("  or, without a browser:") + 1
    commands = [ln.strip() for ln in lines[start:start + 3]]
    assert commands[-1] == "zenml status", commands
    home = node_dir / "printed-login"
    home.mkdir()
    env = {**pulumi.env, "HOME": str(home), "ZENML_CONFIG_PATH": str(home / "zenconfig"),
           "PATH": f"{zenml_python(VERSION).parent}{os.pathsep}{pulumi.env['PATH']}", "ZENML_ANALYTICS_OPT_IN": "false"}
    reveal = commands[1].split('"$(', 1)[1].rsplit(')"', 1)[0]
    pw = subprocess.run(["bash", "-c", reveal], env=env, cwd=home, capture_output=True, text=True, timeout=120)
    assert pw.returncode == 0 and pw.stdout.strip(), f"the printed password command failed: {pw.stderr[-2000:]}"
    import hmac

    same = hmac.compare_digest(pw.stdout.strip(), str(deployed["outputs"]["adminCredentials"]["default"]["password"]))
    assert same, "the printed password command returned another password than the stack's output"
    proc = subprocess.run(["bash", "-c", "set -e\n" + "\n".join(commands)], env=env, cwd=home, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "default.zenml.localhost" in out and "admin" in out, out[-4000:]


def test_network_policies_are_enforced(deployed, kube, node, pulumi):
    server = _servers(kube)[0]
    image = server["spec"]["containers"][0]["image"]
    db_host = f"{_db_pod(kube)['metadata']['name'].rsplit('-', 1)[0]}.{NS}.svc.cluster.local"
    connect = (
        "import socket, sys\n"
        f"addr = socket.getaddrinfo('{db_host}', 3306, socket.AF_INET)[0][4]\n"
        "print('DNS', addr[0])\n"
        # The enforcer learns a new pod's address within seconds: try for 20 s (bounded), so a pod that may
        # connect does, and one that may not has had time to be blocked by its own rules, not by a race.
        "import time\n"
        "last = None\n"
        "for _ in range(20):\n"
        "    s = socket.socket(); s.settimeout(2)\n"
        "    try:\n        s.connect(addr); print('CONNECTED'); break\n"
        "    except OSError as e:\n        last = type(e).__name__; time.sleep(1)\n"
        "    finally:\n        s.close()\n"
        "else:\n    print('BLOCKED', last)\n"
    )
    phase, logs = node.probe_pod(NS, "probe-unlabelled", image, connect)
    assert "DNS " in logs, logs  # allow-dns lets every pod resolve names
    assert "BLOCKED" in logs and "CONNECTED" not in logs, logs
    # Positive control: a pod with the database's client labels gets through.
    client_labels = {k: v for k, v in server["metadata"]["labels"].items() if k != "pod-template-hash"}
    phase, logs = node.probe_pod(NS, "probe-client", image, connect, labels=client_labels)
    assert "CONNECTED" in logs, logs
    # A second workspace: its server cannot reach the first workspace's database.
    path = pulumi.project / "stacks" / "Pulumi.local.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["zenml-platform:workspaces"].append(
        {"name": "second", "database": {"inCluster": {"engine": "mariadb", "storageSize": "1Gi"}}})
    path.write_text(yaml.safe_dump(doc))
    pulumi.run("up", "--stack", "local", "--yes", "--skip-preview", "--diff=false", timeout=1500)
    second = _servers(kube, "zenml-second")
    assert second and _ready(second[0])
    second_labels = {k: v for k, v in second[0]["metadata"]["labels"].items() if k != "pod-template-hash"}
    phase, logs = node.probe_pod("zenml-second", "probe-cross", image, connect, labels=second_labels)
    assert "BLOCKED" in logs and "CONNECTED" not in logs, logs


def test_pods_come_back_after_deletion_and_the_run_is_kept(deployed, kube, node, node_dir, ca_file, admin):
    run_id = (node_dir / "run-id").read_text().strip()
    url = deployed["outputs"]["workspaces"]["default"]["url"]
    for label in ("zenml-server", None):
        pod = _db_pod(kube) if label is None else _servers(kube)[0]
        uid = pod["metadata"]["uid"]

        def back(label=label, uid=uid):
            same = _servers(kube) if label else [_db_pod(kube)]
            pods = [p for p in same if p["metadata"]["uid"] != uid]
            return pods and all(_ready(p) for p in pods)

        with HealthPoller(node, HOST, ca_file.read_text(), limit=400, interval=0.5) as health:
            node.kubectl("delete", "pod", "-n", NS, pod["metadata"]["name"], "--wait=true", timeout=180)
            _wait(f"a new Ready {pod['metadata']['labels']['app.kubernetes.io/name']} pod", back, timeout=300)
            answered = health.until_ok(timeout=60)
        if label:
            # While no server pod is Ready the ingress says the service is unavailable (503), never that the host
            # is unknown (404): clients and load balancers retry a 503 and give up on a 404.
            print(f"\nthrough the ingress while the server pod restarted: {health.failures()}")
            assert answered and "404" not in health.seen and "503" in health.seen, health.failures()
    proc = _wait("the server to answer after the restarts", lambda: (r := run_client(
        VERSION, node_dir / "client", url, admin[0], admin[1], ca_file,
        f"from zenml.client import Client; print(Client().get_pipeline_run('{run_id}').status)")).returncode == 0 and r,
        timeout=240, interval=5)
    assert "completed" in proc.stdout


def test_no_op_preview_then_destroy(deployed, pulumi, kube):
    pulumi.run("preview", "--stack", "local", "--expect-no-changes", "--diff=false")
    pulumi.run("destroy", "--stack", "local", "--yes", "--skip-preview", timeout=900)
    _wait("the workspace namespaces to go", lambda: not kube.get(f"/api/v1/namespaces/{NS}")
          and not kube.get("/api/v1/namespaces/zenml-second"), timeout=300)
    resources = json.loads(pulumi.run("stack", "export", "--stack", "local").stdout)["deployment"].get("resources") or []
    assert [r for r in resources if r["type"] != "pulumi:pulumi:Stack"] == []
    volumes = kube.get("/api/v1/persistentvolumes")["items"]
    released = [v for v in volumes if (v["spec"].get("claimRef") or {}).get("namespace") in (NS, "zenml-second")]
    assert released and all(v["status"]["phase"] in ("Released", "Failed") for v in released)
