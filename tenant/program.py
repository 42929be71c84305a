"""The tenant's side of the saas layout: an artifact bucket in the tenant's cloud, readable by exactly the
operator's workspace identity, writable only if the tenant enables runs. Nothing here reaches the operator.
"""

from __future__ import annotations

from typing import Any

import pulumi

from tenant.config import TenantConfig

PACKAGE = "zenml-platform"


class TenantArtifactAccess(pulumi.ComponentResource):
    def __init__(self, name: str, cfg: TenantConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenml-platform:tenant:TenantArtifactAccess", name, None, opts)
        self.outputs: dict[str, Any] = {"tenant": cfg.tenant, "enableRuns": cfg.enable_runs}
        if cfg.target == "aws":
            self._aws(cfg)
        else:
            self._gcp(cfg)
        self.register_outputs(self.outputs)

    def _aws(self, cfg: TenantConfig) -> None:
        import pulumi_aws as aws

        from components.aws.policies import dumps, s3_read_policy, s3_read_write_policy, tenant_trust
        from components.aws.s3 import ArtifactBucket, ArtifactBucketArgs

        a = cfg.aws
        assert a is not None
        provider = aws.Provider("aws", region=a.region, allowed_account_ids=[a.account_id], opts=pulumi.ResourceOptions(parent=self))
        partition = a.operator_role_arn.split(":")[1]
        bucket = ArtifactBucket(
            f"{cfg.tenant}-artifacts",
            ArtifactBucketArgs(
                bucket_name=cfg.bucket_name, partition=partition, provider=provider, kms_key_arn=a.kms_key_arn,
                noncurrent_version_days=cfg.noncurrent_version_days, tags={"zenml-tenant": cfg.tenant}, protect=cfg.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        principals = [a.operator_role_arn]
        if cfg.enable_runs and a.operator_runner_role_arn:
            principals.append(a.operator_runner_role_arn)
        trust = tenant_trust(principals[0] if len(principals) == 1 else principals, a.external_id)
        role = aws.iam.Role(
            f"{cfg.tenant}-operator-role",
            name=a.role_name,
            description=f"ZenML SaaS workspace {cfg.tenant}: artifact {'read/write' if cfg.enable_runs else 'read'} access",
            assume_role_policy=dumps(trust),
            max_session_duration=3600,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        document = s3_read_write_policy(bucket.arn, a.kms_key_arn) if cfg.enable_runs else s3_read_policy(bucket.arn, a.kms_key_arn)
        aws.iam.RolePolicy(
            f"{cfg.tenant}-operator-artifacts",
            name="artifact-read-write" if cfg.enable_runs else "artifact-read",
            role=role.name,
            policy=dumps(document),
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.outputs.update(
            {"bucket": cfg.bucket_name, "roleArn": f"arn:{partition}:iam::{a.account_id}:role/{a.role_name}", "externalId": a.external_id}
        )

    def _gcp(self, cfg: TenantConfig) -> None:
        import pulumi_gcp as gcp

        from components.gcp.platform import GcsArtifactBucket, GcsArtifactBucketArgs

        g = cfg.gcp
        assert g is not None
        provider = gcp.Provider("gcp", project=g.project, region=g.region, opts=pulumi.ResourceOptions(parent=self))
        bucket = GcsArtifactBucket(
            f"{cfg.tenant}-artifacts",
            GcsArtifactBucketArgs(
                bucket_name=cfg.bucket_name, project=g.project, region=g.region, provider=provider, kms_key_name=g.kms_key_name,
                noncurrent_days=cfg.noncurrent_version_days, labels={"zenml-tenant": cfg.tenant}, protect=cfg.protect,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        bucket.grant(f"{cfg.tenant}-operator-read", "roles/storage.objectViewer", f"serviceAccount:{g.operator_service_account}", provider)
        if cfg.enable_runs and g.operator_runner_service_account:
            bucket.grant(
                f"{cfg.tenant}-operator-runner-write", "roles/storage.objectUser", f"serviceAccount:{g.operator_runner_service_account}", provider
            )
        self.outputs.update({"bucket": cfg.bucket_name, "grantedTo": g.operator_service_account})


def deploy(cfg: TenantConfig) -> dict[str, Any]:
    access = TenantArtifactAccess(cfg.tenant, cfg)
    return access.outputs
