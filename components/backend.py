"""The one interface a target (kubernetes, aws, gcp) implements: what it provides a workspace and the control plane.

A workspace asks its target's backend for `WorkspaceServices` with a `WorkspaceBackendArgs` (translated from the
stack file by scenarios/args.py) and consumes the answer without knowing which target gave it:

- `database`: the managed database connection (`database.mode: managed`), else None;
- `secret_store`: the binding of a cloud secrets store (`secretStore.type: aws | gcp`), else None;
- `artifact_store`: where artifacts live (`s3://...`, `gs://...`), else None;
- identity: `server_annotations` (the server's pod identity), the runner's through `bind_runner`;
- network: `server_egress` (rules for the cloud APIs), `runner_egress_cidrs`/`runner_egress_rules`;
- the workload manager variant: `runner_source` and `runner_env`;
- `outputs`: what the services report for the stack output (`CloudServicesOutputs`, typed per cloud), else None.

`KubernetesBackend` (target kubernetes) provides none of these: everything stateful runs in the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Optional, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.database import DatabaseConnection, ManagedSizing
from components.kube import labels
from components.names import RUNNER_SA
from components.secret_store import SecretStoreBinding


@dataclass(frozen=True)
class ArtifactStoreRequest:
    """What a workspace wants as its artifact store (scenarios/args.py resolves the layout's default mode)."""

    mode: str  # "bucket" (a bucket of this stack) | "tenant" (the tenant's own bucket) | "none"
    bucket_name: Optional[str] = None  # None: <prefix>-<workspace>-artifacts-<account or project>
    noncurrent_version_days: int = 30
    runner_write: bool = True  # runners read and write; the server only reads (dashboard)
    tenant_bucket: Optional[str] = None
    tenant_role_arn: Optional[str] = None  # aws: the role in the tenant account


@dataclass(frozen=True)
class ManagedDatabaseRequest:
    sizing: ManagedSizing
    shared: bool = False  # aws: a database and user on the stack's shared instance instead of a dedicated one


@dataclass(frozen=True)
class WorkspaceBackendArgs:
    workspace: str
    namespace: str  # the workspace's server namespace
    runner_namespace: Optional[str]  # None: no runner namespace (workload manager off)
    server_id: str  # the ID ZenML tags the workspace's secrets with
    pro: bool  # Pro servers take their ID from the workspace; OSS servers are given one
    server_image: str  # the workspace's server image (the AWS database bootstrap Job runs its client)
    database: Optional[ManagedDatabaseRequest] = None
    secret_store: Optional[str] = None  # "aws" | "gcp": the target's secrets store; None: another store
    secret_project: Optional[str] = None  # gcp: the secrets project (default: the stack's project)
    secret_project_number: Optional[str] = None
    artifacts: ArtifactStoreRequest = ArtifactStoreRequest(mode="none")
    runner_docker_registry: Optional[str] = None


@dataclass(frozen=True)
class ManagedDatabaseOutputs:
    """The managed database a workspace uses, by name: known in preview, unlike the host the cloud assigns."""

    engine: str  # "rds-mysql" | "cloudsql-mysql"
    instance: str  # the RDS identifier or Cloud SQL instance name
    database: Optional[str] = None  # aws: the workspace's database on the instance (shared instances hold several)
    user: Optional[str] = None  # aws: the workspace's own database user


@dataclass
class CloudServicesOutputs:
    """What a workspace's cloud services report; `stack_output()` is its `workspaces.<name>.cloud` stack output.
    Each cloud adds its own fields (`AwsServicesOutputs`, `GcpServicesOutputs`); unset fields are left out."""

    target: str  # "aws" | "gcp"
    artifact_store: Optional[str] = None  # the store's URL, with the tenant's part named when the tenant owns it
    secrets_store: Optional[str] = None  # which secrets ZenML's store may touch, e.g. "secretmanager:<project> zenml-*"
    database: Optional[ManagedDatabaseOutputs] = None

    def stack_output(self) -> dict[str, Any]:
        """camelCase keys in field order; nested typed outputs become dicts the same way."""
        return _as_output(self)


def _as_output(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(value):
        v = getattr(value, f.name)
        if v is None:
            continue
        head, *rest = f.name.split("_")
        out[head + "".join(part.capitalize() for part in rest)] = _as_output(v) if hasattr(v, "__dataclass_fields__") else v
    return out


class WorkspaceServices(Protocol):
    database: Optional[DatabaseConnection]
    secret_store: Optional[SecretStoreBinding]
    artifact_store: Optional[str]
    server_annotations: dict[str, str]
    server_egress: list[dict[str, Any]]
    runner_source: Optional[str]
    runner_env: list[dict[str, Any]]
    runner_egress_cidrs: list[str]
    runner_egress_rules: list[dict[str, Any]]
    outputs: Optional[CloudServicesOutputs]  # the `cloud` part of the workspace's stack output; None on kubernetes

    def bind_runner(self, runner_namespace: pulumi.Resource, namespace: pulumi.Input[str]) -> None: ...


class Backend(Protocol):
    target: str

    def workspace(self, args: WorkspaceBackendArgs, namespace: pulumi.Input[str], parent: pulumi.Resource,
                  depends_on: list[pulumi.Resource]) -> WorkspaceServices: ...

    def control_plane_database(self, namespace: pulumi.Input[str], sizing: ManagedSizing,
                               parent_opts: pulumi.ResourceOptions) -> DatabaseConnection: ...


@dataclass
class NoServices:
    """Target kubernetes: the cluster itself holds the databases, stores and identities."""

    database: Optional[DatabaseConnection] = None
    secret_store: Optional[SecretStoreBinding] = None
    artifact_store: Optional[str] = None
    server_annotations: dict[str, str] = field(default_factory=dict)
    server_egress: list[dict[str, Any]] = field(default_factory=list)
    runner_source: Optional[str] = None
    runner_env: list[dict[str, Any]] = field(default_factory=list)
    runner_egress_cidrs: list[str] = field(default_factory=list)
    runner_egress_rules: list[dict[str, Any]] = field(default_factory=list)
    outputs: Optional[CloudServicesOutputs] = None

    def bind_runner(self, runner_namespace: pulumi.Resource, namespace: pulumi.Input[str]) -> None:
        return None


class KubernetesBackend:
    target = "kubernetes"

    def workspace(self, args, namespace, parent, depends_on) -> WorkspaceServices:
        return NoServices()

    def control_plane_database(self, namespace, sizing, parent_opts) -> DatabaseConnection:
        raise ValueError("controlPlane.database.mode managed needs target aws or gcp")


class ResourceGroup(pulumi.ComponentResource):
    """A parent with no logic of its own that keeps related resources together (a cloud's control-plane or shared
    database). The caller passes the type token as a literal string."""

    def __init__(self, type_token: str, name: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token, name, None, opts)


class CloudWorkspaceServices(pulumi.ComponentResource):
    """What the AWS and GCP workspace services share: the attributes of `WorkspaceServices` and `bind_runner`."""

    # The name suffix of the runner ServiceAccount patch (kept per cloud: it is part of existing URNs).
    runner_patch_suffix: str

    def __init__(self, type_token: str, name: str, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions]):
        super().__init__(type_token, name, None, opts)
        self._ctx = ctx
        self.database: Optional[DatabaseConnection] = None
        self.secret_store: Optional[SecretStoreBinding] = None
        self.artifact_store: Optional[str] = None
        self.server_annotations: dict[str, str] = {}
        self.runner_annotations: dict[str, str] = {}
        self.server_egress: list[dict[str, Any]] = []
        self.runner_source: Optional[str] = None
        self.runner_env: list[dict[str, Any]] = []
        self.runner_egress_cidrs: list[str] = []
        self.runner_egress_rules: list[dict[str, Any]] = []
        self.outputs: Optional[CloudServicesOutputs] = None  # set by each cloud's constructor

    def bind_runner(self, runner_namespace: pulumi.Resource, namespace: pulumi.Input[str]) -> None:
        """Give the runner ServiceAccount (created by RunnerNamespace) its cloud identity by a server-side patch."""
        if self.runner_annotations:
            k8s.core.v1.ServiceAccountPatch(
                f"{self._name}-{self.runner_patch_suffix}",
                metadata={"name": RUNNER_SA, "namespace": namespace, "annotations": self.runner_annotations},
                opts=self._ctx.opts(self, depends_on=[runner_namespace]),
            )


def https_api_egress(air_gapped: bool, private_cidrs: list[str]) -> list[dict[str, Any]]:
    """Cloud APIs on HTTPS: only the private endpoints' ranges when air-gapped, else any destination."""
    if air_gapped:
        return [{"to": [{"ipBlock": {"cidr": c}} for c in private_cidrs], "ports": [{"protocol": "TCP", "port": 443}]}]
    return [{"ports": [{"protocol": "TCP", "port": 443}]}]


class CloudBackend:
    """What the AWS and GCP backends share: provider, deploy context, protection, and the control plane's
    database connection (its password and, when the instance has its own CA, that CA as Secrets)."""

    target: str  # "aws" | "gcp": also the suffix of each workspace's services component (<workspace>-<target>)

    def __init__(self, ctx: DeployContext, provider: pulumi.ProviderResource, services: type[CloudWorkspaceServices]):
        self.ctx = ctx
        self.provider = provider
        self.protect = ctx.protect_data
        # The target's per-workspace services component: (name, WorkspaceBackendArgs, backend, namespace, opts).
        self._services = services

    def workspace(self, args: WorkspaceBackendArgs, namespace: pulumi.Input[str], parent: pulumi.Resource,
                  depends_on: list[pulumi.Resource]) -> WorkspaceServices:
        make: Any = self._services  # each cloud's constructor takes its own backend class
        return make(f"{args.workspace}-{self.target}", args, self, namespace,
                    opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on))

    def _control_plane_connection(
        self,
        holder: pulumi.Resource,
        name: str,  # resource name prefix: control-plane-rds | control-plane-sql
        namespace: pulumi.Input[str],
        *,
        host: pulumi.Input[str],
        port: int,
        username: str,
        password: pulumi.Output,
        server_ca_pem: Optional[pulumi.Input[str]],  # the instance's own CA, pinned by the client
        verify_server_cert: bool,
        egress_cidr: str,
        depends_on: list[pulumi.Resource],
    ) -> DatabaseConnection:
        meta = labels("zenml-pro", "control-plane")
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": "control-plane-db-credentials", "namespace": namespace, "labels": meta},
            string_data={"password": password},
            opts=self.ctx.opts(holder, additional_secret_outputs=["stringData", "data"]),
        )
        ca_secret = None
        if server_ca_pem is not None:
            ca_secret = k8s.core.v1.Secret(
                f"{name}-ca",
                metadata={"name": "control-plane-db-ca", "namespace": namespace, "labels": meta},
                string_data={"ca.crt": server_ca_pem},
                opts=self.ctx.opts(holder),
            ).metadata.name
        return DatabaseConnection(
            engine="postgres",
            host=host,
            port=port,
            database="zenml_pro",
            username=username,
            password_secret=secret.metadata.name,
            password_key="password",
            tls=True,
            verify_server_cert=verify_server_cert,
            ca_secret=ca_secret,
            egress_peers=[{"ipBlock": {"cidr": egress_cidr}}],
            password=password,
            depends_on=[*depends_on, secret],
        )
