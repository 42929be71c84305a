"""The operator/tenant handshake (docs/layouts.md): before a tenant has an artifact store (`artifactStore.mode:
none`), a workspace with runners already has the runners' identity, with no permission, and names it in its
stack output, so the tenant can trust or grant it in its own account before the operator points the workspace at
the tenant's bucket."""

from __future__ import annotations

import pytest

from planning.run import run_program
from tests.cloud.helpers import load, stack_data

NS = "zenml-platform"
MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])


def _before_the_tenant_bucket(stack: str, tenant: str):
    """The saas stack with `tenant` at step 1 of the handshake: no artifact store yet, runners on."""
    data = stack_data(stack)
    [ws] = [w for w in data[f"{NS}:workspaces"] if w["name"] == tenant]
    ws["artifactStore"] = {"mode": "none"}
    ws.pop("runner", None)  # runners on, as the layout's default
    return load(data)


@MODES
def test_aws_runner_role_exists_without_permissions_before_the_tenant_bucket(preview):
    cfg = _before_the_tenant_bucket("saas-aws", "tenant-initech")
    result = run_program(cfg, "saas-aws", preview=preview)
    out = result.outputs["workspaces"]["tenant-initech"]
    assert out["runnerNamespace"] == "zenml-tenant-initech-runners"
    arn = out["cloud"]["runnerRoleArn"]
    assert arn == "arn:aws:iam::444455556666:role/zsaas-tenant-initech-runner", out["cloud"]
    [role] = [r for r in result.of_type("aws:iam/role:Role") if r.inputs["name"] == "zsaas-tenant-initech-runner"]
    # Assumable by exactly the runner ServiceAccount of this workspace, and allowed nothing.
    assert "system:serviceaccount:zenml-tenant-initech-runners:zenml-runner" in str(role.inputs["assumeRolePolicy"])
    assert [p for p in result.of_type("aws:iam/rolePolicy:RolePolicy")
            if p.inputs["role"] == "zsaas-tenant-initech-runner"] == []
    assert "artifactStore" not in out["cloud"]


@MODES
def test_gcp_runner_account_exists_without_grants_before_the_tenant_bucket(preview):
    cfg = _before_the_tenant_bucket("saas-gcp", "tenant-globex")
    result = run_program(cfg, "saas-gcp", preview=preview)
    cloud = result.outputs["workspaces"]["tenant-globex"]["cloud"]
    email = cloud["runnerServiceAccount"]
    assert email.startswith("zsaas-tenant-globex-run@"), cloud
    accounts = [r.inputs["accountId"] for r in result.of_type("gcp:serviceaccount/account:Account")]
    assert email.split("@", 1)[0] in accounts
    # Nothing in this stack grants the runners' account anything: the tenant's program does, on its bucket.
    for kind in ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:projects/iAMMember:IAMMember"):
        assert [r for r in result.of_type(kind) if email in str(r.inputs.get("member"))] == [], kind
    assert "artifactStore" not in cloud
