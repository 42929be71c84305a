"""Nothing of workspace A (IAM policy, role binding, database user, secret scope, bucket grant) names workspace B."""

from __future__ import annotations

import itertools

import pytest

from tests.cloud.helpers import CLOUD_STACKS, descendants, planned, stack_config, strings, workspace_urn

MULTI = [s for s in CLOUD_STACKS if len(stack_config(s).workspaces) > 1]


def markers(cfg, ws) -> set[str]:
    """Strings that identify a workspace's own resources."""
    out = {cfg.namespace_of(ws), cfg.host_of(ws), cfg.server_id_of(ws)}
    if cfg.aws is not None:
        out.add(f"{cfg.aws.name_prefix}-{ws.name}-")
        out.add(f"zenml_{ws.name.replace('-', '_')}")
    if cfg.gcp is not None:
        out.add(f"{cfg.gcp.name_prefix}-{ws.name}-")
        if ws.secret_store.gcp is not None and ws.secret_store.gcp.project:
            out.add(ws.secret_store.gcp.project)
    if ws.artifact_store is not None and ws.artifact_store.tenant is not None:
        out.add(ws.artifact_store.tenant.bucket)
        if ws.artifact_store.tenant.role_arn:
            out.add(ws.artifact_store.tenant.role_arn)
    return out


@pytest.mark.parametrize("stack", MULTI)
def test_workspace_resources_never_name_another_workspace(stack):
    cfg = stack_config(stack)
    result = planned(stack, False)
    for a, b in itertools.permutations(cfg.workspaces, 2):
        mine = descendants(result, workspace_urn(result, a.name))
        assert mine
        theirs = markers(cfg, b)
        for r in mine:
            for text in strings(r.inputs):
                hit = [m for m in theirs if m in text and not any(m in own for own in markers(cfg, a) if len(own) > len(m))]
                assert not hit, f"{a.name}'s {r.type} {r.name} names {b.name}: {hit}"


@pytest.mark.parametrize("stack", MULTI)
def test_each_workspace_has_its_own_database_user_and_store(stack):
    cfg = stack_config(stack)
    result = planned(stack, False)
    users = [r.inputs["metadata"]["namespace"] + "/" + r.inputs["metadata"]["name"]
             for r in result.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "zenml-db-credentials"]
    assert len(users) == len(set(users))
    jobs = [r for r in result.of_type("kubernetes:batch/v1:Job") if r.inputs["metadata"]["namespace"] == f"{cfg.kubernetes.namespace_prefix}-db-admin"]
    pairs = set()
    for job in jobs:
        spec = job.inputs["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
        # The bootstrap ServiceAccount is per instance (it may read that instance's master secret only).
        pairs.add((spec["serviceAccountName"], env["DB_NAME"], env["DB_USER"]))
    assert len(pairs) == len(jobs)
    assert len({(sa, u) for sa, _, u in pairs}) == len(jobs), "one user per database per instance"


def test_shared_instance_bootstrap_grants_only_the_workspace_database():
    """On the shared RDS instance, each user gets its own database (and its backup database), nothing else."""
    from components.aws.db_bootstrap import SCRIPT

    assert "GRANT ALL PRIVILEGES ON `%s`.*" in SCRIPT and "*.*" not in SCRIPT
    assert "REQUIRE SSL" in SCRIPT and "IF NOT EXISTS" in SCRIPT
    result = planned("saas-aws", False)
    jobs = {r.name: r for r in result.of_type("kubernetes:batch/v1:Job") if "db-bootstrap" in r.name}
    envs = {n: {e["name"]: e for e in j.inputs["spec"]["template"]["spec"]["containers"][0]["env"]} for n, j in jobs.items()}
    shared = {n: e for n, e in envs.items() if e["DB_NAME"]["value"].startswith("zenml_tenant")}
    assert {e["DB_USER"]["value"] for e in shared.values()} == {"z_tenant_globex", "z_tenant_initech"}
    for e in shared.values():
        # The password reaches the Job only through a Secret reference.
        assert "valueFrom" in e["DB_PASSWORD"]
    # The shared instance's master secret is readable only in the admin namespace, never in a tenant's.
    sas = [r for r in result.of_type("kubernetes:core/v1:ServiceAccount") if r.inputs["metadata"]["name"].startswith("bootstrap-")]
    assert {r.inputs["metadata"]["namespace"] for r in sas} == {"zenml-db-admin"}


@pytest.mark.parametrize("stack", ["saas-aws", "saas-gcp"])
def test_saas_artifacts_never_land_in_the_operator_account(stack):
    result = planned(stack, False)
    assert not result.of_type("aws:s3/bucket:Bucket") and not result.of_type("gcp:storage/bucket:Bucket")
