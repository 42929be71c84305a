"""`pulumi up` of the `local` example stack with the real engine on the local simulated cluster.

Ordered: deploy, inspect through the Kubernetes API, no-op preview, state free of plaintext secrets, add a
workspace, destroy. Each later test builds on the deployed stack of the session.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

pytestmark = pytest.mark.e2e


def test_up_creates_the_workspace(deployed, kube):
    ns = kube.get("/api/v1/namespaces/zenml-default")
    assert ns is not None
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    dep = kube.get("/apis/apps/v1/namespaces/zenml-default/deployments/zenml-server")
    assert dep["status"].get("availableReplicas") == 1
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["runAsNonRoot"] is True
    sts = kube.get("/apis/apps/v1/namespaces/zenml-default/statefulsets/default-mariadb")
    assert sts["status"].get("readyReplicas") == 1
    jobs = kube.get("/apis/batch/v1/namespaces/zenml-default/jobs")["items"]
    migrations = [j for j in jobs if j["metadata"]["name"].startswith("zenml-migrate-0-98-0-")]
    assert len(migrations) == 1 and migrations[0]["status"].get("succeeded") == 1
    policies = {p["metadata"]["name"] for p in kube.get("/apis/networking.k8s.io/v1/namespaces/zenml-default/networkpolicies")["items"]}
    assert {"default-deny", "allow-dns", "zenml-server", "default-mariadb-clients"} <= policies
    ingress = kube.get("/apis/networking.k8s.io/v1/namespaces/zenml-default/ingresses/default-ingress")
    assert ingress["spec"]["tls"][0]["hosts"] == ["default.zenml.localhost"]


def test_outputs(deployed, pulumi):
    outputs = json.loads(pulumi.run("stack", "output", "--stack", "local", "--json").stdout)
    assert outputs["workspaces"]["default"]["url"] == "https://default.zenml.localhost"
    assert outputs["caBundle"].startswith("-----BEGIN CERTIFICATE-----")


def test_second_preview_reports_no_changes(deployed, pulumi):
    pulumi.run("preview", "--stack", "local", "--expect-no-changes", "--diff=false")


def test_state_holds_no_secret_in_plain_text(deployed, pulumi, kube):
    state = pulumi.run("stack", "export", "--stack", "local").stdout
    values = [v for v in kube.secret_values("zenml-default") if len(v) >= 16 and "BEGIN CERTIFICATE" not in v]
    assert values, "expected generated secrets in the namespace"
    for value in values:
        assert value not in state
    assert "PRIVATE KEY" not in state


def test_adding_a_workspace_creates_only_its_resources(deployed, pulumi, kube):
    path = pulumi.project / "stacks" / "Pulumi.local.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["zenml-platform:workspaces"].append({"name": "second"})
    path.write_text(yaml.safe_dump(doc))
    preview = json.loads(pulumi.run("preview", "--stack", "local", "--json").stdout)
    ops = {}
    for step in preview.get("steps", []):
        ops.setdefault(step["op"], []).append(step["urn"])
    changed = {op: urns for op, urns in ops.items() if op != "same"}
    assert set(changed) == {"create"}, {op: len(u) for op, u in changed.items()}
    assert all(u.rsplit("::", 1)[1].startswith("second") for u in changed["create"])
    pulumi.run("up", "--stack", "local", "--yes", "--skip-preview", "--diff=false")
    assert kube.get("/apis/apps/v1/namespaces/zenml-second/deployments/zenml-server")["status"].get("availableReplicas") == 1


def test_destroy_removes_everything_not_retained_by_design(deployed, pulumi, kube):
    pulumi.run("destroy", "--stack", "local", "--yes", "--skip-preview")
    deadline = time.time() + 180
    while time.time() < deadline and (kube.get("/api/v1/namespaces/zenml-default") or kube.get("/api/v1/namespaces/zenml-second")):
        time.sleep(2)
    assert kube.get("/api/v1/namespaces/zenml-default") is None
    assert kube.get("/api/v1/namespaces/zenml-second") is None
    resources = json.loads(pulumi.run("stack", "export", "--stack", "local").stdout)["deployment"].get("resources") or []
    assert [r for r in resources if r["type"] != "pulumi:pulumi:Stack"] == []
    # By design: database volumes outlive their claims (reclaim policy Retain on the cluster's volumes).
    volumes = kube.get("/api/v1/persistentvolumes")["items"]
    released = [v for v in volumes if (v["spec"].get("claimRef") or {}).get("namespace") in ("zenml-default", "zenml-second")]
    assert released and all(v["status"]["phase"] in ("Released", "Failed") for v in released)
