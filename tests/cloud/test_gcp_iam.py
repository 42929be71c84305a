"""GCP identities and grants: Workload Identity bound to exactly one ServiceAccount, conditioned Secret Manager
access, bucket roles split between server (read) and runners (read/write)."""

from __future__ import annotations

import pytest

from components.gcp.platform import SECRET_MANAGER_PERMISSIONS
from tests.cloud.helpers import GCP_STACKS, planned, stack_config, tenant_planned


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_workload_identity_binds_exactly_one_workspace_identity(stack):
    """One Kubernetes ServiceAccount per Google account, except the server's, which its migration Job shares when the
    workspace uses the GCP secrets store (the migration initialises the store, as ServiceAccount zenml-migration)."""
    cfg = stack_config(stack)
    g = cfg.gcp
    result = planned(stack, False)
    accounts = {r.name: r for r in result.of_type("gcp:serviceaccount/account:Account")}
    bindings = result.of_type("gcp:serviceaccount/iAMMember:IAMMember")
    gcp_stores = [ws for ws in cfg.workspaces if ws.secret_store.type.value == "gcp"]
    assert len(bindings) == len(accounts) + len(gcp_stores)
    members = set()
    by_account: dict = {}
    for b in bindings:
        assert b.inputs["role"] == "roles/iam.workloadIdentityUser"
        member = b.inputs["member"]
        assert member.startswith(f"serviceAccount:{g.project}.svc.id.goog[") and member.endswith("]")
        ns, sa = member[member.index("[") + 1 : -1].split("/")
        assert "*" not in ns and sa in ("zenml-server", "zenml-runner", "zenml-migration")
        members.add((ns, sa))
        by_account.setdefault(b.name.rsplit("-wi", 1)[0], set()).add((ns, sa))  # resource names: <identity>-wi[-<sa>]
    assert {(cfg.namespace_of(ws), "zenml-server") for ws in cfg.workspaces} <= members
    assert {(cfg.namespace_of(ws), "zenml-migration") for ws in gcp_stores} == {m for m in members if m[1] == "zenml-migration"}
    for subjects in by_account.values():
        assert len({ns for ns, _ in subjects}) == 1, subjects  # never two namespaces on one Google account
    for r in accounts.values():
        assert 6 <= len(r.inputs["accountId"]) <= 30


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_secret_manager_access_is_conditioned_and_least_privilege(stack):
    cfg = stack_config(stack)
    result = planned(stack, False)
    roles = {r.name: r for r in result.of_type("gcp:projects/iAMCustomRole:IAMCustomRole")}
    members = result.of_type("gcp:projects/iAMMember:IAMMember")
    stores = [ws for ws in cfg.workspaces if ws.secret_store.type.value == "gcp"]
    assert len(roles) == len(members) == len(stores)
    for ws in stores:
        role = roles[f"{ws.name}-secrets-role"]
        assert sorted(role.inputs["permissions"]) == sorted(SECRET_MANAGER_PERMISSIONS)
        assert not any(p.endswith(("setIamPolicy", "getIamPolicy")) or "*" in p for p in role.inputs["permissions"])
        [member] = [m for m in members if m.name == f"{ws.name}-secrets-binding"]
        project = (ws.secret_store.gcp.project if ws.secret_store.gcp else None) or cfg.gcp.project
        number = (ws.secret_store.gcp.project_number if ws.secret_store.gcp else None) or cfg.gcp.project_number
        assert member.inputs["project"] == role.inputs["project"] == project
        assert member.inputs["role"] == f"projects/{project}/roles/{role.inputs['roleId']}"
        assert member.inputs["member"].startswith(f"serviceAccount:{cfg.gcp.name_prefix}-{ws.name}"[:40])
        expr = member.inputs["condition"]["expression"]
        assert f'resource.name.startsWith("projects/{number}/secrets/zenml-")' in expr


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_gcs_buckets_and_access_split(stack):
    result = planned(stack, False)
    for b in result.of_type("gcp:storage/bucket:Bucket"):
        assert b.inputs["uniformBucketLevelAccess"] is True
        assert b.inputs["publicAccessPrevention"] == "enforced"
        assert b.inputs["versioning"] == {"enabled": True}
        assert b.inputs["forceDestroy"] is False
    grants = result.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    for g in grants:
        if "-srv@" in g.inputs["member"]:
            assert g.inputs["role"] == "roles/storage.objectViewer"
        else:
            assert "-run@" in g.inputs["member"] and g.inputs["role"] in ("roles/storage.objectUser", "roles/storage.objectViewer")
        assert g.inputs["role"] not in ("roles/storage.admin", "roles/storage.objectAdmin")


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_cloud_sql_private_tls_backed_up(stack):
    result = planned(stack, False)
    instances = result.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    assert instances
    for i in instances:
        s = i.inputs["settings"]
        ip = s["ipConfiguration"]
        assert ip["ipv4Enabled"] is False and ip["privateNetwork"] and ip["sslMode"] == "ENCRYPTED_ONLY"
        backup = s["backupConfiguration"]
        assert backup["enabled"] is True and backup["backupRetentionSettings"]["retainedBackups"] >= 7
    for u in result.of_type("gcp:sql/user:User"):
        assert u.inputs["password"] == "[secret]"


def test_tenant_gcp_grants_only_the_operator_identities():
    result = tenant_planned("tenant-gcp", False)
    grants = {(g.inputs["role"], g.inputs["member"]) for g in result.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    assert grants == {
        ("roles/storage.objectViewer", "serviceAccount:zsaas-tenant-acme-srv@zenml-saas-prod.iam.gserviceaccount.com"),
        ("roles/storage.objectUser", "serviceAccount:zsaas-tenant-acme-run@zenml-saas-prod.iam.gserviceaccount.com"),
    }
    # The operator's saas-gcp stack creates exactly those two identities for tenant-acme.
    operator = planned("saas-gcp", False)
    emails = {f"{a.inputs['accountId']}@zenml-saas-prod.iam.gserviceaccount.com" for a in operator.of_type("gcp:serviceaccount/account:Account")}
    assert {m.split(":", 1)[1] for _, m in grants} <= emails
