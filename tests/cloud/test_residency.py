"""`zenml-platform residency` on the cloud examples says what the seeds' tables say for each layout."""

from __future__ import annotations

import pytest

from cli_app.residency import residency_rows
from tests.cloud.helpers import stack_config


def rows(stack: str) -> dict[str, str]:
    return {r["dataType"]: " | ".join(r["location"]) for r in residency_rows(stack_config(stack))}


def test_saas_artifacts_in_the_tenant_cloud_metadata_and_secrets_with_the_operator():
    r = rows("saas-aws")
    assert "the tenant's bucket `acme-ml-artifacts` in the tenant's own cloud" in r["Artifacts"]
    assert "RDS" in r["Pipeline Metadata"] and "444455556666" in r["Pipeline Metadata"]
    assert "AWS Secrets Manager (444455556666" in r["Secrets"]
    assert "this stack's control plane" in r["User/Org Data"]


@pytest.mark.parametrize("stack", ["hybrid-aws", "hybrid-gcp"])
def test_hybrid_everything_but_users_in_the_customer_cloud(stack):
    r = rows(stack)
    assert "ZenML-hosted control plane `https://cloudapi.zenml.io`" in r["User/Org Data"]
    assert "bucket in this" in r["Artifacts"]
    assert ("RDS" in r["Pipeline Metadata"]) or ("Cloud SQL" in r["Pipeline Metadata"])


@pytest.mark.parametrize("stack", ["airgapped-aws", "airgapped-gcp"])
def test_airgapped_control_plane_and_data_in_the_customer_cloud(stack):
    r = rows(stack)
    assert "this stack's control plane" in r["User/Org Data"]
    assert "private" in r["Pipeline Metadata"]
