"""The production profile protects and retains every stateful cloud resource; smaller profiles keep 7-day backups."""

from __future__ import annotations

import pytest

from tests.cloud.helpers import AWS_STACKS, CLOUD_STACKS, GCP_STACKS, planned, stack_config

STATEFUL = (
    "aws:rds/instance:Instance",
    "aws:s3/bucket:Bucket",
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:sql/database:Database",
    "gcp:storage/bucket:Bucket",
)


@pytest.mark.parametrize("stack", [s for s in CLOUD_STACKS if s.split("-")[1] != "kubernetes"])
def test_stateful_resources_follow_the_profile(stack):
    cfg = stack_config(stack)
    production = cfg.profile.value == "production"
    result = planned(stack, False)
    stateful = [r for r in result.registrations if r.type in STATEFUL]
    assert stateful
    for r in stateful:
        assert r.protect is production and r.retain_on_delete is production, (r.type, r.name)
    for r in result.of_type("random:index/randomPassword:RandomPassword"):
        assert r.protect is production


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_rds_protection_backups_tls(stack):
    cfg = stack_config(stack)
    production = cfg.profile.value == "production"
    result = planned(stack, False)
    params = {p.inputs["name"]: p for p in result.of_type("aws:rds/parameterGroup:ParameterGroup")}
    for i in result.of_type("aws:rds/instance:Instance"):
        x = i.inputs
        assert x["storageEncrypted"] is True and x["publiclyAccessible"] is False
        assert x["backupRetentionPeriod"] >= (14 if production else 7)
        assert x["deletionProtection"] is production
        assert x["skipFinalSnapshot"] is (not production)
        assert (x.get("finalSnapshotIdentifier") == f"{x['identifier']}-final") is production
        assert x["multiAz"] is True or not production or x["engine"] == "mysql"
        if cfg.aws.kms_key_arn:
            assert x["kmsKeyId"] == cfg.aws.kms_key_arn
        tls = {(p["name"], p["value"]) for p in params[x["parameterGroupName"]].inputs["parameters"]}
        assert tls == ({("require_secure_transport", "ON")} if x["engine"] == "mysql" else {("rds.force_ssl", "1")})
    # The database port is open to its clients' pod security groups only, never the nodes' (see
    # test_database_security_groups.py for which group each database admits).
    for rule in result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        assert rule.inputs["referencedSecurityGroupId"] != cfg.aws.eks.node_security_group_id
        assert rule.inputs["referencedSecurityGroupId"].endswith("-clients-sg-id")
        assert rule.inputs["fromPort"] == rule.inputs["toPort"] in (3306, 5432)
        assert "cidrIpv4" not in rule.inputs


@pytest.mark.parametrize("stack", GCP_STACKS)
def test_cloud_sql_protection(stack):
    cfg = stack_config(stack)
    production = cfg.profile.value == "production"
    result = planned(stack, False)
    for i in result.of_type("gcp:sql/databaseInstance:DatabaseInstance"):
        assert i.inputs["deletionProtection"] is production
        assert i.inputs["settings"]["deletionProtectionEnabled"] is production
        assert i.inputs["settings"]["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"] >= (14 if production else 7)


def test_servers_verify_the_rds_certificate_in_production():
    result = planned("saas-aws", False)
    for dep in result.of_type("kubernetes:apps/v1:Deployment"):
        env = {e["name"]: e for e in dep.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["ZENML_STORE_SSL"]["value"] == "True"
        assert env["ZENML_STORE_SSL_VERIFY_SERVER_CERT"]["value"] == "True"
        assert env["ZENML_STORE_SSL_CA"]["value"].endswith("ca.crt")
        assert env["ZENML_STORE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "zenml-db-credentials"
