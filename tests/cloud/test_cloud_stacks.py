"""Every cloud/layout example stack and both tenant stacks plan offline in preview and update mode."""

from __future__ import annotations

import re

import pytest

from tests.cloud.helpers import CLOUD_STACKS, TENANT_STACKS, planned, stack_config, strings, tenant_planned

MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
TOKEN = re.compile(r"^zenml-platform:[a-z]+:[A-Z][A-Za-z]+$")


@MODES
@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_example_stack_plans(stack, preview):
    cfg = stack_config(stack)
    result = planned(stack, preview)
    assert len(result.registrations) > 40
    assert set(result.outputs["workspaces"]) == {ws.name for ws in cfg.workspaces}
    # Every component has a 3-part token; every custom resource below the root is parented to a component.
    for r in result.registrations:
        if not r.custom:
            assert TOKEN.match(r.type), r.type
    by_urn = {r.urn: r for r in result.registrations}
    for r in result.registrations:
        if r.parent and r.parent in by_urn:
            assert not by_urn[r.parent].custom, f"{r.name} is parented to a custom resource"


@MODES
@pytest.mark.parametrize("stack", TENANT_STACKS)
def test_tenant_stack_plans(stack, preview):
    result = tenant_planned(stack, preview)
    assert result.outputs["bucket"] == "acme-ml-artifacts"
    assert all(r.parent for r in result.registrations if r.type != "zenml-platform:tenant:TenantArtifactAccess")
    # The tenant's artifacts: protected and retained by default.
    [bucket] = [r for r in result.registrations if r.type in ("aws:s3/bucket:Bucket", "gcp:storage/bucket:Bucket")]
    assert bucket.protect and bucket.retain_on_delete


@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_no_password_in_clear(stack):
    result = planned(stack, False)
    for r in result.of_type("random:index/randomPassword:RandomPassword"):
        assert r.protect == stack_config(stack).defaults.protect_data
    for r in result.registrations:
        for text in strings(r.inputs):
            assert "generated-" not in text, f"{r.type} {r.name} carries a generated password in clear"
    for r in result.of_type("aws:rds/instance:Instance"):
        if r.inputs["engine"] == "mysql":
            # Workspaces' masters: RDS keeps the password in Secrets Manager; Pulumi never has it.
            assert r.inputs["manageMasterUserPassword"] is True and "password" not in r.inputs
        else:
            assert r.inputs["password"] == "[secret]" and "password" in r.secret_outputs
    for r in result.of_type("gcp:sql/user:User") + result.of_type("gcp:sql/databaseInstance:DatabaseInstance"):
        key = "password" if r.type.endswith("User") else "rootPassword"
        assert r.inputs[key] == "[secret]"


@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_cloud_sdk_only_for_its_target(stack):
    result = planned(stack, True)
    providers = {r.type for r in result.registrations if r.type.startswith("pulumi:providers:")}
    target = stack_config(stack).target.value
    expected = {"pulumi:providers:kubernetes"} | ({f"pulumi:providers:{target}"} if target != "kubernetes" else set())
    assert providers == expected
    for r in result.registrations:
        if r.type.startswith(("aws:", "gcp:")):
            assert r.type.split(":")[0] == target
