"""The assembled layout: Pro enrollment, runner namespaces, control plane, and graph-wide structural rules."""

from __future__ import annotations

import copy
import json

from tests.conftest import PRO_WORKSPACE, config, plan

CP = {"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.12.tgz"}}


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
    # Self-hosted control plane: the API lives under /api/v1 (the server calls {api_url}/auth/login).
    assert env["ZENML_SERVER_PRO_API_URL"]["value"] == "https://zenml.zenml.example.com/api/v1"
    assert env["ZENML_SERVER_PRO_DASHBOARD_URL"]["value"] == "https://zenml.zenml.example.com"
    assert env["ZENML_SERVER_PRO_WORKSPACE_ID"]["value"] == "0b6e5c7e-6f41-4a55-9d3c-1d1f8a1e0002"
    assert env["ZENML_SERVER_PRO_OAUTH2_AUDIENCE"]["value"] == "https://zenml.zenml.example.com/api/v1"
    assert env["ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "zenml-enrollment", "key": "team-a"}
    assert env["ZENML_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE"]["value"] == "zenml-team-a-runners"
    assert env["ZENML_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT"]["value"] == "zenml-runner"
    assert env["ZENML_KUBERNETES_WORKLOAD_MANAGER_RUNNER_IMAGE"]["value"] == "registry.corp.internal:5000/zenmldocker/zenml:0.98.0-py3.11"
    assert json.loads(env["ZENML_KUBERNETES_WORKLOAD_MANAGER_POD_RESOURCES"]["value"])["limits"]["memory"] == "4Gi"
    assert env["REQUESTS_CA_BUNDLE"]["value"] == "/etc/zenml/ca-bundle/ca-bundle.crt"  # system trust + the stack's CA
    [dep] = result.of_type("kubernetes:apps/v1:Deployment")
    assert dep.inputs["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/zenml-pro-server:0.98.0")
    # The workload manager calls the Kubernetes API, so only then is a token mounted.
    assert dep.inputs["spec"]["template"]["spec"]["automountServiceAccountToken"] is True


def test_images_to_mirror_name_zenmls_documented_registries():
    """docs.zenml.io Pro prerequisites: zenml-pro-server in ECR eu-central-1, API and dashboard in eu-west-1."""
    from cli_app.images import image_list

    cfg = config(workspaces=[pro("team-a")], controlPlane=CP)
    sources = {src.rpartition(":")[0] for src, _ in image_list(cfg, "test")}
    assert "715803424590.dkr.ecr.eu-central-1.amazonaws.com/zenml-pro-server" in sources
    assert "715803424590.dkr.ecr.eu-west-1.amazonaws.com/zenml-pro-api" in sources
    assert "715803424590.dkr.ecr.eu-west-1.amazonaws.com/zenml-pro-dashboard" in sources
    assert not any(s.endswith("eu-west-1.amazonaws.com/zenml-pro-server") for s in sources)


def test_hosted_control_plane_api_url_has_no_suffix(preview):
    result = plan(config(scenario="hybrid", workspaces=[pro("team-a")]), preview)
    env = env_of(result, "zenml-team-a")
    assert env["ZENML_SERVER_PRO_API_URL"]["value"] == "https://cloudapi.zenml.io"
    assert env["ZENML_SERVER_PRO_OAUTH2_AUDIENCE"]["value"] == "https://cloudapi.zenml.io"


def test_ca_bundle_adds_the_stacks_and_corporate_cas_to_the_system_trust(tmp_path, preview):
    """REQUESTS_CA_BUNDLE replaces requests' trust store: the file it names must hold the system CAs (certifi, what
    requests uses without it) and the extra ones. The rendered init container's command is run here, with this
    venv's python, against the rendered trust ConfigMap content."""
    import subprocess
    import sys

    import certifi

    from tests.conftest import EXAMPLE_CA

    cfg = config(workspaces=[{"name": "alpha"}], tls={"trustedCaCertificates": EXAMPLE_CA})
    result = plan(cfg, preview)
    [dep] = result.of_type("kubernetes:apps/v1:Deployment")
    pod = dep.inputs["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"] if "value" in e}
    [init] = pod["initContainers"]
    bundle = env["REQUESTS_CA_BUNDLE"]
    assert env["SSL_CERT_FILE"] == bundle
    assert init["command"][3] == bundle and init["image"] == pod["containers"][0]["image"]
    [job] = result.of_type("kubernetes:batch/v1:Job")
    assert job.inputs["spec"]["template"]["spec"]["initContainers"] == [init]
    if preview:
        return
    [trust] = [r for r in result.of_type("kubernetes:core/v1:ConfigMap") if r.inputs["metadata"]["name"] == "zenml-server-trust"]
    assert trust.inputs["data"]["ca.crt"].strip() == EXAMPLE_CA.strip()  # no control plane: only the corporate CA
    extra = tmp_path / "ca.crt"
    extra.write_text(trust.inputs["data"]["ca.crt"])
    out = tmp_path / "bundle.crt"
    run = subprocess.run([sys.executable, "-c", init["command"][2], str(out), str(extra)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    assert open(certifi.where()).read().strip() in text  # the system trust is still there
    assert EXAMPLE_CA.strip() in text
    assert text.count("BEGIN CERTIFICATE") > 100


def test_runner_namespace_is_isolated_and_least_privilege(preview):
    result = plan(config(workspaces=[pro("team-a")], controlPlane=CP), preview)
    ns = {r.inputs["metadata"]["name"]: r for r in result.of_type("kubernetes:core/v1:Namespace")}
    assert ns["zenml-team-a-runners"].inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    [role] = result.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    verbs = {(tuple(r["apiGroups"]), tuple(r["resources"])): set(r["verbs"]) for r in role.inputs["rules"]}
    # Exactly the documented least privilege (docs.zenml.io, deploy-workspace-snapshots): nothing more.
    assert verbs == {
        (("batch",), ("jobs",)): {"create", "get", "deletecollection"},
        (("",), ("pods",)): {"list"},
        (("",), ("pods/log",)): {"get"},
    }
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


def test_allow_internet_never_opens_private_or_link_local_ranges(preview):
    ws = pro("team-a")
    ws["runner"] = {"egress": {"allowInternet": True, "allowCidrs": ["10.20.0.0/16"]}}
    result = plan(config(scenario="hybrid", workspaces=[ws]), preview)
    [pol] = [r.inputs["spec"] for r in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
             if r.inputs["metadata"]["name"] == "runner-egress"]
    blocks = [p["ipBlock"] for rule in pol["egress"] for p in rule.get("to", []) if "ipBlock" in p]
    [internet] = [b for b in blocks if b["cidr"] == "0.0.0.0/0"]
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"} <= set(internet["except"])
    # A private destination is reachable only because it is listed explicitly.
    assert {"cidr": "10.20.0.0/16"} in blocks


def test_control_plane_chart_values_are_documented_keys_and_tags_follow_the_chart(monkeypatch):
    """Helm drops unknown value keys silently: every key rendered must be one ZenML's docs show (or listed, with its
    reason, as unconfirmed). The chart version is the only version setting; image tags follow it."""
    import pulumi

    from components import control_plane

    seen = []
    monkeypatch.setattr(control_plane, "_sealed", lambda values: (seen.append(values), pulumi.Output.secret(values))[1])
    cfg = config(workspaces=[pro("team-a")], controlPlane={**CP, "database": {"mode": "in-cluster"}})
    plan(cfg, False)
    [values] = seen
    paths = control_plane.key_paths(values)
    assert "zenml.replicaCount" not in paths and "zenml.database.external.port" not in paths
    assert not control_plane.chart_key_problems(values)
    assert paths - control_plane.UNCONFIRMED_KEYS <= control_plane.DOCUMENTED_KEYS
    assert values["zenml"]["image"]["api"]["tag"] == cfg.control_plane.chart.version == "0.13.12"
    assert values["zenml"]["image"]["dashboard"]["tag"] == "0.13.12"
    # A misspelt key is caught before Helm could ignore it.
    assert control_plane.chart_key_problems({"zenml": {"ingres": {"enabled": True}}}) == ["zenml.ingres.enabled"]


def test_control_plane_version_settings_cannot_drift():
    from tests.unit.test_config_model import problems, with_

    found = problems(with_(workspaces=[pro("team-a")], controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.0.tgz"}}))
    assert "controlPlane.chart.version" in found
    found = problems(with_(workspaces=[pro("team-a")], controlPlane={**CP, "version": "0.13.0"}))
    assert "controlPlane.version" in found  # the second version setting is gone
    found = problems(with_(workspaces=[pro("team-a")], controlPlane={**CP, "database": {"mode": "external", "external": {
        "host": "pg.corp", "port": 6432, "database": "zenml_pro", "username": "zp", "password": {"secure": "v1:x"}}}}))
    assert "controlPlane.database.external.port" in found


def test_in_cluster_postgres_accepts_tls_connections_only(preview):
    """ssl=on alone still accepts plaintext on `host` lines: the control plane's PostgreSQL gets a pg_hba.conf whose
    only TCP lines are hostssl (scram-sha-256), and its backups require TLS."""
    result = plan(config(workspaces=[pro("team-a")], controlPlane={**CP, "database": {"mode": "in-cluster"}}), preview)
    [pg] = [r for r in result.of_type("kubernetes:apps/v1:StatefulSet") if r.inputs["metadata"]["namespace"] == "zenml-control-plane"]
    c = pg.inputs["spec"]["template"]["spec"]["containers"][0]
    args = c["args"]
    assert "ssl=on" in args and "hba_file=/etc/zenml-db-config/pg_hba.conf" in args
    assert {"name": "config", "mountPath": "/etc/zenml-db-config", "readOnly": True} in c["volumeMounts"]
    [cm] = [r for r in result.of_type("kubernetes:core/v1:ConfigMap")
            if r.inputs["metadata"]["namespace"] == "zenml-control-plane" and "pg_hba.conf" in (r.inputs.get("data") or {})]
    lines = [ln.split() for ln in cm.inputs["data"]["pg_hba.conf"].splitlines() if ln.strip() and not ln.startswith("#")]
    tcp = [rule for rule in lines if rule[0] != "local"]
    assert tcp and all(rule[0] == "hostssl" and rule[-1] == "scram-sha-256" for rule in tcp)
    for job in result.of_type("kubernetes:batch/v1:CronJob"):
        env = {e["name"]: e.get("value") for e in job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
        if "PGSSLMODE" in env:
            # The dump verifies the server's certificate and name against the database CA, mounted from its Secret.
            pod = job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            assert env["PGSSLMODE"] == "verify-full" and env["PGSSLROOTCERT"] == "/etc/zenml-db-ca/ca.crt"
            assert {"name": "db-ca", "mountPath": "/etc/zenml-db-ca", "readOnly": True} in pod["containers"][0]["volumeMounts"]
            assert any(v["name"] == "db-ca" and v["secret"]["secretName"] == "control-plane-postgres-ca" for v in pod["volumes"])


def test_control_plane_release(preview):
    cfg = config(workspaces=[pro("team-a")], controlPlane=CP,
                 identityProvider={"type": "oidc", "oidc": {"discoveryUrl": "https://idp.corp/.well-known/openid-configuration",
                                                            "clientId": "zenml", "clientSecret": {"secure": "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=="}}})
    result = plan(cfg, preview)
    [release] = result.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["chart"] == "charts/zenml-pro-0.13.12.tgz"
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
