"""IAM documents as plain dicts (no `get_policy_document` invokes): reviewable, testable offline, JSON on apply.

Every document names exactly one workspace's resources: its ServiceAccount in the trust policy, its bucket ARN,
its secrets through the `zenml` tag ZenML writes on every secret (value: the workspace's server ID).
"""

from __future__ import annotations

import json
from typing import Any, Optional

VERSION = "2012-10-17"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


def irsa_trust(oidc_provider_arn: str, issuer: str, namespace: str, service_account: Any) -> dict[str, Any]:
    """Only this ServiceAccount (or these, of one workspace) of this namespace, with the STS audience, may assume it."""
    accounts = [service_account] if isinstance(service_account, str) else list(service_account)
    subjects = [f"system:serviceaccount:{namespace}:{sa}" for sa in accounts]
    return doc(
        {
            "Sid": "IrsaServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": subjects[0] if len(subjects) == 1 else subjects,
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        }
    )


def secrets_store_policy(partition: str, region: str, account: str, server_id: str) -> dict[str, Any]:
    """ZenML's AWS secrets store, limited to secrets named `zenml/*` that carry this workspace's `zenml` tag.

    ZenML 0.98 names every secret `zenml/<secret uuid>` (fixed prefix) and tags it `zenml=<server id>`; the server
    ID of a Pro workspace is its workspace ID. Creating requires the tag (so a workspace cannot create a secret
    claiming another's ID), reading/changing/deleting requires the tag on the secret, and tagging may only keep it.
    """
    arn = f"arn:{partition}:secretsmanager:{region}:{account}:secret:zenml/*"
    tag_key_ok = {"ForAllValues:StringEquals": {"aws:TagKeys": ["zenml", "zenml_secret_id"]}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "CreateOwnSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:CreateSecret"],
            "Resource": arn,
            "Condition": {"StringEquals": {"aws:RequestTag/zenml": server_id}, **tag_key_ok},
        },
        {
            "Sid": "UseOwnSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:DeleteSecret",
            ],
            "Resource": arn,
            "Condition": {"StringEquals": {"aws:ResourceTag/zenml": server_id}},
        },
        {
            "Sid": "RetagOwnSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:TagResource"],
            "Resource": arn,
            "Condition": {
                "StringEquals": {"aws:ResourceTag/zenml": server_id, "aws:RequestTag/zenml": server_id},
                **tag_key_ok,
            },
        },
    ]
    # No KMS statement: ZenML creates secrets without a KmsKeyId, so they use the AWS-managed `aws/secretsmanager`
    # key, which Secrets Manager uses on the caller's behalf without an IAM grant.
    return doc(*statements)


def s3_read_policy(bucket_arn: str, kms_key_arn: Optional[str] = None) -> dict[str, Any]:
    """The dashboard shows artifacts and visualizations: list and get, nothing else."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ListArtifactBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": f"{bucket_arn}/*"},
    ]
    if kms_key_arn:
        statements.append({"Sid": "ArtifactKmsDecrypt", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": kms_key_arn})
    return doc(*statements)


def s3_read_write_policy(bucket_arn: str, kms_key_arn: Optional[str] = None) -> dict[str, Any]:
    """Runner pods read inputs and write artifacts; no bucket configuration or policy changes."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ListArtifactBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
        {
            "Sid": "ReadWriteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": f"{bucket_arn}/*",
        },
    ]
    if kms_key_arn:
        statements.append(
            {"Sid": "ArtifactKms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": kms_key_arn}
        )
    return doc(*statements)


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    return doc(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def workload_manager_policy(
    partition: str, region: str, account: str, cluster: str, bucket_arn: Optional[str], logs_prefix: str, ecr_repository: Optional[str]
) -> dict[str, Any]:
    """AWS variant of the workload manager: find the cluster, pull/push runner images, write run logs."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DescribeCluster",
            "Effect": "Allow",
            "Action": ["eks:DescribeCluster"],
            "Resource": f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}",
        },
        {"Sid": "ListClusters", "Effect": "Allow", "Action": ["eks:ListClusters"], "Resource": "*"},
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
    ]
    if ecr_repository:
        statements.append(
            {
                "Sid": "RunnerImages",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload",
                    "ecr:PutImage",
                ],
                # The repository, and repositories below it (image names the workload manager appends).
                "Resource": [
                    f"arn:{partition}:ecr:{region}:{account}:repository/{ecr_repository}",
                    f"arn:{partition}:ecr:{region}:{account}:repository/{ecr_repository}/*",
                ],
            }
        )
    if bucket_arn:
        statements += [
            {
                "Sid": "ListRunLogs",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{logs_prefix}/*"]}},
            },
            {"Sid": "RunLogs", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{bucket_arn}/{logs_prefix}/*"},
        ]
    return doc(*statements)


def assume_tenant_role_policy(role_arn: str) -> dict[str, Any]:
    """SaaS: the workspace reaches the tenant's artifacts only by assuming the role the tenant created for it."""
    return doc({"Sid": "AssumeTenantRole", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": role_arn})


def read_master_secret_policy(secret_arn: str, kms_key_arn: Optional[str], region: str) -> dict[str, Any]:
    """The database bootstrap Job reads the RDS-managed master secret of one instance, nothing else."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadMasterSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secret_arn}
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "MasterSecretKms",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            }
        )
    return doc(*statements)


def tenant_trust(operator_role_arn: str | list[str], external_id: Any) -> dict[str, Any]:
    """Tenant side: only the operator's workspace role, and only with the agreed external ID."""
    return doc(
        {
            "Sid": "OperatorWorkspace",
            "Effect": "Allow",
            "Principal": {"AWS": operator_role_arn},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
        }
    )
