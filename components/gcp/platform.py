"""GCP services behind the platform's interfaces, per workspace and for the control plane.

Per workspace: a dedicated Cloud SQL MySQL instance, a Google service account bound through Workload Identity to
exactly `<namespace>/zenml-server`, the Secret Manager store limited by an IAM condition to ZenML's secrets
(`zenml-*`) in the workspace's secrets project, a GCS artifact bucket (server reads, runners read/write through
their own service account bound to `<runner namespace>/zenml-runner`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.backend import (
    CloudBackend,
    CloudServicesOutputs,
    CloudWorkspaceServices,
    ManagedDatabaseOutputs,
    ResourceGroup,
    WorkspaceBackendArgs,
    https_api_egress,
)
from components.context import DeployContext
from components.database import DatabaseConnection, ManagedSizing
from components.gcp.cloudsql import MYSQL, POSTGRES, CloudSqlArgs, CloudSqlDatabase
from components.kube import labels
from components.names import MIGRATION_SA, RUNNER_SA, SERVER_SA, bounded
from components.secret_store import SecretStoreBinding, cloud_store_env

# ZenML 0.98's GCP store reads and writes these (gcp_secrets_store.py); names are `zenml-<uuid>`.
SECRET_MANAGER_PERMISSIONS = [
    "secretmanager.secrets.create",
    "secretmanager.secrets.delete",
    "secretmanager.secrets.get",
    "secretmanager.secrets.update",
    "secretmanager.versions.access",
    "secretmanager.versions.add",
]
# GKE metadata server (Workload Identity tokens) as seen from pods with network policies enforced.
METADATA_EGRESS = [
    {"to": [{"ipBlock": {"cidr": "169.254.169.252/32"}}], "ports": [{"protocol": "TCP", "port": 988}]},
    {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"protocol": "TCP", "port": 80}]},
]


def account_id(prefix: str, workspace: str, role: str) -> str:
    """A service account ID (6-30 characters); long names keep a prefix and a hash."""
    return bounded(f"{prefix}-{workspace}-{role}", 30, digest=4)


def secret_condition(project_number: str) -> dict[str, str]:
    """Only ZenML's secrets (`zenml-*`); the project itself is the resource of `secrets.create`."""
    return {
        "title": "zenml-secrets-only",
        "description": "Secrets named zenml-* (ZenML secrets store) and secret creation in the project",
        "expression": (
            f'resource.name.startsWith("projects/{project_number}/secrets/zenml-") '
            '|| resource.type == "cloudresourcemanager.googleapis.com/Project"'
        ),
    }


@dataclass(frozen=True)
class GcpTarget:
    """The GCP project, cluster and network this stack deploys into (the stack file's `gcp`, translated)."""

    project: str
    project_number: str
    region: str
    name_prefix: str
    network: str
    private_services_cidr: str  # where Cloud SQL private IPs are
    api_egress_cidrs: tuple[str, ...]  # Private Google Access ranges
    labels: dict[str, str]  # on every GCP resource of the stack
    kms_key_name: Optional[str] = None
    air_gapped: bool = False  # Google APIs through the private ranges only

    @property
    def workload_pool(self) -> str:
        return f"{self.project}.svc.id.goog"


@dataclass
class GcpServicesOutputs(CloudServicesOutputs):
    """A workspace's GCP services as its stack output reports them (`workspaces.<name>.cloud`)."""

    project: str = ""
    service_account: Optional[str] = None  # the server's Google service account (Workload Identity)
    runner_service_account: Optional[str] = None  # the runners' Google service account, where runners are on


class GcpCloud(CloudBackend):
    target = "gcp"

    def __init__(self, target: GcpTarget, ctx: DeployContext, provider: pulumi.ProviderResource):
        super().__init__(ctx, provider, GcpWorkspaceServices)
        self.gcp, self.labels = target, target.labels

    def api_egress(self) -> list[dict[str, Any]]:
        return [*METADATA_EGRESS, *https_api_egress(self.gcp.air_gapped, list(self.gcp.api_egress_cidrs))]

    def sql_args(self, instance_name: str, engine, sizing: ManagedSizing, database: str, username: str, extra_labels: dict[str, str]) -> CloudSqlArgs:
        g = self.gcp
        return CloudSqlArgs(
            instance_name=instance_name,
            engine=engine,
            sizing=sizing,
            project=g.project,
            region=g.region,
            network=g.network,
            kms_key_name=g.kms_key_name,
            labels={**self.labels, **extra_labels},
            database=database,
            username=username,
            provider=self.provider,
            protect=self.protect,
        )

    def control_plane_database(self, namespace: pulumi.Input[str], sizing: ManagedSizing, parent_opts: pulumi.ResourceOptions) -> DatabaseConnection:
        holder = ResourceGroup("zenml-platform:gcp:ControlPlaneDatabase", "control-plane-sql-db", opts=parent_opts)
        db = CloudSqlDatabase(
            "control-plane-sql",
            self.sql_args(f"{self.gcp.name_prefix}-control-plane", POSTGRES, sizing, "zenml_pro", "zenml_pro", {"zenml-role": "control-plane"}),
            opts=pulumi.ResourceOptions(parent=holder),
        )
        connection = self._control_plane_connection(
            holder,
            "control-plane-sql",
            namespace,
            host=db.address,
            port=POSTGRES.port,
            username="zenml_pro",
            password=db.password,
            server_ca_pem=db.server_ca_pem,  # chain pinned to the instance's own CA; the certificate does not name the IP
            verify_server_cert=False,
            egress_cidr=self.gcp.private_services_cidr,
            depends_on=[db.user, db.database],
        )
        holder.register_outputs({"instance": db.instance_name})
        return connection


@dataclass
class WorkloadIdentityArgs:
    target: GcpTarget  # project and workload identity pool
    account_id: str  # the Google service account's ID (6-30 characters)
    namespace: str  # the Kubernetes ServiceAccount's namespace
    service_account: str  # the Kubernetes ServiceAccount that may impersonate it
    provider: pulumi.ProviderResource  # the Google provider
    also: tuple[str, ...] = ()  # other ServiceAccounts of the same namespace that may impersonate it too


class WorkloadIdentity(pulumi.ComponentResource):
    """A Google service account that exactly one Kubernetes ServiceAccount (plus `also`) may impersonate."""

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:gcp:WorkloadIdentity", name, None, opts)
        g, sa_id, namespace, service_account = args.target, args.account_id, args.namespace, args.service_account
        provider, also = args.provider, args.also
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.account = gcp.serviceaccount.Account(
            name, account_id=sa_id, project=g.project, display_name=f"{namespace}/{service_account} (zenml-platform)", opts=child
        )
        self.member = f"serviceAccount:{g.workload_pool}[{namespace}/{service_account}]"
        gcp.serviceaccount.IAMMember(
            f"{name}-wi", service_account_id=self.account.name, role="roles/iam.workloadIdentityUser", member=self.member, opts=child
        )
        for other in also:  # another ServiceAccount of the same workspace namespace (the migration Job)
            gcp.serviceaccount.IAMMember(
                f"{name}-wi-{other}", service_account_id=self.account.name, role="roles/iam.workloadIdentityUser",
                member=f"serviceAccount:{g.workload_pool}[{namespace}/{other}]", opts=child,
            )
        self.email = f"{sa_id}@{g.project}.iam.gserviceaccount.com"
        self.annotations = {"iam.gke.io/gcp-service-account": self.email}
        self.register_outputs({"email": self.email})


@dataclass
class GcsArtifactBucketArgs:
    bucket_name: str
    project: str
    region: str  # the bucket's location
    provider: pulumi.ProviderResource
    kms_key_name: Optional[str] = None  # None: Google-managed keys
    noncurrent_days: int = 30  # old object versions are deleted after this many days
    labels: dict[str, str] = field(default_factory=dict)
    protect: bool = False  # protected and retained (production profile)


class GcsArtifactBucket(pulumi.ComponentResource):
    """Outputs: `name`; `grant(...)` adds one IAM member on the bucket."""

    def __init__(self, name: str, args: GcsArtifactBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:gcp:ArtifactBucket", name, None, opts)
        a = args
        bucket_name, project, region, kms_key_name, provider = a.bucket_name, a.project, a.region, a.kms_key_name, a.provider
        noncurrent_days, bucket_labels, protect = a.noncurrent_days, a.labels, a.protect
        self.bucket = gcp.storage.Bucket(
            name,
            name=bucket_name,
            project=project,
            location=region.upper(),
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            force_destroy=False,
            encryption={"default_kms_key_name": kms_key_name} if kms_key_name else None,
            lifecycle_rules=[
                {"action": {"type": "Delete"}, "condition": {"days_since_noncurrent_time": noncurrent_days, "with_state": "ARCHIVED"}},
                {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 7}},
            ],
            labels=bucket_labels,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=protect, retain_on_delete=protect),
        )
        self.name = bucket_name
        self.register_outputs({"bucket": bucket_name})

    def grant(self, name: str, role: str, member: pulumi.Input[str], provider) -> None:
        gcp.storage.BucketIAMMember(
            name, bucket=self.bucket.name, role=role, member=member, opts=pulumi.ResourceOptions(parent=self, provider=provider)
        )


class GcpWorkspaceServices(CloudWorkspaceServices):
    runner_patch_suffix = "runner-wi"

    def __init__(self, name: str, args: WorkspaceBackendArgs, cloud: GcpCloud, namespace: pulumi.Input[str], opts=None):
        super().__init__("zenml-platform:gcp:WorkspaceServices", name, cloud.ctx, opts)
        g, ctx = cloud.gcp, cloud.ctx
        n = args.workspace
        ns_name = args.namespace
        runner_ns = args.runner_namespace
        runner_on = runner_ns is not None
        runner_ns = runner_ns or ""  # used only when runner_on
        gcp_store = args.secret_store == "gcp"
        meta = labels("zenml", n)
        ws_labels = {**cloud.labels, "zenml-workspace": n}
        self._cloud = cloud
        out = GcpServicesOutputs(target="gcp", project=g.project)

        self.server = WorkloadIdentity(
            f"{n}-server-identity",
            WorkloadIdentityArgs(
                g, account_id(g.name_prefix, n, "srv"), ns_name, SERVER_SA, cloud.provider,
                # The migration Job initialises the GCP secrets store too, as its own ServiceAccount (no API token).
                also=(MIGRATION_SA,) if gcp_store else (),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.server_annotations = self.server.annotations
        out.service_account = self.server.email

        # Runner identity: it exists whenever runners do, with no grant before an artifact store is set, so that a
        # tenant can grant its account first (docs/layouts.md, the operator/tenant handshake).
        runner: Optional[WorkloadIdentity] = None
        if runner_on:
            runner = WorkloadIdentity(
                f"{n}-runner-identity",
                WorkloadIdentityArgs(g, account_id(g.name_prefix, n, "run"), runner_ns, RUNNER_SA, cloud.provider),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.runner_annotations = runner.annotations
            out.runner_service_account = runner.email

        # Artifact store: the server reads (dashboard), runners read and write.
        art = args.artifacts
        mode = art.mode
        if mode == "bucket":
            bucket_name = art.bucket_name or bounded(f"{g.name_prefix}-{n}-artifacts-{g.project}", 63)
            bucket = GcsArtifactBucket(
                f"{n}-artifacts",
                GcsArtifactBucketArgs(
                    bucket_name=bucket_name, project=g.project, region=g.region, provider=cloud.provider,
                    kms_key_name=g.kms_key_name, noncurrent_days=art.noncurrent_version_days, labels=ws_labels,
                    protect=cloud.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            bucket.grant(f"{n}-artifacts-server-read", "roles/storage.objectViewer", f"serviceAccount:{self.server.email}", cloud.provider)
            if runner is not None:
                write = art.runner_write
                bucket.grant(
                    f"{n}-artifacts-runner-{'read-write' if write else 'read'}",
                    "roles/storage.objectUser" if write else "roles/storage.objectViewer",
                    f"serviceAccount:{runner.email}",
                    cloud.provider,
                )
            self.artifact_store = out.artifact_store = f"gs://{bucket_name}"
        elif mode == "tenant" and art.tenant_bucket is not None:
            # The tenant grants the runners' account write only if it enables runs (tenant program, enableRuns).
            self.artifact_store = f"gs://{art.tenant_bucket}"
            out.artifact_store = f"gs://{art.tenant_bucket} (tenant project; tenant grants {self.server.email})"

        # Secrets store.
        if gcp_store:
            project = args.secret_project or g.project
            number = args.secret_project_number or g.project_number
            role_id = re.sub(r"[^A-Za-z0-9_]", "_", f"zenmlSecretsStore_{g.name_prefix}_{n}")[:64]
            role = gcp.projects.IAMCustomRole(
                f"{n}-secrets-role",
                project=project,
                role_id=role_id,
                title=f"ZenML secrets store ({n})",
                description="What ZenML's GCP secrets store calls: create, read, update, delete its own secrets",
                permissions=SECRET_MANAGER_PERMISSIONS,
                opts=pulumi.ResourceOptions(parent=self, provider=cloud.provider),
            )
            gcp.projects.IAMMember(  # type: ignore[call-overload]  # the SDK types nested args as TypedDicts; plain dict literals are what its docs show
                f"{n}-secrets-binding",
                project=project,
                role=f"projects/{project}/roles/{role_id}",
                member=f"serviceAccount:{self.server.email}",
                condition=secret_condition(number),
                opts=pulumi.ResourceOptions(parent=self, provider=cloud.provider, depends_on=[role]),
            )
            self.secret_store = SecretStoreBinding(
                kind="gcp",
                env=cloud_store_env("gcp", {"project_id": project}),
                service_account_annotations=self.server_annotations,
            )
            out.secrets_store = f"secretmanager:{project} zenml-*"

        # Database: a dedicated instance (Cloud SQL API users can read every database on their instance).
        if args.database is not None:
            db = CloudSqlDatabase(
                f"{n}-sql",
                cloud.sql_args(bounded(f"{g.name_prefix}-{n}", 80, strip_dash=False), MYSQL, args.database.sizing, "zenml", "zenml", {"zenml-workspace": n}),
                opts=pulumi.ResourceOptions(parent=self),
            )
            credentials = k8s.core.v1.Secret(
                f"{n}-db-credentials",
                metadata={"name": "zenml-db-credentials", "namespace": namespace, "labels": meta},
                string_data={"username": "zenml", "password": db.password},
                opts=ctx.opts(self, additional_secret_outputs=["stringData", "data"]),
            )
            ca = k8s.core.v1.Secret(
                f"{n}-db-ca",
                metadata={"name": "zenml-db-ca", "namespace": namespace, "labels": meta},
                string_data={"ca.crt": db.server_ca_pem},
                opts=ctx.opts(self),
            )
            self.database = DatabaseConnection(
                engine="mysql",
                host=db.address,
                port=MYSQL.port,
                database="zenml",
                username="zenml",
                password_secret=credentials.metadata.name,
                password_key="password",
                tls=True,
                verify_server_cert=False,  # chain pinned to the instance's own CA; the certificate does not name the IP
                ca_secret=ca.metadata.name,
                egress_peers=[{"ipBlock": {"cidr": g.private_services_cidr}}],
                depends_on=[db.user, db.database, credentials, ca],
            )
            out.database = ManagedDatabaseOutputs(engine="cloudsql-mysql", instance=db.instance_name)

        self.server_egress = cloud.api_egress()
        self.runner_egress_cidrs = ["169.254.169.252/32", *g.api_egress_cidrs]
        self.outputs = out
        self.register_outputs({"cloud": out.stack_output()})
