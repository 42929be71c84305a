"""GCP services behind the platform's interfaces, per workspace and for the control plane.

Per workspace: a dedicated Cloud SQL MySQL instance, a Google service account bound through Workload Identity to
exactly `<namespace>/zenml-server`, the Secret Manager store limited by an IAM condition to ZenML's secrets
(`zenml-*`) in the workspace's secrets project, a GCS artifact bucket (server reads, runners read/write through
their own service account bound to `<runner namespace>/zenml-runner`).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components import PACKAGE
from components.context import DeployContext
from components.database import DatabaseConnection
from components.gcp.cloudsql import MYSQL, POSTGRES, CloudSqlArgs, CloudSqlDatabase
from components.kube import env_value, labels
from components.secret_store import PREFIX, SecretStoreBinding
from components.workspace_server import MIGRATION_SA
from stack_config.cloud import GcpSettings, ManagedInstance
from stack_config.model import DatabaseMode, Scenario, SecretStoreType, StackConfig
from stack_config.model import Workspace as WorkspaceSettings

SERVER_SA = "zenml-server"
RUNNER_SA = "zenml-runner"
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
    base = f"{prefix}-{workspace}-{role}"
    if len(base) <= 30:
        return base
    return f"{base[:25].rstrip('-')}-{hashlib.sha256(base.encode()).hexdigest()[:4]}"


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


class GcpCloud:
    target = "gcp"

    def __init__(self, cfg: StackConfig, ctx: DeployContext, provider: pulumi.ProviderResource):
        assert cfg.gcp is not None
        self.cfg = cfg
        self.gcp: GcpSettings = cfg.gcp
        self.ctx = ctx
        self.provider = provider
        self.protect = ctx.protect_data
        self.airgapped = cfg.scenario is Scenario.airgapped
        self.labels = {"managed-by": "zenml-platform", **self.gcp.labels}

    def api_egress(self) -> list[dict[str, Any]]:
        rules = list(METADATA_EGRESS)
        if self.airgapped:
            rules.append({"to": [{"ipBlock": {"cidr": c}} for c in self.gcp.api_egress_cidrs], "ports": [{"protocol": "TCP", "port": 443}]})
        else:
            rules.append({"ports": [{"protocol": "TCP", "port": 443}]})
        return rules

    def sql_args(self, instance_name: str, engine, settings: ManagedInstance, database: str, username: str, extra_labels: dict[str, str]) -> CloudSqlArgs:
        g = self.gcp
        return CloudSqlArgs(
            instance_name=instance_name,
            engine=engine,
            settings=settings,
            profile=self.cfg.profile.value,
            backup_retention_days=self.cfg.defaults.backup_retention_days,
            project=g.project,
            region=g.region,
            network=g.network,
            kms_key_name=g.kms_key_name,
            labels={**self.labels, **extra_labels},
            database=database,
            username=username,
        )

    def workspace(self, ws: WorkspaceSettings, namespace: pulumi.Input[str], parent: pulumi.Resource, depends_on: list[pulumi.Resource]):
        return GcpWorkspaceServices(f"{ws.name}-gcp", ws, self, namespace, opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on))

    def control_plane_database(self, namespace: pulumi.Input[str], parent_opts: pulumi.ResourceOptions) -> DatabaseConnection:
        cp = self.cfg.control_plane
        holder = ControlPlaneDatabase("control-plane-sql-db", opts=parent_opts)
        db = CloudSqlDatabase(
            "control-plane-sql",
            self.sql_args(f"{self.gcp.name_prefix}-control-plane", POSTGRES, cp.database.managed, "zenml_pro", "zenml_pro", {"zenml-role": "control-plane"}),
            self.provider,
            self.protect,
            opts=pulumi.ResourceOptions(parent=holder),
        )
        meta = labels("zenml-pro", "control-plane")
        secret = k8s.core.v1.Secret(
            "control-plane-sql-credentials",
            metadata={"name": "control-plane-db-credentials", "namespace": namespace, "labels": meta},
            string_data={"password": db.password},
            opts=self.ctx.opts(holder, additional_secret_outputs=["stringData", "data"]),
        )
        ca = k8s.core.v1.Secret(
            "control-plane-sql-ca",
            metadata={"name": "control-plane-db-ca", "namespace": namespace, "labels": meta},
            string_data={"ca.crt": db.server_ca_pem},
            opts=self.ctx.opts(holder),
        )
        holder.register_outputs({"instance": db.instance_name})
        return DatabaseConnection(
            engine="postgres",
            host=db.address,
            port=POSTGRES.port,
            database="zenml_pro",
            username="zenml_pro",
            password_secret=secret.metadata.name,
            password_key="password",
            tls=True,
            verify_server_cert=False,
            ca_secret=ca.metadata.name,
            egress_peers=[{"ipBlock": {"cidr": self.gcp.private_services_cidr}}],
            password=db.password,
            depends_on=[db.user, db.database, secret],
        )


class ControlPlaneDatabase(pulumi.ComponentResource):
    def __init__(self, name: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{PACKAGE}:gcp:ControlPlaneDatabase", name, None, opts)


class WorkloadIdentity(pulumi.ComponentResource):
    """A Google service account that exactly one Kubernetes ServiceAccount may impersonate."""

    def __init__(self, name: str, g: GcpSettings, sa_id: str, namespace: str, service_account: str, provider: pulumi.ProviderResource, opts=None,
                 also: tuple[str, ...] = ()):
        super().__init__(f"{PACKAGE}:gcp:WorkloadIdentity", name, None, opts)
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


class GcsArtifactBucket(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        bucket_name: str,
        project: str,
        region: str,
        kms_key_name: Optional[str],
        noncurrent_days: int,
        bucket_labels: dict[str, str],
        provider,
        protect: bool,
        opts=None,
    ):
        super().__init__(f"{PACKAGE}:gcp:ArtifactBucket", name, None, opts)
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


class GcpWorkspaceServices(pulumi.ComponentResource):
    def __init__(self, name: str, ws: WorkspaceSettings, cloud: GcpCloud, namespace: pulumi.Input[str], opts=None):
        super().__init__(f"{PACKAGE}:gcp:WorkspaceServices", name, None, opts)
        cfg, g, ctx = cloud.cfg, cloud.gcp, cloud.ctx
        n = ws.name
        ns_name = cfg.namespace_of(ws)
        runner_on = cfg.runner_enabled(ws)
        meta = labels("zenml", n)
        ws_labels = {**cloud.labels, "zenml-workspace": n}
        self._cloud = cloud
        self.summary: dict[str, Any] = {"target": "gcp", "project": g.project}

        self.server = WorkloadIdentity(
            f"{n}-server-identity", g, account_id(g.name_prefix, n, "srv"), ns_name, SERVER_SA, cloud.provider, opts=pulumi.ResourceOptions(parent=self),
            # The migration Job initialises the GCP secrets store too, as its own ServiceAccount (no API token).
            also=(MIGRATION_SA,) if ws.secret_store.type is SecretStoreType.gcp else (),
        )
        self.server_annotations = self.server.annotations
        self.summary["serviceAccount"] = self.server.email

        # Artifact store: the server reads (dashboard), runners read and write.
        art = ws.artifact_store
        mode = art.mode if art is not None else ("none" if cfg.scenario is Scenario.saas else "bucket")
        self.runner_annotations: dict[str, str] = {}
        if mode == "bucket":
            bucket_name = (art.bucket_name if art else None) or _bucket_name(f"{g.name_prefix}-{n}-artifacts-{g.project}")
            bucket = GcsArtifactBucket(
                f"{n}-artifacts", bucket_name, g.project, g.region, g.kms_key_name, art.noncurrent_version_days if art else 30, ws_labels,
                cloud.provider, cloud.protect,
                opts=pulumi.ResourceOptions(parent=self),
            )
            bucket.grant(f"{n}-artifacts-server-read", "roles/storage.objectViewer", f"serviceAccount:{self.server.email}", cloud.provider)
            if runner_on:
                runner = WorkloadIdentity(
                    f"{n}-runner-identity", g, account_id(g.name_prefix, n, "run"), cfg.runner_namespace_of(ws), RUNNER_SA, cloud.provider,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                write = art is None or art.runner_write
                bucket.grant(
                    f"{n}-artifacts-runner-{'read-write' if write else 'read'}",
                    "roles/storage.objectUser" if write else "roles/storage.objectViewer",
                    f"serviceAccount:{runner.email}",
                    cloud.provider,
                )
                self.runner_annotations = runner.annotations
            self.summary["artifactStore"] = f"gs://{bucket_name}"
        elif mode == "tenant" and art is not None and art.tenant is not None:
            self.summary["artifactStore"] = f"gs://{art.tenant.bucket} (tenant project; tenant grants {self.server.email})"
            if runner_on:
                # The tenant grants write to this identity only if it enables runs (tenant program, enableRuns).
                runner = WorkloadIdentity(
                    f"{n}-runner-identity", g, account_id(g.name_prefix, n, "run"), cfg.runner_namespace_of(ws), RUNNER_SA, cloud.provider,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                self.runner_annotations = runner.annotations
                self.summary["runnerServiceAccount"] = runner.email

        # Secrets store.
        self.secret_store: Optional[SecretStoreBinding] = None
        if ws.secret_store.type is SecretStoreType.gcp:
            sel = ws.secret_store.gcp
            project = (sel.project if sel else None) or g.project
            number = (sel.project_number if sel else None) or g.project_number
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
            gcp.projects.IAMMember(
                f"{n}-secrets-binding",
                project=project,
                role=f"projects/{project}/roles/{role_id}",
                member=f"serviceAccount:{self.server.email}",
                condition=secret_condition(number),
                opts=pulumi.ResourceOptions(parent=self, provider=cloud.provider, depends_on=[role]),
            )
            self.secret_store = SecretStoreBinding(
                kind="gcp",
                env=[
                    env_value(f"{PREFIX}TYPE", "gcp"),
                    env_value(f"{PREFIX}AUTH_METHOD", "implicit"),
                    env_value(f"{PREFIX}AUTH_CONFIG", json.dumps({"project_id": project})),
                ],
                service_account_annotations=self.server_annotations,
            )
            self.summary["secretsStore"] = f"secretmanager:{project} zenml-*"

        # Database: a dedicated instance (Cloud SQL API users can read every database on their instance).
        self.database: Optional[DatabaseConnection] = None
        if ws.database.mode is DatabaseMode.managed:
            db = CloudSqlDatabase(
                f"{n}-sql",
                cloud.sql_args(_instance_name(g.name_prefix, n), MYSQL, ws.database.managed, "zenml", "zenml", {"zenml-workspace": n}),
                cloud.provider,
                cloud.protect,
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
            self.summary["database"] = {"engine": "cloudsql-mysql", "instance": db.instance_name}

        self.runner_source: Optional[str] = None
        self.runner_env: list[dict[str, Any]] = []
        self.server_egress = cloud.api_egress()
        self.runner_egress_cidrs: list[str] = ["169.254.169.252/32", *g.api_egress_cidrs]
        self.runner_egress_rules: list[dict[str, Any]] = []
        self.register_outputs({"summary": self.summary})

    def bind_runner(self, runner_namespace: pulumi.Resource, namespace: pulumi.Input[str]) -> None:
        if self.runner_annotations:
            k8s.core.v1.ServiceAccountPatch(
                f"{self._name}-runner-wi",
                metadata={"name": RUNNER_SA, "namespace": namespace, "annotations": self.runner_annotations},
                opts=self._cloud.ctx.opts(self, depends_on=[runner_namespace]),
            )


def _bucket_name(name: str) -> str:
    if len(name) <= 63:
        return name
    return f"{name[:56].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def _instance_name(prefix: str, workspace: str) -> str:
    name = f"{prefix}-{workspace}"
    return name if len(name) <= 80 else f"{name[:73]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
