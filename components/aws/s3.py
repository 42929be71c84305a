"""A workspace's S3 artifact store: private, encrypted, versioned, expiring old versions, TLS only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.aws.policies import dumps, tls_only_bucket_policy


@dataclass
class ArtifactBucketArgs:
    bucket_name: str
    partition: str  # aws | aws-us-gov | aws-cn (the bucket's ARN)
    provider: pulumi.ProviderResource
    kms_key_arn: Optional[str] = None  # None: S3-managed keys
    noncurrent_version_days: int = 30  # old object versions expire after this many days
    tags: dict[str, str] = field(default_factory=dict)
    protect: bool = False  # protected and retained (production profile)


class ArtifactBucket(pulumi.ComponentResource):
    """Outputs: `arn`, `name`."""

    def __init__(self, name: str, args: ArtifactBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:aws:ArtifactBucket", name, None, opts)
        a = args
        bucket_name, partition, kms_key_arn, provider = a.bucket_name, a.partition, a.kms_key_arn, a.provider
        noncurrent_version_days, tags, protect = a.noncurrent_version_days, a.tags, a.protect
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.bucket = aws.s3.Bucket(
            name,
            bucket=bucket_name,
            force_destroy=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=protect, retain_on_delete=protect),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        sse: dict[str, Any] = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}
            if kms_key_arn
            else {"sse_algorithm": "AES256"}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": sse, "bucket_key_enabled": bool(kms_key_arn)}],  # type: ignore[list-item]  # the SDK types nested args as TypedDicts; plain dict literals are what its docs show
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=self.bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
                },
                {"id": "abort-incomplete-uploads", "status": "Enabled", "filter": {}, "abort_incomplete_multipart_upload": {"days_after_initiation": 7}},
            ],
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[versioning]),
        )
        self.arn = f"arn:{partition}:s3:::{bucket_name}"
        self.name = bucket_name
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=dumps(tls_only_bucket_policy(self.arn)),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[block]),
        )
        self.register_outputs({"bucket": bucket_name, "arn": self.arn})
