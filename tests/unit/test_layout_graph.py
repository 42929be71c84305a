"""The assembled layout: Pro enrollment, runner namespaces, control plane, and graph-wide structural rules."""

from __future__ import annotations

import copy
import json

from tests.conftest import PRO_WORKSPACE, config, plan

CP = {"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.0.tgz"}}


def pro(name: str) -> dict:
    ws = copy.deepcopy(PRO_WORKSPACE)
    ws["name"] = name
    ws["pro"]["enrollmentKey"]["secretKeyRef"]["key"] = name
    return ws


def env_of(result, namespace: str) -> dict:
    [dep] = [r for r in result.of_type("kubernetes:apps/v1:Deployment") if r.inputs["metadata"]["namespace"] == namespace]
    return {e["name"]: e for e in dep.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_pro_workspace_enrollment_and_workload_manager(preview):
    result = plan(config(workspaces=[pro("team-a")], controlPlane=CP), preview)
    env = env_of(result, "zenml-team-a")
    assert env["ZENML_SERVER_DEPLOYMENT_TYPE"]["value"] == "cloud"
    assert env["ZENML_SERVER_PRO_API_URL"]["value"] == "https://zenml.zenml.example.com"
    assert env["ZENML_SERVER_PRO_WORKSPACE_ID"]["value"] == "0b6e5c7e-6f41-4a55-9d3c-1d1f8a1e0002"
    assert env["ZENML_SERVER_PRO_OAUTH2_AUDIENCE"]["value"] == "https://zenml.zenml.example.com"
    assert env["ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "zenml-enrollment", "key": "team-a"}
    assert env["ZENML_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE"]["value"] == "zenml-team-a-runners"
    assert env["ZENML_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT"]["value"] == "zenml-runner"
    assert env["ZENML_KUBERNETES_WORKLOAD_MANAGER_RUNNER_IMAGE"]["value"] == "registry.corp.internal:5000/zenmldocker/zenml:0.98.0-py3.11"
    assert json.loads(env["ZENML_KUBERNETES_WORKLOAD_MANAGER_POD_RESOURCES"]["value"])["limits"]["memory"] == "4Gi"
    assert env["REQUESTS_CA_BUNDLE"]["value"] == "/etc/zenml/trust/ca.crt"
    [dep] = result.of_type("kubernetes:apps/v1:Deployment")
    assert dep.inputs["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/zenml-pro-server:0.98.0")
    # The workload manager calls the Kubernetes API, so only then is a token mounted.
    assert dep.inputs["spec"]["template"]["spec"]["automountServiceAccountToken"] is True


def test_runner_namespace_is_isolated_and_least_privilege(preview):
    result = plan(config(workspaces=[pro("team-a")], controlPlane=CP), preview)
    ns = {r.inputs["metadata"]["name"]: r for r in result.of_type("kubernetes:core/v1:Namespace")}
    assert ns["zenml-team-a-runners"].inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    [role] = result.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    verbs = {(tuple(r["apiGroups"]), tuple(r["resources"])): set(r["verbs"]) for r in role.inputs["rules"]}
    assert verbs[(("",), ("pods",))] == {"create", "get", "list", "watch", "delete", "patch"}
    assert all("*" not in v for v in verbs.values())
    assert role.inputs["metadata"]["namespace"] == "zenml-team-a-runners"
    [binding] = result.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": "zenml-server", "namespace": "zenml-team-a"}]
    assert not result.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    [quota] = result.of_type("kubernetes:core/v1:ResourceQuota")
    assert quota.inputs["spec"]["hard"]["pods"] == "20"
    [limits] = result.of_type("kubernetes:core/v1:LimitRange")
    assert limits.inputs["spec"]["limits"][0]["default"] == {"cpu": "2", "memory": "4Gi"}
    policies = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["spec"]
                for r in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert ("zenml-team-a-runners", "default-deny") in policies
    egress = policies[("zenml-team-a-runners", "runner-egress")]["egress"]
    assert not any(p.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for rule in egress for p in rule.get("to", []))
    server_in = policies[("zenml-team-a", "zenml-server")]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "zenml-team-a-runners"}}} in server_in


def test_control_plane_release(preview):
    cfg = config(workspaces=[pro("team-a")], controlPlane=CP,
                 identityProvider={"type": "oidc", "oidc": {"discoveryUrl": "https://idp.corp/.well-known/openid-configuration",
                                                            "clientId": "zenml", "clientSecret": {"secure": "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=="}}})
    result = plan(cfg, preview)
    [release] = result.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["chart"] == "charts/zenml-pro-0.13.0.tgz"
    assert release.inputs["namespace"] == "zenml-control-plane"
    assert release.inputs["values"] == "[secret]"  # passwords and client secret live in values: all of it is secret
    assert "values" in release.secret_outputs
    [pg] = [r for r in result.of_type("kubernetes:apps/v1:StatefulSet") if r.inputs["metadata"]["namespace"] == "zenml-control-plane"]
    assert pg.inputs["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.corp.internal:5000/postgres:16.6"
    assert result.of_type("zenml-platform:database:PostgresDatabase")[0].name == "control-plane-postgres"
    # Workspaces and the control plane never share a database server.
    sts_namespaces = sorted(r.inputs["metadata"]["namespace"] for r in result.of_type("kubernetes:apps/v1:StatefulSet"))
    assert sts_namespaces == ["zenml-control-plane", "zenml-team-a"]


def test_adding_or_removing_a_workspace_changes_no_other_urn(preview):
    two = plan(config(workspaces=[{"name": "a"}, {"name": "b"}]), preview)
    one = plan(config(workspaces=[{"name": "a"}]), preview)
    three = plan(config(workspaces=[{"name": "a"}, {"name": "b"}, {"name": "c"}]), preview)
    urns = lambda r, ws: {x.urn for x in r.registrations if x.name.startswith(f"{ws}-") or x.name == ws}  # noqa: E731
    assert urns(one, "a") == urns(two, "a") == urns(three, "a")
    assert urns(two, "b") == urns(three, "b")
    shared = {x.urn for x in one.registrations} & {x.urn for x in three.registrations}
    assert shared == {x.urn for x in one.registrations}  # adding only adds
    added = {x.urn for x in three.registrations} - {x.urn for x in two.registrations}
    assert added and all(u.split("::")[-1] == "c" or u.split("::")[-1].startswith("c-") for u in added)


def test_components_use_three_part_tokens_and_every_resource_has_a_parent(preview):
    result = plan(config(workspaces=[pro("team-a"), {"name": "oss", "edition": "oss"}], controlPlane=CP), preview)
    for r in result.registrations:
        if not r.custom:
            parts = r.type.split(":")
            assert len(parts) == 3 and parts[0] == "zenml-platform", r.type
    roots = [r for r in result.registrations if r.custom and not r.type.startswith("pulumi:providers:")
             and (r.parent is None or r.parent.split("::")[2] == "pulumi:pulumi:Stack")]
    assert roots == [], [r.name for r in roots]


def test_kubernetes_resources_use_the_explicit_provider():
    result = plan(config())
    [provider] = result.of_type("pulumi:providers:kubernetes")
    # Registrations do not carry the provider reference, but a Kubernetes resource without one would make the
    # engine register a default provider: none may exist.
    assert provider.name == "kubernetes"
    assert [r for r in result.registrations if r.type.startswith("pulumi:providers:kubernetes")] == [provider]


def test_workload_manager_egress_to_the_api_server_is_pinned_when_known():
    cfg = config(workspaces=[pro("team-a")], controlPlane=CP, kubernetes={"apiServerCidrs": ["10.96.0.1/32"]})
    result = plan(cfg)
    [srv] = [r for r in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
             if r.inputs["metadata"]["name"] == "zenml-server"]
    egress = srv.inputs["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}],
            "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]} in egress
    assert not [rule for rule in egress if "to" not in rule]  # no rule open to every address


def test_airgapped_example_has_no_egress_outside_named_destinations():
    """Air-gapped: every egress rule names its destination (pods, namespaces or pinned CIDRs), none is open-ended."""
    from stack_config import load_stack_file

    cfg = load_stack_file("stacks/Pulumi.airgapped-kubernetes.yaml")
    result = plan(cfg, stack="airgapped-kubernetes")
    for r in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        for rule in r.inputs["spec"].get("egress", []):
            assert rule.get("to"), (r.name, rule)
            for peer in rule["to"]:
                cidr = peer.get("ipBlock", {}).get("cidr")
                assert cidr is None or not cidr.endswith("/0"), (r.name, rule)
    images = result.outputs["images"]
    assert images and all(v.startswith("registry.corp.internal:5000/zenml/") for v in images.values())
