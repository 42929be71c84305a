"""Bad cloud input is a ConfigError whose problems name the key path to fix."""

from __future__ import annotations

import copy

import pytest

from stack_config import ConfigError
from tests.cloud.helpers import load, stack_data

NS = "zenml-platform"


def problems(data) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load(data)
    return {p.path: p.reason for p in info.value.problems}


def test_missing_aws_region():
    data = stack_data("hybrid-aws")
    del data[f"{NS}:aws"]["region"]
    assert problems(data) == {"aws.region": "is required"}


def test_bad_account_and_oidc_arn():
    data = stack_data("hybrid-aws")
    data[f"{NS}:aws"]["accountId"] = "1234"
    data[f"{NS}:aws"]["eks"]["oidcProviderArn"] = "arn:aws:iam::111122223333:role/not-oidc"
    found = problems(data)
    assert "aws.accountId" in found and "aws.eks.oidcProviderArn" in found


def test_target_aws_without_settings():
    data = stack_data("hybrid-aws")
    del data[f"{NS}:aws"]
    assert "aws" in problems(data)


def test_target_gcp_without_settings_and_stray_aws():
    data = stack_data("hybrid-gcp")
    data[f"{NS}:aws"] = stack_data("hybrid-aws")[f"{NS}:aws"]
    del data[f"{NS}:gcp"]
    found = problems(data)
    assert "gcp" in found and "aws" in found


def test_managed_database_needs_a_cloud_target():
    data = stack_data("hybrid-kubernetes")
    data[f"{NS}:workspaces"][0]["database"] = {"mode": "managed"}
    assert "workspaces[0].database.mode" in problems(data)


def test_cloud_secret_store_needs_its_target():
    data = stack_data("hybrid-gcp")
    data[f"{NS}:workspaces"][0]["secretStore"] = {"type": "aws"}
    assert problems(data) == {"workspaces[0].secretStore.type": "the aws secrets store needs target aws (the server's IRSA role)"}


def test_shared_instance_rules():
    data = stack_data("hybrid-gcp")
    data[f"{NS}:workspaces"][0]["database"]["managed"]["instance"] = "shared"
    assert "workspaces[0].database.managed.instance" in problems(data)
    data = stack_data("hybrid-aws")
    data[f"{NS}:workspaces"][1]["database"]["managed"]["instance"] = "shared"
    assert "aws.sharedDatabase" in problems(data)
    data = stack_data("saas-aws")
    data[f"{NS}:controlPlane"]["database"]["managed"]["instance"] = "shared"
    assert "controlPlane.database.managed.instance" in problems(data)


def test_backups_of_at_least_seven_days():
    data = stack_data("hybrid-aws")
    data[f"{NS}:workspaces"][0]["database"]["managed"]["backupRetentionDays"] = 3
    assert "workspaces[0].database.managed.backupRetentionDays" in problems(data)


@pytest.mark.parametrize("profile", ["dev", "small", "production"])
def test_managed_databases_on_aws_need_the_rds_ca_in_every_profile(profile):
    """Without the CA the server would render ZENML_STORE_SSL_VERIFY_SERVER_CERT=False and the bootstrap Job would
    send the master credentials unverified: fail closed in every profile."""
    data = stack_data("hybrid-aws")
    data[f"{NS}:profile"] = profile
    del data[f"{NS}:aws"]["rdsCaCertificate"]
    assert "RDS CA bundle" in problems(data)["aws.rdsCaCertificate"]


def test_saas_keeps_artifacts_in_the_tenant_cloud():
    data = stack_data("saas-aws")
    data[f"{NS}:workspaces"][0]["artifactStore"] = {"mode": "bucket"}
    assert "workspaces[0].artifactStore.mode" in problems(data)
    data = stack_data("saas-aws")
    del data[f"{NS}:workspaces"][1]["artifactStore"]["tenant"]["roleArn"]
    assert "workspaces[1].artifactStore.tenant.roleArn" in problems(data)


def test_saas_tenants_never_share_a_secret_manager_project():
    data = stack_data("saas-gcp")
    data[f"{NS}:workspaces"][1]["secretStore"]["gcp"] = dict(data[f"{NS}:workspaces"][0]["secretStore"]["gcp"])
    assert "workspaces[1].secretStore.gcp.project" in problems(data)


@pytest.mark.parametrize("stack", ["hybrid-gcp", "airgapped-gcp"])
def test_workspaces_never_share_a_secret_manager_project_in_any_layout(stack):
    """hybrid and air-gapped too: two workspaces resolving to one secrets project (explicitly, or both defaulting to
    gcp.project) would get the same IAM condition on the same zenml-* secrets."""
    data = stack_data(stack)
    wss = data[f"{NS}:workspaces"]
    first = copy.deepcopy(wss[0])
    first["secretStore"] = {"type": "gcp"}  # defaults to gcp.project
    second = copy.deepcopy(first)
    second["name"] = first["name"] + "-b"
    second.pop("host", None)
    for ws in (first, second):
        ws.pop("pro", None)
        ws["edition"] = "oss"
        ws.pop("runner", None)
    data[f"{NS}:workspaces"] = [first, second]
    found = problems(data)
    assert "never share a Secret Manager project (also workspaces[0])" in found["workspaces[1].secretStore.gcp.project"]
    second["secretStore"] = {"type": "gcp", "gcp": {"project": "other-secrets-prj", "projectNumber": "999000999000"}}
    assert len(load(data).workspaces) == 2


def test_artifact_store_on_kubernetes_target():
    data = stack_data("hybrid-kubernetes")
    data[f"{NS}:workspaces"][0]["artifactStore"] = {"mode": "bucket"}
    assert "workspaces[0].artifactStore" in problems(data)


def test_tenant_config_errors_name_the_key():
    from tenant.config import load_tenant_mapping

    with pytest.raises(ConfigError) as info:
        load_tenant_mapping({"zenml-tenant:target": "aws", "zenml-tenant:tenant": "t", "zenml-tenant:bucketName": "b-ok",
                             "zenml-tenant:aws": {"region": "eu-west-1", "accountId": "777788889999",
                                                  "operatorRoleArn": "arn:aws:iam::444455556666:role/x", "externalId": "short"}})
    assert {p.path for p in info.value.problems} == {"aws.externalId"}
    with pytest.raises(ConfigError) as info:
        load_tenant_mapping({"zenml-tenant:target": "aws", "zenml-tenant:tenant": "t", "zenml-tenant:bucketName": "b-ok",
                             "zenml-tenant:aws": {"accountId": "777788889999", "operatorRoleArn": "arn:aws:iam::444455556666:role/x",
                                                  "externalId": "zenml-saas-tenant-x-12345678"}})
    assert {p.path for p in info.value.problems} == {"aws.region"}


def test_two_workspaces_never_share_a_bucket():
    data = stack_data("hybrid-aws")
    for ws in data[f"{NS}:workspaces"]:
        ws["artifactStore"]["bucketName"] = "acme-shared-artifacts"
    assert "workspaces[1].artifactStore.bucketName" in problems(data)
