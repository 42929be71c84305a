"""One workspace: its namespace, database, secrets store, runner namespace, server and ingress.

Everything is parented to this component and named after the workspace, so adding or removing one workspace
never changes a URN of another.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol

import pulumi

from components import PACKAGE
from components.context import DeployContext
from components.external_database import ExternalDatabaseLink
from components.in_cluster_database import MariaDbDatabase, MySqlDatabase
from components.ingress import IngressArgs, IngressHost
from components.internal_ca import InternalCertificateAuthority
from components.kube import labels, resources, tolerations
from components.namespace import PlatformNamespace
from components.runner_namespace import RunnerNamespace, RunnerNamespaceArgs
from components.secret_store import SecretStoreBinding, SqlSecretStore, VaultSecretStore
from components.secret_values import SecretBundle
from components.workspace_server import ProSettings, WorkspaceServer, WorkspaceServerArgs
from stack_config.model import DatabaseMode, Edition, SecretStoreType, StackConfig
from stack_config.model import Workspace as WorkspaceSettings

DATABASE = "zenml"
DB_USER = "zenml"


class CloudServices(Protocol):
    """Cloud implementations (components/aws, components/gcp) behind the same interfaces, chosen by the scenario.

    `workspace(...)` returns an object with: `database` (DatabaseConnection for `database.mode: managed`),
    `secret_store` (SecretStoreBinding for type aws/gcp), `server_annotations` (pod identity of the server),
    `server_egress` (NetworkPolicy egress rules for cloud APIs), `runner_source`/`runner_env`/`runner_egress_cidrs`/`runner_egress_rules`
    (workload manager variant) and `bind_runner(runner, namespace)`, and a `summary` dict.
    """

    def workspace(self, ws: WorkspaceSettings, namespace: Any, parent: pulumi.Resource, depends_on: list) -> Any: ...


class Workspace(pulumi.ComponentResource):
    def __init__(
        self,
        ws: WorkspaceSettings,
        cfg: StackConfig,
        ctx: DeployContext,
        ingress_ca: Optional[InternalCertificateAuthority],
        database_ca: Optional[InternalCertificateAuthority],
        trusted_ca_pem: Optional[pulumi.Input[str]] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        cloud: Optional[CloudServices] = None,
    ):
        super().__init__(f"{PACKAGE}:platform:Workspace", ws.name, None, opts)
        n = ws.name
        defaults = cfg.defaults
        edition = cfg.edition_of(ws)
        version = cfg.version_of(ws)
        meta = labels("zenml", n)
        ns_name = cfg.namespace_of(ws)
        runner_ns_name = cfg.runner_namespace_of(ws)

        ns = PlatformNamespace(
            f"{n}-ns",
            ns_name,
            ctx,
            labels={"zenml-platform.io/workspace": n, "zenml-platform.io/role": "server"},
            retain=ctx.protect_data,
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        cw = cloud.workspace(ws, ns.name, self, [ns]) if cloud is not None else None

        # Database: never shared with another workspace.
        if ws.database.mode is DatabaseMode.in_cluster:
            init_sql = None
            if ws.database.migration_backup_strategy == "database":
                init_sql = (
                    f"CREATE DATABASE IF NOT EXISTS `{DATABASE}_backup`;\n"
                    f"GRANT ALL PRIVILEGES ON `{DATABASE}_backup`.* TO '{DB_USER}'@'%';\n"
                )
            # MySQL unless the workspace asks for MariaDB; the resource names carry the engine.
            mariadb = ws.database.in_cluster.engine == "mariadb"
            server_class = MariaDbDatabase if mariadb else MySqlDatabase
            db = server_class(
                f"{n}-{server_class.engine.kind}",
                namespace=ns.name,
                namespace_name=ns_name,
                ctx=ctx,
                image=ctx.images(cfg.images.mariadb if mariadb else cfg.images.mysql),
                settings=ws.database.in_cluster,
                defaults=defaults,
                database=DATABASE,
                username=DB_USER,
                instance=n,
                ca=database_ca,
                init_sql=init_sql,
                opts=in_ns,
            )
            connection = db.connection
        elif ws.database.mode is DatabaseMode.managed:
            assert cw is not None and cw.database is not None, "managed databases need a cloud target"
            connection = cw.database
        else:
            assert ws.database.external is not None
            link = ExternalDatabaseLink(f"{n}-db", ns.name, ctx, "mysql", ws.database.external, meta, opts=in_ns)
            connection = link.connection

        # Secrets store.
        store: SecretStoreBinding
        if ws.secret_store.type is SecretStoreType.hashicorp:
            assert ws.secret_store.vault is not None
            store = VaultSecretStore(f"{n}-secrets", ns.name, ctx, ws.secret_store.vault, meta, opts=in_ns).binding
        elif ws.secret_store.type in (SecretStoreType.aws, SecretStoreType.gcp):
            assert cw is not None and cw.secret_store is not None, "cloud secrets stores need a cloud target"
            store = cw.secret_store
        else:
            store = SqlSecretStore(f"{n}-secrets", ns.name, ctx, ws.secret_store, meta, opts=in_ns).binding

        # Secrets from config for this workspace (enrollment key, extra secret env) in one owned Secret.
        bundle = SecretBundle(f"{n}-config-secrets", "zenml-server-config", ns.name, ctx, self)
        pro: Optional[ProSettings] = None
        if edition is Edition.pro:
            assert ws.pro is not None and cfg.pro_api_url and cfg.pro_dashboard_url
            key_secret, key_key = bundle.ref("enrollment-key", ws.pro.enrollment_key)
            pro = ProSettings(
                api_url=cfg.pro_api_url,
                dashboard_url=cfg.pro_dashboard_url,
                organization_id=str(ws.pro.organization_id),
                workspace_id=str(ws.pro.workspace_id),
                enrollment_key_secret=key_secret,
                enrollment_key_key=key_key,
                organization_name=ws.pro.organization_name,
                workspace_name=ws.pro.workspace_name or n,
                oauth2_audience=ws.pro.oauth2_audience,
            )
        secret_env = []
        for env_name, value in sorted(ws.secret_env.items()):
            sname, skey = bundle.ref(env_name.lower().replace("_", "-"), value)
            secret_env.append({"name": env_name, "valueFrom": {"secretKeyRef": {"name": sname, "key": skey}}})
        created = bundle.create(meta)

        # Runner namespace for the workload manager.
        runner_env: list[dict[str, Any]] = []
        runner_on = cfg.runner_enabled(ws)
        if runner_on:
            r = ws.runner
            runner = RunnerNamespace(
                f"{n}-runners",
                RunnerNamespaceArgs(
                    workspace=n,
                    namespace=runner_ns_name,
                    server_namespace=ns_name,
                    server_service_account="zenml-server",
                    runner_image=ctx.images(r.image or f"zenmldocker/zenml:{version}-py3.11"),
                    pod_resources={
                        "requests": r.pod_resources.requests.model_dump(exclude_none=True),
                        "limits": r.pod_resources.limits.model_dump(exclude_none=True),
                    },
                    quota_cpu=r.quota.cpu,
                    quota_memory=r.quota.memory,
                    quota_pods=r.quota.pods,
                    ttl_seconds_after_finished=r.ttl_seconds_after_finished,
                    backoff_limit=r.backoff_limit,
                    node_selector=r.node_selector,
                    tolerations=tolerations(r.tolerations),
                    egress_cidrs=[*r.egress.allow_cidrs, *(cw.runner_egress_cidrs if cw else [])],
                    egress_namespaces=r.egress.allow_namespaces,
                    egress_rules=list(getattr(cw, "runner_egress_rules", [])) if cw else [],
                    allow_internet=r.egress.allow_internet,
                    build_runner_image=r.build_runner_image,
                    docker_registry=r.docker_registry,
                    **({"implementation_source": cw.runner_source} if cw is not None and cw.runner_source else {}),
                    extra_env=list(cw.runner_env) if cw is not None else [],
                ),
                ctx,
                opts=pulumi.ResourceOptions(parent=self),
            )
            runner_env = runner.server_env
            if cw is not None:
                cw.bind_runner(runner, runner_ns_name)

        # Who may reach the server, and where the server may go.
        ingress_sources = [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ctx.ingress_controller_namespace}}},
        ]
        if runner_on:
            ingress_sources.append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": runner_ns_name}}})
        egress: list[dict[str, Any]] = [
            {
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ctx.ingress_controller_namespace}}}],
                "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 80}],
            }
        ]
        if ws.database.mode in (DatabaseMode.external, DatabaseMode.managed):
            egress.append(
                {"to": connection.egress_peers, "ports": [{"protocol": "TCP", "port": connection.port}]}
                if connection.egress_peers
                else {"ports": [{"protocol": "TCP", "port": connection.port}]}
            )
        if runner_on:
            # The API server is not a pod: pin its addresses when known, else only its ports.
            api_ports = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]
            if ctx.api_server_cidrs:
                egress.append({"to": [{"ipBlock": {"cidr": c}} for c in ctx.api_server_cidrs], "ports": api_ports})
            else:
                egress.append({"ports": api_ports})
        if pro is not None and not cfg.control_plane.enabled:
            egress.append({"ports": [{"protocol": "TCP", "port": 443}]})  # the hosted control plane
        if cw is not None:
            egress.extend(cw.server_egress)  # the cloud APIs this workspace uses (STS, secrets, object storage)
        cidrs = [*ctx.server_egress_cidrs, *store.egress_cidrs]
        if cidrs:
            egress.append({"to": [{"ipBlock": {"cidr": c}} for c in cidrs]})

        replicas = ws.replicas or defaults.server_replicas
        server_resources = resources(ws.resources, defaults.server_resources)
        mig = ws.migration.resources
        migration_resources = {
            part: {k: getattr(getattr(mig, part), k) or server_resources[part][k] for k in ("cpu", "memory")}
            for part in ("requests", "limits")
        }
        server = WorkspaceServer(
            f"{n}-server",
            WorkspaceServerArgs(
                workspace=n,
                namespace=ns.name,
                image=ctx.images(cfg.images.pro_server if edition is Edition.pro else cfg.images.server, version),
                version=version,
                server_url=cfg.url_of(ws),
                replicas=replicas,
                max_replicas=ws.max_replicas or max(defaults.server_max_replicas, replicas),
                resources=server_resources,
                database=connection,
                secret_store=store,
                migration_backup_strategy=ws.database.migration_backup_strategy,
                migration_resources=migration_resources,
                # The secrets store is initialised by the migration too: it needs the store's cloud identity (the
                # server's role/service account, which also trusts zenml-migration), nothing else.
                migration_service_account_annotations={**store.service_account_annotations, **ws.service_account_annotations},
                pro=pro,
                workload_manager_env=runner_env,
                needs_kubernetes_api=runner_on,
                env=ws.env,
                secret_env=secret_env,
                node_selector=ws.node_selector,
                tolerations=tolerations(ws.tolerations),
                service_account_annotations={**(cw.server_annotations if cw else {}), **ws.service_account_annotations},
                trusted_ca_pem=trusted_ca_pem,
                analytics_opt_in=ws.analytics_opt_in,
                ingress_sources=ingress_sources,
                egress_rules=egress,
            ),
            ctx,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, *([created] if created else [])]),
        )

        if ws.ingress.enabled:
            IngressHost(
                f"{n}-ingress",
                IngressArgs(
                    host=cfg.host_of(ws),
                    namespace=ns.name,
                    service_name=server.service.metadata.name,
                    service_port=80,
                    labels=meta,
                    class_name=ws.ingress.class_name or ctx.ingress_class,
                    annotations=ws.ingress.annotations,
                    tls=cfg.tls,
                    ca=ingress_ca,
                ),
                ctx,
                opts=in_ns,
            )

        self.url = cfg.url_of(ws)
        self.admin_username = server.admin_username
        self.admin_password = server.admin_password
        self.namespace = ns_name
        self.runner_namespace = runner_ns_name if runner_on else None
        self.summary = {
            "url": self.url,
            "edition": edition.value,
            "version": version,
            "namespace": ns_name,
            "runnerNamespace": self.runner_namespace,
            "database": {"mode": ws.database.mode.value, "host": connection.host, "tls": connection.tls},
            "secretStore": store.kind,
        }
        if cw is not None:
            self.summary["cloud"] = cw.summary
            if ws.database.mode is DatabaseMode.managed:
                # The managed host is known only after create; name the instance so the summary is known in preview.
                self.summary["database"] = {"mode": "managed", **cw.summary.get("database", {}), "tls": connection.tls}
        self.register_outputs({"url": self.url, "namespace": ns_name})
