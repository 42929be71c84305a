"""One workspace: its namespace, database, secrets store, runner namespace, server and ingress.

Everything is parented to this component and named after the workspace, so adding or removing one workspace
never changes a URN of another. The constructor reads as the steps it takes; each step is a method.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional, Union

import pulumi

from components.backend import (
    Backend,
    KubernetesBackend,
    ManagedDatabaseRequest,
    WorkspaceBackendArgs,
    WorkspaceServices,
)
from components.database import DatabaseConnection, database_egress
from components.external_database import ExternalDatabaseArgs, ExternalDatabaseLink
from components.in_cluster_database import InClusterDatabaseArgs, MariaDbDatabase, MySqlDatabase
from components.ingress import IngressArgs, IngressHost
from components.kube import labels
from components.namespace import NamespaceArgs, PlatformNamespace
from components.runner_namespace import RunnerNamespace, RunnerNamespaceArgs
from components.secret_store import (
    SecretStoreBinding,
    SqlSecretStore,
    SqlSecretStoreArgs,
    VaultSecretStore,
    VaultSecretStoreArgs,
)
from components.secret_values import ConfigSecret, SecretBundle
from components.workspace_server import ProSettings, WorkspaceServer, WorkspaceServerArgs

DATABASE = "zenml"
DB_USER = "zenml"


@dataclass(frozen=True)
class ProEnrollmentArgs:
    """How a Pro workspace enrolls with its control plane (this stack's or the hosted one)."""

    api_url: str
    dashboard_url: str
    organization_id: str
    workspace_id: str
    enrollment_key: ConfigSecret
    organization_name: Optional[str] = None
    workspace_name: Optional[str] = None
    oauth2_audience: Optional[str] = None
    hosted: bool = False  # the control plane is outside this stack: the server may reach it on 443


# The workspace's database: in the cluster (MySQL or MariaDB), an existing one, or the target's managed one.
WorkspaceDatabase = Union[InClusterDatabaseArgs, ExternalDatabaseArgs, ManagedDatabaseRequest]
# The workspace's secrets store: in its database (sql), Vault, or the target's (the backend's binding).
WorkspaceSecretStore = Union[SqlSecretStoreArgs, VaultSecretStoreArgs, None]


@dataclass
class WorkspaceArgs:
    name: str  # names the namespace, resources and database; unique in the stack
    namespace: str  # the server's namespace
    edition: str  # "oss" | "pro"
    database: WorkspaceDatabase
    secret_store: WorkspaceSecretStore  # None: the backend's store (secretStore.type aws | gcp)
    server: WorkspaceServerArgs  # namespace, database and secrets store are filled in here
    backend: WorkspaceBackendArgs  # what the target provides this workspace
    database_engine: str = "mysql"  # in-cluster: "mysql" | "mariadb"
    pro: Optional[ProEnrollmentArgs] = None
    secret_env: dict[str, ConfigSecret] = field(default_factory=dict)  # extra secret environment variables
    runner: Optional[RunnerNamespaceArgs] = None  # None: no runner namespace (workload manager off)
    ingress: Optional[IngressArgs] = None  # None: no Ingress (the server is reached some other way)
    ingress_controller_namespace: str = "ingress-nginx"
    api_server_cidrs: list[str] = field(default_factory=list)  # the Kubernetes API (workload manager); [] = any
    server_egress_cidrs: list[str] = field(default_factory=list)  # extra server destinations (OIDC, Vault, ...)


class Workspace(pulumi.ComponentResource):
    """Outputs: `url`, `namespace`, `runner_namespace`, `database` (DatabaseConnection), `secret_store_kind`,
    `services` (what the target provided), `admin_username`/`admin_password` (OSS servers' generated admin)."""

    def __init__(
        self,
        name: str,
        args: WorkspaceArgs,
        ctx,
        backend: Optional[Backend] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("zenml-platform:platform:Workspace", name, None, opts)
        self._args, self._ctx = args, ctx
        self._meta = labels("zenml", args.name)
        ns = self._namespace()
        self._in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        services = (backend or KubernetesBackend()).workspace(args.backend, ns.name, self, [ns])
        connection = self._database(ns, services)
        store = self._secret_store(ns, services)
        pro, secret_env, created = self._config_secrets(ns)
        runner_env = self._runners(services)
        server = self._server(ns, connection, store, pro, secret_env, created, runner_env, services)
        if args.ingress is not None:
            IngressHost(
                f"{args.name}-ingress",
                replace(args.ingress, namespace=ns.name, service_name=server.service.metadata.name),
                ctx,
                opts=self._in_ns,
            )

        self.url = args.server.server_url
        self.namespace = args.namespace
        self.runner_namespace = args.runner.namespace if args.runner is not None else None
        self.database = connection
        self.secret_store_kind = store.kind
        self.services = services
        self.admin_username = server.admin_username
        self.admin_password = server.admin_password
        self.register_outputs({"url": self.url, "namespace": args.namespace})

    def _namespace(self) -> PlatformNamespace:
        a = self._args
        return PlatformNamespace(
            f"{a.name}-ns",
            NamespaceArgs(
                a.namespace,
                labels={"zenml-platform.io/workspace": a.name, "zenml-platform.io/role": "server"},
                retain=self._ctx.protect_data,
            ),
            self._ctx,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _database(self, ns: PlatformNamespace, services: WorkspaceServices) -> DatabaseConnection:
        """Never shared with another workspace."""
        a, db = self._args, self._args.database
        if isinstance(db, InClusterDatabaseArgs):
            # MySQL unless the workspace asks for MariaDB; the resource names carry the engine.
            server_class = MariaDbDatabase if a.database_engine == "mariadb" else MySqlDatabase
            return server_class(
                f"{a.name}-{server_class.engine.kind}", replace(db, namespace=ns.name), self._ctx, opts=self._in_ns
            ).connection
        if isinstance(db, ExternalDatabaseArgs):
            return ExternalDatabaseLink(
                f"{a.name}-db", replace(db, namespace=ns.name, labels=self._meta), self._ctx, opts=self._in_ns
            ).connection
        if services.database is None:
            raise ValueError(f"workspace {a.name}: database.mode managed needs target aws or gcp")
        return services.database

    def _secret_store(self, ns: PlatformNamespace, services: WorkspaceServices) -> SecretStoreBinding:
        a, store = self._args, self._args.secret_store
        if isinstance(store, VaultSecretStoreArgs):
            return VaultSecretStore(f"{a.name}-secrets", replace(store, namespace=ns.name), self._ctx, opts=self._in_ns).binding
        if isinstance(store, SqlSecretStoreArgs):
            return SqlSecretStore(f"{a.name}-secrets", replace(store, namespace=ns.name), self._ctx, opts=self._in_ns).binding
        if services.secret_store is None:
            raise ValueError(f"workspace {a.name}: secretStore.type {a.backend.secret_store} needs its cloud target")
        return services.secret_store

    def _config_secrets(self, ns: PlatformNamespace):
        """Secrets from config for this workspace (enrollment key, extra secret env) in one owned Secret."""
        a = self._args
        bundle = SecretBundle(f"{a.name}-config-secrets", "zenml-server-config", ns.name, self._ctx, self)
        pro: Optional[ProSettings] = None
        if a.pro is not None:
            p = a.pro
            key_secret, key_key = bundle.ref("enrollment-key", p.enrollment_key)
            pro = ProSettings(
                api_url=p.api_url,
                dashboard_url=p.dashboard_url,
                organization_id=p.organization_id,
                workspace_id=p.workspace_id,
                enrollment_key_secret=key_secret,
                enrollment_key_key=key_key,
                organization_name=p.organization_name,
                workspace_name=p.workspace_name or a.name,
                oauth2_audience=p.oauth2_audience,
            )
        secret_env = []
        for env_name, value in sorted(a.secret_env.items()):
            sname, skey = bundle.ref(env_name.lower().replace("_", "-"), value)
            secret_env.append({"name": env_name, "valueFrom": {"secretKeyRef": {"name": sname, "key": skey}}})
        return pro, secret_env, bundle.create(self._meta)

    def _runners(self, services: WorkspaceServices) -> list[dict[str, Any]]:
        """The runner namespace for the workload manager, with the target's egress and identity."""
        r = self._args.runner
        if r is None:
            return []
        runner = RunnerNamespace(
            f"{self._args.name}-runners",
            replace(
                r,
                egress_cidrs=[*r.egress_cidrs, *services.runner_egress_cidrs],
                egress_rules=[*r.egress_rules, *services.runner_egress_rules],
                extra_env=[*r.extra_env, *services.runner_env],
                implementation_source=services.runner_source or r.implementation_source,
            ),
            self._ctx,
            opts=pulumi.ResourceOptions(parent=self),
        )
        services.bind_runner(runner, r.namespace)
        return runner.server_env

    def _traffic(self, connection: DatabaseConnection, store: SecretStoreBinding, services: WorkspaceServices):
        """Who may reach the server, and where the server may go."""
        a = self._args
        by_name = lambda ns: {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}  # noqa: E731
        ingress_sources = [by_name(a.ingress_controller_namespace)]
        if a.runner is not None:
            ingress_sources.append(by_name(a.runner.namespace))
        egress: list[dict[str, Any]] = [
            {"to": [by_name(a.ingress_controller_namespace)], "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 80}]}
        ]
        if not isinstance(a.database, InClusterDatabaseArgs):
            egress.append(database_egress(connection))  # in-cluster: the database's own client-egress policy
        if a.runner is not None:
            # The API server is not a pod: pin its addresses when known, else only its ports.
            api_ports = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]
            if a.api_server_cidrs:
                egress.append({"to": [{"ipBlock": {"cidr": c}} for c in a.api_server_cidrs], "ports": api_ports})
            else:
                egress.append({"ports": api_ports})
        if a.pro is not None and a.pro.hosted:
            egress.append({"ports": [{"protocol": "TCP", "port": 443}]})  # the hosted control plane
        egress.extend(services.server_egress)  # the cloud APIs this workspace uses (STS, secrets, object storage)
        cidrs = [*a.server_egress_cidrs, *store.egress_cidrs]
        if cidrs:
            egress.append({"to": [{"ipBlock": {"cidr": c}} for c in cidrs]})
        return ingress_sources, egress

    def _server(self, ns, connection, store, pro, secret_env, created, runner_env, services) -> WorkspaceServer:
        a = self._args
        ingress_sources, egress = self._traffic(connection, store, services)
        s = a.server
        return WorkspaceServer(
            f"{a.name}-server",
            replace(
                s,
                namespace=ns.name,
                database=connection,
                secret_store=store,
                # The secrets store is initialised by the migration too: it needs the store's cloud identity (the
                # server's role/service account, which also trusts zenml-migration), nothing else.
                migration_service_account_annotations={**store.service_account_annotations, **s.service_account_annotations},
                pro=pro,
                workload_manager_env=runner_env,
                needs_kubernetes_api=a.runner is not None,
                secret_env=secret_env,
                service_account_annotations={**services.server_annotations, **s.service_account_annotations},
                ingress_sources=ingress_sources,
                egress_rules=egress,
            ),
            self._ctx,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, *([created] if created else [])]),
        )
