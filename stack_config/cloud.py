"""Cloud settings: where the given EKS/GKE cluster lives, and managed databases, secrets stores, artifact stores.

The cluster, its OIDC provider (EKS) or Workload Identity pool (GKE), the VPC and its subnets are *inputs*: this
project never creates clusters or networks. Identifiers are passed in config (account ID, project number) so a
plan needs no cloud API call.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import Field, field_validator, model_validator

from stack_config.base import Cidr, Section, matching
from stack_config.pem import PemCertificates

AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
AWS_ACCOUNT = re.compile(r"^[0-9]{12}$")
OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/(?P<issuer>[!-~]+)$")
IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$")
GCP_PROJECT = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
GCP_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]$")
NAME_PREFIX = re.compile(r"^[a-z][-a-z0-9]{0,14}$")

AwsRegion = Annotated[str, matching(AWS_REGION, "must be an AWS region such as eu-central-1")]
AwsAccountId = Annotated[str, matching(AWS_ACCOUNT, "must be a 12-digit AWS account ID (quote it in YAML)")]
GcpProjectId = Annotated[str, matching(GCP_PROJECT, "must be a GCP project ID")]
GcpRegion = Annotated[str, matching(GCP_REGION, "must be a GCP region such as europe-west3")]
NamePrefix = Annotated[
    str, matching(NAME_PREFIX, "must be lower-case letters, digits and '-', at most 15 characters, starting with a letter")
]
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class EksCluster(Section):
    """The given EKS cluster (created elsewhere)."""

    name: str = Field(description="EKS cluster name (workload manager: eks:DescribeCluster).")
    oidc_provider_arn: str = Field(
        description="IAM OIDC provider of the cluster, arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<ID>."
    )
    node_security_group_id: str = Field(description="Security group of the nodes: attached with each database client group to the pods that talk to a database (security groups for pods keep DNS, ingress and probes working); no database admits it.")

    @field_validator("oidc_provider_arn")
    @classmethod
    def _arn(cls, v: str) -> str:
        if not OIDC_PROVIDER_ARN.fullmatch(v):
            raise ValueError("must be an IAM OIDC provider ARN: arn:aws:iam::<account>:oidc-provider/<issuer host/path>")
        return v

    @property
    def issuer(self) -> str:
        """Issuer without scheme, the prefix of IRSA condition keys (`<issuer>:sub`, `<issuer>:aud`)."""
        m = OIDC_PROVIDER_ARN.fullmatch(self.oidc_provider_arn)
        assert m
        return m.group("issuer")


class ManagedInstance(Section):
    """Size and protection of one managed database instance (RDS or Cloud SQL). Unset values follow the profile."""

    instance_class: Optional[str] = Field(None, description="RDS instance class (db.t4g.medium) or Cloud SQL tier (db-custom-2-7680).")
    storage_gb: Optional[int] = Field(None, ge=10, le=65536)
    max_storage_gb: Optional[int] = Field(None, ge=10, le=65536, description="Storage autoscaling ceiling; default 4x storageGb.")
    high_availability: Optional[bool] = Field(None, description="RDS Multi-AZ / Cloud SQL REGIONAL; default: on in production.")
    backup_retention_days: Optional[int] = Field(None, ge=7, le=35, description="At least 7; default: from the profile (min 7).")
    engine_version: Optional[str] = Field(None, description="Default: MySQL 8.0 for workspaces, PostgreSQL 16 for the control plane.")


class ManagedDatabase(ManagedInstance):
    """`database.mode: managed`: RDS (aws) or Cloud SQL (gcp)."""

    instance: Literal["dedicated", "shared"] = Field(
        "dedicated",
        description="dedicated: one instance for this workspace; shared: a database and user on `aws.sharedDatabase` (aws only).",
    )


class AwsSettings(Section):
    region: AwsRegion
    account_id: AwsAccountId = Field(description="12-digit account ID (given, so plans need no STS call).")
    partition: Literal["aws", "aws-us-gov", "aws-cn"] = "aws"
    name_prefix: NamePrefix = Field("zenml", description="Prefix of IAM roles, RDS identifiers and buckets; unique per account.")
    eks: EksCluster
    vpc_id: str
    vpc_cidr: Cidr = Field(description="CIDR of the VPC: databases and private (interface) endpoints live in it.")
    database_subnet_ids: list[str] = Field(description="At least two private subnets in different AZs for RDS.")
    kms_key_arn: Optional[str] = Field(None, description="Customer-managed KMS key for RDS, S3 and the master secrets; default: AWS-managed keys.")
    rds_ca_certificate: Optional[PemCertificates] = Field(
        None, description="PEM bundle of the RDS CA (truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem); servers verify with it."
    )
    shared_database: Optional[ManagedInstance] = Field(None, description="The instance used by workspaces with database.managed.instance shared.")
    workload_manager: Literal["aws", "kubernetes"] = Field(
        "aws", description="Runner workload manager variant: aws adds EKS/ECR/S3-logs permissions and external logs."
    )
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("database_subnet_ids")
    @classmethod
    def _subnets(cls, v: list[str]) -> list[str]:
        if len(v) < 2:
            raise ValueError("RDS needs at least two subnets in different availability zones")
        return v

    @property
    def arn_prefix(self) -> str:
        return f"arn:{self.partition}"

    def role_arn(self, role_name: str) -> str:
        return f"{self.arn_prefix}:iam::{self.account_id}:role/{role_name}"


class GkeCluster(Section):
    name: str
    location: str = Field(description="Region or zone of the cluster.")


class GcpSettings(Section):
    project: GcpProjectId
    project_number: str = Field(description="Numeric project number (IAM conditions use it in resource names).")
    region: GcpRegion
    name_prefix: NamePrefix = "zenml"
    gke: GkeCluster
    network: str = Field(description="VPC network self link/ID with private services access (Cloud SQL private IP).")
    private_services_cidr: Cidr = Field(description="Reserved range for private services: where Cloud SQL private IPs are.")
    api_egress_cidrs: list[Cidr] = Field(
        default_factory=lambda: ["199.36.153.8/30", "199.36.153.4/30"],
        description="Google APIs reachable from pods: private.googleapis.com and restricted.googleapis.com by default.",
    )
    kms_key_name: Optional[str] = Field(None, description="CMEK for Cloud SQL and GCS; default: Google-managed keys.")
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("project_number")
    @classmethod
    def _number(cls, v: str) -> str:
        if not re.fullmatch(r"[0-9]{1,20}", str(v)):
            raise ValueError("must be the numeric project number (quote it in YAML)")
        return str(v)

    @property
    def workload_pool(self) -> str:
        return f"{self.project}.svc.id.goog"


class GcpSecretStore(Section):
    project: Optional[str] = Field(
        None,
        description="Project holding this workspace's secrets; default gcp.project. ZenML names secrets zenml-<uuid> in a fixed "
        "scheme, so only a project per workspace isolates workspaces from each other (required in every layout: two workspaces never resolve to one project).",
    )
    project_number: Optional[str] = None

    @model_validator(mode="after")
    def _both(self) -> GcpSecretStore:
        if (self.project is None) != (self.project_number is None):
            raise ValueError("secretStore.gcp.project and projectNumber are given together")
        return self


class TenantArtifactStore(Section):
    """The artifact store lives in the tenant's cloud (saas): the workspace only gets to assume the tenant's role."""

    bucket: str
    role_arn: Optional[str] = Field(None, description="aws: role in the tenant account created by the tenant program.")

    @field_validator("role_arn")
    @classmethod
    def _role(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not IAM_ROLE_ARN.fullmatch(v):
            raise ValueError("must be an IAM role ARN")
        return v


class ArtifactStoreSettings(Section):
    mode: Literal["bucket", "tenant", "none"] = Field(
        "bucket", description="bucket: an S3/GCS bucket in this stack; tenant: the tenant's own bucket (saas); none."
    )
    bucket_name: Optional[str] = Field(None, description="Default: <prefix>-<workspace>-artifacts-<account or project>.")
    noncurrent_version_days: int = Field(30, ge=1, description="Old object versions expire after this many days.")
    runner_write: bool = Field(True, description="Runner pods read and write; the server only reads (dashboard).")
    tenant: Optional[TenantArtifactStore] = None

    @field_validator("bucket_name")
    @classmethod
    def _bucket(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not BUCKET.fullmatch(v):
            raise ValueError("must be a valid bucket name (3-63 lower-case letters, digits, '.', '-')")
        return v

    @model_validator(mode="after")
    def _tenant(self) -> ArtifactStoreSettings:
        if self.mode == "tenant" and self.tenant is None:
            raise ValueError("mode tenant needs artifactStore.tenant.bucket")
        return self


def check_cloud(cfg) -> list:
    """Cloud rules (called from rules.check_stack). `cfg` is a StackConfig; imported lazily to avoid a cycle."""
    from stack_config.errors import Problem
    from stack_config.model import DatabaseMode, Scenario, SecretStoreType

    problems: list[Problem] = []
    add = lambda path, reason: problems.append(Problem(path, reason))  # noqa: E731
    target = cfg.target.value
    if target == "aws" and cfg.aws is None:
        add("aws", "target aws needs aws settings: region, accountId, eks, vpcId, vpcCidr, databaseSubnetIds")
    if target == "gcp" and cfg.gcp is None:
        add("gcp", "target gcp needs gcp settings: project, projectNumber, region, gke, network, privateServicesCidr")
    for other in ("aws", "gcp"):
        if getattr(cfg, other) is not None and target != other:
            add(other, f"{other} settings are only used with target {other} (target is {target})")

    databases = [(f"workspaces[{i}].database", ws.database) for i, ws in enumerate(cfg.workspaces)]
    if cfg.control_plane.enabled:
        databases.append(("controlPlane.database", cfg.control_plane.database))
    uses_managed = False
    for path, db in databases:
        if db.mode is not DatabaseMode.managed:
            continue
        uses_managed = True
        if target == "kubernetes":
            add(f"{path}.mode", "managed databases need target aws (RDS) or gcp (Cloud SQL); use in-cluster or external")
        if db.managed.instance == "shared":
            if path.startswith("controlPlane"):
                add(f"{path}.managed.instance", "the control plane never shares a database instance with workspaces: use dedicated")
            elif target == "gcp":
                add(
                    f"{path}.managed.instance",
                    "Cloud SQL users created through the API can read every database on the instance: use dedicated on gcp",
                )
            elif target == "aws" and cfg.aws is not None and cfg.aws.shared_database is None:
                add("aws.sharedDatabase", f"{path}.managed.instance is shared: describe the shared instance in aws.sharedDatabase")
    if target == "aws" and cfg.aws is not None and uses_managed and cfg.aws.rds_ca_certificate is None:
        # Every profile: PyMySQL verifies nothing without an explicit CA, and the bootstrap Job would send the
        # master credentials to an unverified server. Fail closed instead.
        add("aws.rdsCaCertificate", "managed databases are verified against the RDS CA bundle: give it (PEM, "
            "https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem); nothing connects unverified")

    gcp_secret_projects: dict[str, str] = {}
    buckets: dict[str, str] = {}
    for i, ws in enumerate(cfg.workspaces):
        path = f"workspaces[{i}]"
        st = ws.secret_store.type
        if st is SecretStoreType.aws and target != "aws":
            add(f"{path}.secretStore.type", "the aws secrets store needs target aws (the server's IRSA role)")
        if st is SecretStoreType.gcp and target != "gcp":
            add(f"{path}.secretStore.type", "the gcp secrets store needs target gcp (Workload Identity)")
        if ws.secret_store.gcp is not None and st is not SecretStoreType.gcp:
            add(f"{path}.secretStore.gcp", "gcp settings are only used with secretStore.type gcp")
        if st is SecretStoreType.gcp and cfg.gcp is not None:
            project = (ws.secret_store.gcp.project if ws.secret_store.gcp else None) or cfg.gcp.project
            # Every layout: ZenML 0.98 names GCP secrets zenml-<uuid> under projects/<project> with no per-server
            # prefix (zenml/zen_stores/secrets_stores/gcp_secrets_store.py), so one IAM condition cannot tell two
            # workspaces' secrets apart: only a project per workspace does.
            if project in gcp_secret_projects:
                who = "tenants" if cfg.scenario is Scenario.saas else "workspaces"
                add(
                    f"{path}.secretStore.gcp.project",
                    f"{who} never share a Secret Manager project (also {gcp_secret_projects[project]}): ZenML's secret "
                    "names cannot be scoped per workspace inside one project, so each server could read and delete the "
                    "other's secrets; give this workspace its own secretStore.gcp.project and projectNumber",
                )
            gcp_secret_projects.setdefault(project, path)
        art = ws.artifact_store
        if art is None:
            continue
        if target == "kubernetes":
            add(f"{path}.artifactStore", "artifact stores are created on target aws or gcp only")
            continue
        mode = art.mode
        if mode == "bucket" and art.bucket_name:
            if art.bucket_name in buckets:
                add(f"{path}.artifactStore.bucketName", f"bucket {art.bucket_name} is already the artifact store of {buckets[art.bucket_name]}")
            buckets.setdefault(art.bucket_name, path)
        if cfg.scenario is Scenario.saas and mode == "bucket":
            add(f"{path}.artifactStore.mode", "in the saas layout artifacts stay in the tenant's cloud: use mode tenant (or none)")
        if mode == "tenant" and art.tenant is not None:
            if target == "aws" and art.tenant.role_arn is None:
                add(f"{path}.artifactStore.tenant.roleArn", "the tenant's role (output `roleArn` of the tenant program) is required on aws")
            if target == "gcp" and art.tenant.role_arn is not None:
                add(f"{path}.artifactStore.tenant.roleArn", "on gcp the tenant grants the workspace's service account directly; no role")
    return problems

