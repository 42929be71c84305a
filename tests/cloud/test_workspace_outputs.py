"""The `workspaces.<name>.cloud` stack output comes from each cloud's typed outputs (components/backend.py
`CloudServicesOutputs`), in preview and update mode, with the names a user needs to find the resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pytest

from components.aws.platform import AwsServicesOutputs
from components.backend import CloudServicesOutputs, ManagedDatabaseOutputs
from components.gcp.platform import GcpServicesOutputs
from tests.cloud.helpers import AWS_STACKS, GCP_STACKS, planned, stack_config

MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])


def test_stack_output_is_camel_case_in_field_order_and_leaves_unset_fields_out():
    out = AwsServicesOutputs(target="aws", region="eu-west-1", server_role_arn="arn:aws:iam::1:role/s",
                             database=ManagedDatabaseOutputs(engine="rds-mysql", instance="i1", user="u"))
    assert out.stack_output() == {"target": "aws", "database": {"engine": "rds-mysql", "instance": "i1", "user": "u"},
                                  "region": "eu-west-1", "serverRoleArn": "arn:aws:iam::1:role/s"}
    assert list(out.stack_output()) == ["target", "database", "region", "serverRoleArn"]
    assert GcpServicesOutputs(target="gcp", project="p", runner_service_account="r@p").stack_output() == {
        "target": "gcp", "project": "p", "runnerServiceAccount": "r@p"}


def test_a_new_cloud_gets_its_fields_into_the_output_by_declaring_them():
    @dataclass
    class OtherOutputs(CloudServicesOutputs):
        zone_name: Optional[str] = None

    assert OtherOutputs(target="other", zone_name="z1", secrets_store="vault").stack_output() == {
        "target": "other", "secretsStore": "vault", "zoneName": "z1"}


@MODES
@pytest.mark.parametrize("stack", AWS_STACKS)
def test_aws_workspace_outputs_name_the_roles_bucket_and_database(stack, preview):
    cfg = stack_config(stack)
    outputs = planned(stack, preview).outputs["workspaces"]
    for ws in cfg.workspaces:
        cloud = outputs[ws.name]["cloud"]
        assert cloud["target"] == "aws" and cloud["region"] == cfg.aws.region, cloud
        prefix = f"arn:aws:iam::{cfg.aws.account_id}:role/"
        assert cloud["serverRoleArn"].startswith(prefix) and ws.name in cloud["serverRoleArn"], cloud
        # Runners have their own role exactly where the workspace has a runner namespace.
        if outputs[ws.name]["runnerNamespace"] is None:
            assert "runnerRoleArn" not in cloud, cloud
        else:
            assert cloud["runnerRoleArn"].startswith(prefix) and cloud["runnerRoleArn"].endswith("-runner"), cloud
            assert cloud["artifactStore"].startswith("s3://"), cloud
        db = cloud["database"]
        assert db["engine"] == "rds-mysql" and db["instance"] and db["database"] and db["user"], db
        # The workspace's database output names the same instance, known in preview (the host is not).
        assert outputs[ws.name]["database"] == {"mode": "managed", **db, "tls": True}


@MODES
@pytest.mark.parametrize("stack", GCP_STACKS)
def test_gcp_workspace_outputs_name_the_service_accounts_bucket_and_database(stack, preview):
    cfg = stack_config(stack)
    outputs = planned(stack, preview).outputs["workspaces"]
    for ws in cfg.workspaces:
        cloud = outputs[ws.name]["cloud"]
        assert cloud["target"] == "gcp" and cloud["project"] == cfg.gcp.project, cloud
        suffix = f"@{cfg.gcp.project}.iam.gserviceaccount.com"
        assert cloud["serviceAccount"].endswith(suffix) and "-srv@" in cloud["serviceAccount"], cloud
        # Runners have their own account exactly where the workspace has a runner namespace, bucket or tenant mode.
        if outputs[ws.name]["runnerNamespace"] is None:
            assert "runnerServiceAccount" not in cloud, cloud
        else:
            assert cloud["runnerServiceAccount"].endswith(suffix) and "-run@" in cloud["runnerServiceAccount"], cloud
        assert cloud["artifactStore"].startswith("gs://") and cloud["secretsStore"].endswith(" zenml-*"), cloud
        assert cloud["database"]["engine"] == "cloudsql-mysql" and cloud["database"]["instance"], cloud
        assert outputs[ws.name]["database"] == {"mode": "managed", **cloud["database"], "tls": True}


@MODES
def test_kubernetes_workspaces_have_no_cloud_output(preview):
    outputs = planned("hybrid-kubernetes", preview).outputs["workspaces"]
    assert outputs and all("cloud" not in w for w in outputs.values()), outputs
