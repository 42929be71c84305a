"""Translate once: the validated `StackConfig` becomes the typed args of the components.

This is the only place below the scenario programs that reads the stack file's model. Components (components/)
never import `stack_config`; they take the dataclasses built here. Layout facts derived from the config (whether
the network is air-gapped, which artifact store a workspace gets by default, where Pro workspaces enroll) are
decided here once, so a change of the config model is a change of this module.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.backend import ArtifactStoreRequest, ManagedDatabaseRequest, WorkspaceBackendArgs
from components.context import DeployContext
from components.control_plane import ChartSource, ControlPlaneLogin, OidcLogin
from components.database import ManagedSizing
from components.external_database import ExternalDatabaseArgs
from components.images import ImageResolver
from components.in_cluster_database import DatabaseBackup, InClusterDatabaseArgs
from components.ingress import HostTls, IngressArgs
from components.internal_ca import CertificateAuthorityArgs, InternalCertificateAuthority
from components.kube import labels
from components.names import SERVER_SA
from components.runner_namespace import RunnerNamespaceArgs
from components.secret_store import SqlSecretStoreArgs, VaultSecretStoreArgs
from components.secret_values import ConfigSecret, SecretKeyRef, plaintext_output
from components.workspace import DATABASE, DB_USER, ProEnrollmentArgs, WorkspaceArgs
from components.workspace_server import WorkspaceServerArgs
from scenarios import retained
from stack_config.cloud import ManagedInstance
from stack_config.model import (
    DatabaseMode,
    Edition,
    ExternalDatabase,
    InClusterDatabase,
    ResourcesSpec,
    SecretStoreType,
    StackConfig,
    TlsMode,
    Toleration,
)
from stack_config.model import Workspace as WorkspaceSettings
from stack_config.profiles import MANAGED_INSTANCE_CLASS, MANAGED_STORAGE_GB, ProfileDefaults, Resources
from stack_config.secrets import SecretRefInput

# -- layout facts: read from the config here and nowhere else below the scenario programs --------------------------


def air_gapped(cfg: StackConfig) -> bool:
    """No egress outside the cluster and its private endpoints (cloud APIs through the VPC's endpoints only)."""
    return cfg.air_gapped


def artifact_mode(cfg: StackConfig, ws: WorkspaceSettings) -> str:
    """bucket | tenant | none; without `artifactStore`: none in the saas layout, else bucket (StackConfig.artifact_mode_of)."""
    return cfg.artifact_mode_of(ws)


# -- value translations -------------------------------------------------------------------------------------------


def secret(value: Any, path: str) -> ConfigSecret:
    """A config secret for a component: the user's Secret reference, or the value as a secret Output."""
    if isinstance(value, SecretRefInput):
        return SecretKeyRef(value.secret_key_ref.name, value.secret_key_ref.key)
    return plaintext_output(value, path)


def resources(override: ResourcesSpec, default: Resources) -> dict[str, Any]:
    """Profile defaults with the user's overrides on top; both requests and limits always set."""
    return {
        "requests": {
            "cpu": override.requests.cpu or default.cpu_request,
            "memory": override.requests.memory or default.memory_request,
        },
        "limits": {
            "cpu": override.limits.cpu or default.cpu_limit,
            "memory": override.limits.memory or default.memory_limit,
        },
    }


def tolerations(items: list[Toleration]) -> list[dict[str, Any]]:
    return [t.model_dump(by_alias=True, exclude_none=True) for t in items]


def host_tls(cfg: StackConfig) -> HostTls:
    tls = cfg.tls
    if tls.mode is TlsMode.cert_manager:
        assert tls.cert_manager is not None
        cm = tls.cert_manager
        key = "cert-manager.io/cluster-issuer" if cm.issuer_kind == "ClusterIssuer" else "cert-manager.io/issuer"
        return HostTls(mode=tls.mode.value, issuer_annotation=(key, cm.issuer_name))
    if tls.mode is TlsMode.provided:
        assert tls.provided is not None
        return HostTls(mode=tls.mode.value, secret_name=tls.provided.secret_name)
    return HostTls(mode=tls.mode.value, certificate_validity_hours=tls.internal_ca.certificate_validity_hours)


def ingress_ca(cfg: StackConfig) -> CertificateAuthorityArgs:
    """The CA of the stack's host names (tls.mode internal-ca): the configured one, or one generated once."""
    ica = cfg.tls.internal_ca
    return CertificateAuthorityArgs(
        common_name=f"{cfg.domain} internal CA",
        organization=ica.organization,
        validity_hours=ica.ca_validity_hours,
        ca_certificate=ica.ca_certificate,
        ca_private_key=plaintext_output(ica.ca_private_key, "tls.internalCa.caPrivateKey") if ica.ca_private_key else None,
        protect=cfg.defaults.protect_data,
    )


def database_ca(cfg: StackConfig) -> CertificateAuthorityArgs:
    """The CA of the in-cluster databases' TLS certificates: always generated, never the ingress CA."""
    ica = cfg.tls.internal_ca
    return CertificateAuthorityArgs(
        common_name=f"{cfg.domain} database CA",
        organization=ica.organization,
        validity_hours=ica.ca_validity_hours,
        protect=cfg.defaults.protect_data,
    )


def managed_sizing(cfg: StackConfig, settings: ManagedInstance) -> ManagedSizing:
    """A managed instance's size: its own settings over the profile's table for the target (stack_config/profiles.py)."""
    target = cfg.target.value
    storage = settings.storage_gb or MANAGED_STORAGE_GB[target][cfg.profile]
    return ManagedSizing(
        instance_class=settings.instance_class or MANAGED_INSTANCE_CLASS[target][cfg.profile],
        storage_gb=storage,
        max_storage_gb=settings.max_storage_gb or storage * 4,
        high_availability=settings.high_availability if settings.high_availability is not None else cfg.profile.value == "production",
        backup_retention_days=max(7, settings.backup_retention_days or cfg.defaults.backup_retention_days),
        engine_version=settings.engine_version,
    )


def context(cfg: StackConfig, provider: Optional[pulumi.ProviderResource] = None) -> DeployContext:
    """What every Kubernetes component needs from the stack: provider, images, pull secrets, network facts."""
    k = cfg.kubernetes
    if provider is None:
        # The stack file decides; ZENML_PLATFORM_KUBE_CONTEXT lets `make deploy-local` target a user's
        # cluster without editing the committed `local` stack.
        provider = k8s.Provider(
            "kubernetes",
            kubeconfig=k.kubeconfig,
            context=k.context or os.environ.get("ZENML_PLATFORM_KUBE_CONTEXT") or None,
            delete_unreachable=False,
        )
    mirror = cfg.registry_mirror
    return DeployContext(
        provider=provider,
        images=ImageResolver(mirror.registry if mirror else None),
        image_pull_policy=cfg.images.pull_policy,
        pull_secret_dockerconfig=plaintext_output(mirror.pull_secret, "registryMirror.pullSecret") if mirror and mirror.pull_secret else None,
        extra_pull_secrets=list(mirror.image_pull_secrets) if mirror else [],
        network_policies=cfg.network_policies.enabled,
        protect_data=cfg.defaults.protect_data,
        cluster_domain=k.cluster_domain,
        ingress_class=k.ingress_class_name,
        ingress_controller_namespace=k.ingress_controller_namespace,
        server_egress_cidrs=list(cfg.network_policies.allow_egress_cidrs),
        api_server_cidrs=list(k.api_server_cidrs),
        proxy_cidrs=list(k.ingress_controller_cidrs),
        # Retained Secrets the CLI confirmed for reuse after their state was lost (names only: scenarios/retained.py).
        adopted=retained.decode(os.environ),
    )


def in_cluster_database(
    settings: InClusterDatabase,
    defaults: ProfileDefaults,
    *,
    namespace_name: str,
    image: str,
    database: str,
    username: str,
    instance: str,
    ca: Optional[InternalCertificateAuthority],
    init_sql: Optional[str] = None,
    admit_namespace: bool = False,
) -> InClusterDatabaseArgs:
    backup_on = settings.backup.enabled_under(defaults)
    b = settings.backup
    return InClusterDatabaseArgs(
        namespace_name=namespace_name,
        image=image,
        database=database,
        username=username,
        instance=instance,
        storage_size=settings.storage_size or defaults.database_storage,
        storage_class_name=settings.storage_class_name,
        resources=resources(settings.resources, defaults.database_resources),
        tls=settings.tls,
        ca=ca,
        backup=DatabaseBackup(
            schedule=b.schedule or defaults.backup_schedule,
            retention_days=b.retention_days or defaults.backup_retention_days,
            storage_size=b.storage_size or defaults.backup_storage,
        ) if backup_on else None,
        init_sql=init_sql,
        admit_namespace=admit_namespace,
    )


def external_database(settings: ExternalDatabase, engine: str, path: str) -> ExternalDatabaseArgs:
    return ExternalDatabaseArgs(
        engine=engine,
        host=settings.host,
        port=settings.port,
        database=settings.database,
        username=settings.username,
        password=secret(settings.password, f"{path}.password"),
        ca_certificate=settings.ca_certificate,
        verify_server_certificate=settings.verify_server_certificate,
    )


# -- the control plane ------------------------------------------------------------------------------------------


def control_plane_chart(cfg: StackConfig) -> ChartSource:
    c = cfg.control_plane.chart
    return ChartSource(repository=c.repository, version=c.version, archive=c.archive, values=dict(cfg.control_plane.values))


def control_plane_login(cfg: StackConfig) -> ControlPlaneLogin:
    idp = cfg.identity_provider
    if idp.type == "oidc":
        assert idp.oidc is not None
        return ControlPlaneLogin(oidc=OidcLogin(
            discovery_url=idp.oidc.discovery_url,
            client_id=idp.oidc.client_id,
            client_secret=plaintext_output(idp.oidc.client_secret, "identityProvider.oidc.clientSecret"),
        ))
    given = idp.password.admin_password
    return ControlPlaneLogin(
        admin_password=plaintext_output(given, "identityProvider.password.adminPassword") if given is not None else None
    )


def control_plane(
    cfg: StackConfig,
    ctx: DeployContext,
    *,
    ingress_ca: Optional[InternalCertificateAuthority],
    database_ca: Optional[InternalCertificateAuthority],
    trusted_ca_pem: Optional[pulumi.Input[str]],
):
    from components.control_plane import ControlPlaneArgs
    from components.control_plane_platform import ControlPlanePlatformArgs

    cp = cfg.control_plane
    ns_name = cfg.control_plane_namespace
    db = cp.database
    database: Any
    if db.mode is DatabaseMode.in_cluster:
        database = in_cluster_database(
            db.in_cluster,
            cfg.defaults,
            namespace_name=ns_name,
            image=ctx.images(cfg.images.postgres),
            database="zenml_pro",
            username="zenml_pro",
            instance="control-plane",
            ca=database_ca,
            admit_namespace=True,  # the vendor chart's pods cannot carry the client label
        )
    elif db.mode is DatabaseMode.managed:
        database = managed_sizing(cfg, db.managed)
    else:
        assert db.external is not None
        database = external_database(db.external, "postgres", "controlPlane.database.external")
    return ControlPlanePlatformArgs(
        namespace=ns_name,
        database=database,
        chart=ControlPlaneArgs(
            host=cfg.control_plane_host,
            chart=control_plane_chart(cfg),
            login=control_plane_login(cfg),
            tls=host_tls(cfg),
            ca=ingress_ca,
            ingress_class=ctx.ingress_class,
            images=ctx.images,
            api_repository=cfg.images.control_plane_api,
            dashboard_repository=cfg.images.control_plane_dashboard,
            resources=resources(cp.resources, cfg.defaults.server_resources),
            custom_ca_pem=trusted_ca_pem,
        ),
        ingress_controller_namespace=ctx.ingress_controller_namespace,
        egress_cidrs=tuple(ctx.server_egress_cidrs),
    )


# -- a workspace ------------------------------------------------------------------------------------------------


def workspace(
    cfg: StackConfig,
    index: int,
    ctx: DeployContext,
    *,
    ingress_ca: Optional[InternalCertificateAuthority],
    database_ca: Optional[InternalCertificateAuthority],
    trusted_ca_pem: Optional[pulumi.Input[str]],
) -> WorkspaceArgs:
    ws = cfg.workspaces[index]
    path = f"workspaces[{index}]"
    n = ws.name
    edition = cfg.edition_of(ws)
    version = cfg.version_of(ws)
    ns_name = cfg.namespace_of(ws)
    runner_on = cfg.runner_enabled(ws)
    runner_ns = cfg.runner_namespace_of(ws) if runner_on else None
    managed_db = ws.database.mode is DatabaseMode.managed
    # The AWS bootstrap Job runs the server image's MySQL client; resolved only then (it lands in the image list).
    server_image = ctx.images(cfg.images.server, version) if managed_db and cfg.aws is not None else ""
    return WorkspaceArgs(
        name=n,
        namespace=ns_name,
        edition=edition.value,
        database=_workspace_database(cfg, ws, path, ctx, database_ca),
        database_engine=ws.database.in_cluster.engine or "mysql",
        secret_store=_workspace_secret_store(ws, path),
        server=_workspace_server(cfg, ws, ctx, trusted_ca_pem),
        backend=WorkspaceBackendArgs(
            workspace=n,
            namespace=ns_name,
            runner_namespace=runner_ns,
            server_id=cfg.server_id_of(ws),
            pro=edition is Edition.pro,
            server_image=server_image,
            database=ManagedDatabaseRequest(managed_sizing(cfg, ws.database.managed), shared=ws.database.managed.instance == "shared")
            if managed_db else None,
            secret_store=ws.secret_store.type.value if ws.secret_store.type in (SecretStoreType.aws, SecretStoreType.gcp) else None,
            secret_project=ws.secret_store.gcp.project if ws.secret_store.gcp else None,
            secret_project_number=ws.secret_store.gcp.project_number if ws.secret_store.gcp else None,
            artifacts=_artifacts(cfg, ws),
            runner_docker_registry=ws.runner.docker_registry,
        ),
        pro=_pro(cfg, ws, path) if edition is Edition.pro else None,
        secret_env={k: secret(v, f"{path}.secretEnv.{k}") for k, v in ws.secret_env.items()},
        runner=_runner(cfg, ws, ctx, runner_ns, version) if runner_ns is not None else None,
        ingress=IngressArgs(
            host=cfg.host_of(ws),
            service_port=80,
            labels=labels("zenml", n),
            class_name=ws.ingress.class_name or ctx.ingress_class,
            annotations=ws.ingress.annotations,
            tls=host_tls(cfg),
            ca=ingress_ca,
        ) if ws.ingress.enabled else None,
        ingress_controller_namespace=ctx.ingress_controller_namespace,
        api_server_cidrs=list(ctx.api_server_cidrs),
        server_egress_cidrs=list(ctx.server_egress_cidrs),
    )


def _workspace_database(cfg, ws: WorkspaceSettings, path: str, ctx: DeployContext, database_ca):
    db = ws.database
    if db.mode is DatabaseMode.in_cluster:
        init_sql = None
        if db.migration_backup_strategy == "database":
            init_sql = (
                f"CREATE DATABASE IF NOT EXISTS `{DATABASE}_backup`;\n"
                f"GRANT ALL PRIVILEGES ON `{DATABASE}_backup`.* TO '{DB_USER}'@'%';\n"
            )
        mariadb = db.in_cluster.engine == "mariadb"
        return in_cluster_database(
            db.in_cluster,
            cfg.defaults,
            namespace_name=cfg.namespace_of(ws),
            image=ctx.images(cfg.images.mariadb if mariadb else cfg.images.mysql),
            database=DATABASE,
            username=DB_USER,
            instance=ws.name,
            ca=database_ca,
            init_sql=init_sql,
        )
    if db.mode is DatabaseMode.managed:
        return ManagedDatabaseRequest(managed_sizing(cfg, db.managed), shared=db.managed.instance == "shared")
    assert db.external is not None
    return external_database(db.external, "mysql", f"{path}.database.external")


def _workspace_secret_store(ws: WorkspaceSettings, path: str):
    store = ws.secret_store
    meta = labels("zenml", ws.name)
    if store.type is SecretStoreType.hashicorp:
        v = store.vault
        assert v is not None
        vpath = f"{path}.secretStore.vault"
        return VaultSecretStoreArgs(
            labels=meta,
            address=v.address,
            auth_method=v.auth_method,
            max_versions=v.max_versions,
            vault_namespace=v.namespace,
            mount_point=v.mount_point,
            auth_mount_point=v.auth_mount_point,
            app_role_id=v.app_role_id,
            aws_role=v.aws_role,
            token=secret(v.token, f"{vpath}.token") if v.token is not None else None,
            app_secret_id=secret(v.app_secret_id, f"{vpath}.appSecretId") if v.app_secret_id is not None else None,
        )
    if store.type is SecretStoreType.sql:
        key = store.encryption_key
        return SqlSecretStoreArgs(
            labels=meta, encryption_key=secret(key, f"{path}.secretStore.encryptionKey") if key is not None else None
        )
    return None  # aws | gcp: the target's store


def _artifacts(cfg: StackConfig, ws: WorkspaceSettings) -> ArtifactStoreRequest:
    art = ws.artifact_store
    if art is None:
        return ArtifactStoreRequest(mode=artifact_mode(cfg, ws))
    return ArtifactStoreRequest(
        mode=artifact_mode(cfg, ws),
        bucket_name=art.bucket_name,
        noncurrent_version_days=art.noncurrent_version_days,
        runner_write=art.runner_write,
        tenant_bucket=art.tenant.bucket if art.tenant else None,
        tenant_role_arn=art.tenant.role_arn if art.tenant else None,
    )


def _pro(cfg: StackConfig, ws: WorkspaceSettings, path: str) -> ProEnrollmentArgs:
    assert ws.pro is not None and cfg.pro_api_url and cfg.pro_dashboard_url
    p = ws.pro
    return ProEnrollmentArgs(
        api_url=cfg.pro_api_url,
        dashboard_url=cfg.pro_dashboard_url,
        organization_id=str(p.organization_id),
        workspace_id=str(p.workspace_id),
        enrollment_key=secret(p.enrollment_key, f"{path}.pro.enrollmentKey"),
        organization_name=p.organization_name,
        workspace_name=p.workspace_name,
        oauth2_audience=p.oauth2_audience,
        hosted=not cfg.control_plane.enabled,
    )


def _runner(cfg: StackConfig, ws: WorkspaceSettings, ctx: DeployContext, namespace: str, version: str) -> RunnerNamespaceArgs:
    r = ws.runner
    return RunnerNamespaceArgs(
        workspace=ws.name,
        namespace=namespace,
        server_namespace=cfg.namespace_of(ws),
        server_service_account=SERVER_SA,
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
        egress_cidrs=list(r.egress.allow_cidrs),
        egress_namespaces=r.egress.allow_namespaces,
        allow_internet=r.egress.allow_internet,
        build_runner_image=r.build_runner_image,
        docker_registry=r.docker_registry,
    )


def _workspace_server(cfg: StackConfig, ws: WorkspaceSettings, ctx: DeployContext, trusted_ca_pem) -> WorkspaceServerArgs:
    defaults = cfg.defaults
    edition = cfg.edition_of(ws)
    version = cfg.version_of(ws)
    replicas = ws.replicas or defaults.server_replicas
    server_resources = resources(ws.resources, defaults.server_resources)
    mig = ws.migration.resources
    return WorkspaceServerArgs(
        workspace=ws.name,
        image=ctx.images(cfg.images.pro_server if edition is Edition.pro else cfg.images.server, version),
        version=version,
        server_url=cfg.url_of(ws),
        replicas=replicas,
        max_replicas=ws.max_replicas or max(defaults.server_max_replicas, replicas),
        resources=server_resources,
        migration_backup_strategy=ws.database.migration_backup_strategy,
        migration_resources={
            part: {k: getattr(getattr(mig, part), k) or server_resources[part][k] for k in ("cpu", "memory")}
            for part in ("requests", "limits")
        },
        env=ws.env,
        node_selector=ws.node_selector,
        tolerations=tolerations(ws.tolerations),
        service_account_annotations=dict(ws.service_account_annotations),
        trusted_ca_pem=trusted_ca_pem,
        analytics_opt_in=ws.analytics_opt_in,
    )


# -- the cloud targets ------------------------------------------------------------------------------------------


def aws_target(cfg: StackConfig):
    from components.aws.platform import AwsTarget

    a = cfg.aws
    assert a is not None
    return AwsTarget(
        region=a.region,
        account_id=a.account_id,
        partition=a.partition,
        name_prefix=a.name_prefix,
        eks_name=a.eks.name,
        oidc_provider_arn=a.eks.oidc_provider_arn,
        issuer=a.eks.issuer,
        node_security_group_id=a.eks.node_security_group_id,
        vpc_id=a.vpc_id,
        vpc_cidr=a.vpc_cidr,
        database_subnet_ids=tuple(a.database_subnet_ids),
        admin_namespace=f"{cfg.kubernetes.namespace_prefix}-db-admin",  # listed in cfg.reserved_namespaces
        tags={"managed-by": "zenml-platform", "zenml-platform/domain": cfg.domain, **a.tags},
        kms_key_arn=a.kms_key_arn,
        rds_ca_certificate=a.rds_ca_certificate,
        shared_database=managed_sizing(cfg, a.shared_database) if a.shared_database is not None else None,
        workload_manager=a.workload_manager,
        air_gapped=air_gapped(cfg),
    )


def gcp_target(cfg: StackConfig):
    from components.gcp.platform import GcpTarget

    g = cfg.gcp
    assert g is not None
    return GcpTarget(
        project=g.project,
        project_number=g.project_number,
        region=g.region,
        name_prefix=g.name_prefix,
        network=g.network,
        private_services_cidr=g.private_services_cidr,
        api_egress_cidrs=tuple(g.api_egress_cidrs),
        labels={"managed-by": "zenml-platform", **g.labels},
        kms_key_name=g.kms_key_name,
        air_gapped=air_gapped(cfg),
    )
