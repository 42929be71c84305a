"""Class 3: values that validated but could never work in the cluster or cloud are refused at their key path."""

from __future__ import annotations

import pytest

from tests.input_hardening.helpers import base, validate_accepts, validate_refuses
from tests.input_hardening.test_patterns import refuses


def ws(**fields):
    return base(workspaces=[{"name": "alpha", **fields}])


# --- CIDRs ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, needle", [
    ("10.0.0.1", "with a prefix length"),
    ("10.0.0.0/33", "is not a CIDR block"),
    ("10.0.0.0/255.0.0.0", "with a prefix length"),
    ("not-a-cidr/8", "is not a CIDR block"),
    ("10.0.0.0/8\n", "with a prefix length"),
    ("", "with a prefix length"),
])
def test_runner_egress_cidrs(tmp_path, value, needle):
    validate_refuses(tmp_path, ws(runner={"egress": {"allowCidrs": ["10.1.0.0/16", value]}}),
                     "workspaces[0].runner.egress.allowCidrs[1]: ", needle)


@pytest.mark.parametrize("section, key", [("networkPolicies", "allowEgressCidrs"), ("kubernetes", "apiServerCidrs")])
def test_stack_wide_cidrs(tmp_path, section, key):
    validate_refuses(tmp_path, base(**{section: {key: ["192.168.1.10"]}}), f"{section}.{key}[0]: ", "prefix length")


def test_ipv6_cidr_and_host_route_are_accepted(tmp_path):
    validate_accepts(tmp_path, base(networkPolicies={"allowEgressCidrs": ["fd00::/8", "10.1.2.3/32"]}))


@pytest.mark.parametrize("stack, path", [("hybrid-aws", "aws.vpcCidr"), ("hybrid-gcp", "gcp.privateServicesCidr")])
def test_cloud_cidrs_are_checked(tmp_path, stack, path):
    refuses(tmp_path, stack, path, "10.0.0.0", "prefix length")


def test_gcp_api_egress_cidrs_are_checked(tmp_path):
    refuses(tmp_path, "hybrid-gcp", "gcp.apiEgressCidrs", ["199.36.153.8"], "prefix length")


# --- DNS lengths ----------------------------------------------------------------------------------------------

def test_workspace_host_over_253_once_prefixed(tmp_path):
    domain = ".".join(["d" * 61] * 4)  # 247 characters: valid alone
    assert len(domain) == 247
    validate_refuses(tmp_path, base(domain=domain, workspaces=[{"name": "alpha-beta"}]), "workspaces[0].name: ", "DNS allows 253")


def test_control_plane_host_over_253(tmp_path):
    domain = ".".join(["d" * 62] * 4)[:250].rstrip(".")
    data = base(domain=domain, controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro.tgz"}}, workspaces=[])
    validate_refuses(tmp_path, data, "domain: ", "DNS allows 253")


def test_label_over_63_in_host(tmp_path):
    validate_refuses(tmp_path, ws(host="a" * 64 + ".zenml.example.com"), "workspaces[0].host: ")


# --- cron -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["a b c d e", "60 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * 8",
                                      "*/0 * * * *", "5-1 * * * *", "0 0 * * * *", "0  0 * * *", "0 0 * *", "@sometimes", ""])
def test_cron_is_checked_field_by_field(tmp_path, schedule):
    validate_refuses(tmp_path, ws(database={"inCluster": {"backup": {"schedule": schedule}}}),
                     "workspaces[0].database.inCluster.backup.schedule: ")


@pytest.mark.parametrize("schedule", ["17 2 * * *", "*/15 0-6 * * mon-fri", "0 3 1,15 * *", "@daily", "0 0 * jan,jul sun"])
def test_real_cron_expressions_pass(tmp_path, schedule):
    validate_accepts(tmp_path, ws(database={"inCluster": {"backup": {"schedule": schedule}}}))


# --- quantities --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, value, needle", [
    ("database.inCluster.storageSize", "0Gi", "is zero"),
    ("database.inCluster.storageSize", "0", "is zero"),
    ("database.inCluster.storageSize", "10m", "did you mean Mi?"),
    ("resources.limits.memory", "512m", "did you mean Mi?"),
    ("resources.limits.cpu", "2Gi", "not a CPU quantity"),
    ("resources.requests.cpu", "0", "is zero"),
    ("resources.requests.cpu", "0.0001", "below 1m"),
    ("runner.quota.cpu", "0m", "is zero"),
    ("runner.quota.memory", "1" * 30, "not a Kubernetes quantity"),
])
def test_zero_and_nonsensical_quantities(tmp_path, path, value, needle):
    node: dict = {}
    cur = node
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    validate_refuses(tmp_path, ws(**node), f"workspaces[0].{path}: ", needle)


@pytest.mark.parametrize("part, request_, limit", [("cpu", "2", "500m"), ("memory", "2Gi", "1000Mi"), ("memory", "2G", "1000Mi")])
def test_requests_above_limits(tmp_path, part, request_, limit):
    resources = {"requests": {part: request_}, "limits": {part: limit}}
    validate_refuses(tmp_path, ws(resources=resources), "workspaces[0].resources: ", f"requests.{part} {request_} is above limits")


def test_requests_equal_to_limits_pass(tmp_path):
    validate_accepts(tmp_path, ws(resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "1024Mi"}}))


# --- int32 and booleans --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("runner", [{"ttlSecondsAfterFinished": 2**31}, {"backoffLimit": 2**31}, {"quota": {"pods": 2**31}}])
def test_int32_fields_past_int32(tmp_path, runner):
    key = next(iter(runner))
    validate_refuses(tmp_path, ws(runner=runner), f"workspaces[0].runner.{key}")


def test_certificate_validity_past_go_duration(tmp_path):
    validate_refuses(tmp_path, base(tls={"internalCa": {"caValidityHours": 10**9}}), "tls.internalCa.caValidityHours: ")


@pytest.mark.parametrize("fields, path", [
    ({"replicas": True}, "workspaces[0].replicas"),
    ({"maxReplicas": False}, "workspaces[0].maxReplicas"),
    ({"runner": {"backoffLimit": True}}, "workspaces[0].runner.backoffLimit"),
    ({"runner": {"quota": {"pods": True}}}, "workspaces[0].runner.quota.pods"),
    ({"database": {"inCluster": {"backup": {"retentionDays": True}}}}, "workspaces[0].database.inCluster.backup.retentionDays"),
])
def test_booleans_where_counts_are_meant(tmp_path, fields, path):
    validate_refuses(tmp_path, ws(**fields), f"{path}: must be a number, not true/false")


# --- empty strings, URLs, Secret names --------------------------------------------------------------------------

def test_empty_issuer(tmp_path):
    validate_refuses(tmp_path, base(tls={"mode": "cert-manager", "certManager": {"issuerName": ""}}), "tls.certManager.issuerName: ")


def test_tls_secret_name_not_a_dns_subdomain(tmp_path):
    for name in ("My_Secret", "", "a" * 254, "tls-secret\n"):
        validate_refuses(tmp_path, base(tls={"mode": "provided", "provided": {"secretName": name}}), "tls.provided.secretName: ")


def test_pull_secret_names(tmp_path):
    data = base(registryMirror={"registry": "registry.corp.internal:5000", "imagePullSecrets": ["ok", "Not OK"]})
    validate_refuses(tmp_path, data, "registryMirror.imagePullSecrets[1]: ")


EXTERNAL = {"host": "db.corp.internal", "database": "zenml", "username": "zenml",
            "password": {"secretKeyRef": {"name": "db", "key": "password"}}, "verifyServerCertificate": False}


@pytest.mark.parametrize("key, value", [("host", ""), ("host", "mysql://db:3306"), ("host", "db.corp.internal:3306"),
                                        ("database", ""), ("username", " "), ("host", "db\n")])
def test_external_database_fields(tmp_path, key, value):
    validate_refuses(tmp_path, ws(database={"mode": "external", "external": {**EXTERNAL, key: value}}),
                     f"workspaces[0].database.external.{key}: ")


@pytest.mark.parametrize("url, needle", [("https://", "with a host"), ("https:///path", "with a host"), ("http://idp.example.com/x", "https://"),
                                         ("https://user:pw@idp.example.com/x", "credentials"), ("", "must not be empty"),
                                         ("https://idp.example.com/x y", "with a host"), ("https://idp.example.com:99999", "not a URL")])
def test_urls_need_a_host(tmp_path, url, needle):
    data = base(controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro.tgz"}},
                identityProvider={"type": "oidc", "oidc": {"discoveryUrl": url, "clientId": "zenml",
                                                           "clientSecret": {"secure": "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=="}}})
    validate_refuses(tmp_path, data, "identityProvider.oidc.discoveryUrl: ", needle, secrets=["pw@"])


def test_external_control_plane_url_without_host(tmp_path):
    data = base(scenario="hybrid", controlPlane={"external": {"apiUrl": "https://"}})
    validate_refuses(tmp_path, data, "controlPlane.external.apiUrl: ")


def test_vault_address_must_be_a_url(tmp_path):
    store = {"type": "hashicorp", "vault": {"address": "vault", "token": {"secretKeyRef": {"name": "vault", "key": "token"}}}}
    validate_refuses(tmp_path, ws(secretStore=store), "workspaces[0].secretStore.vault.address: ")


@pytest.mark.parametrize("selector", [{"bad key": "x"}, {"zone": "has space"}, {"": "x"}])
def test_node_selector_labels(tmp_path, selector):
    validate_refuses(tmp_path, ws(nodeSelector=selector), "workspaces[0].nodeSelector")
