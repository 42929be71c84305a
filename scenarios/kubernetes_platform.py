"""The Kubernetes assembly every layout shares: provider, CAs, optional control plane, and N workspaces.

Layouts differ in what they switch on (control plane here or elsewhere, mirror, egress), which the validated
config already expresses, so the assembly reads the config and each layout module adds its own outputs.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.control_plane import ControlPlane, ControlPlaneArgs
from components.external_database import ExternalDatabaseLink
from components.images import ImageResolver
from components.in_cluster_database import PostgresDatabase
from components.internal_ca import InternalCertificateAuthority
from components.kube import labels, resources
from components.namespace import PlatformNamespace
from components.secret_values import plaintext_output
from components.workspace import Workspace
from stack_config.model import DatabaseMode, StackConfig, TlsMode


def build_context(cfg: StackConfig, provider: Optional[pulumi.ProviderResource] = None) -> DeployContext:
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
    )


def deploy_kubernetes_platform(cfg: StackConfig, ctx: Optional[DeployContext] = None) -> dict[str, Any]:
    ctx = ctx or build_context(cfg)
    # target aws/gcp: managed databases, secrets stores and artifact stores behind the same interfaces.
    from scenarios.cloud_platform import build_cloud

    cloud = build_cloud(cfg, ctx)
    protect = ctx.protect_data

    ingress_ca: Optional[InternalCertificateAuthority] = None
    if cfg.tls.mode is TlsMode.internal_ca:
        ica = cfg.tls.internal_ca
        ingress_ca = InternalCertificateAuthority(
            "ingress-ca",
            common_name=f"{cfg.domain} internal CA",
            organization=ica.organization,
            validity_hours=ica.ca_validity_hours,
            ca_certificate=ica.ca_certificate,
            ca_private_key=plaintext_output(ica.ca_private_key, "tls.internalCa.caPrivateKey") if ica.ca_private_key else None,
            protect=protect,
        )
    needs_db_ca = any(
        ws.database.mode is DatabaseMode.in_cluster and ws.database.in_cluster.tls for ws in cfg.workspaces
    ) or (cfg.control_plane.enabled and cfg.control_plane.database.mode is DatabaseMode.in_cluster
          and cfg.control_plane.database.in_cluster.tls)
    database_ca = (
        InternalCertificateAuthority(
            "database-ca",
            common_name=f"{cfg.domain} database CA",
            organization=cfg.tls.internal_ca.organization,
            validity_hours=cfg.tls.internal_ca.ca_validity_hours,
            protect=protect,
        )
        if needs_db_ca
        else None
    )
    trusted_ca: Optional[pulumi.Input[str]] = None
    if ingress_ca is not None:
        trusted_ca = ingress_ca.cert_pem
    elif cfg.tls.mode is TlsMode.provided and cfg.tls.provided and cfg.tls.provided.ca_certificate:
        trusted_ca = cfg.tls.provided.ca_certificate

    corporate = cfg.tls.trusted_ca_certificates
    # What the control plane and the servers trust beyond the system store: this stack's CA (for its own control
    # plane's endpoints) and the configured corporate CAs.
    server_trust: Optional[pulumi.Input[str]] = _join_pem(trusted_ca if cfg.control_plane.enabled else None, corporate)

    outputs: dict[str, Any] = {}
    if cfg.control_plane.enabled:
        outputs["controlPlane"] = _control_plane(cfg, ctx, ingress_ca, database_ca, _join_pem(trusted_ca, corporate), cloud)

    workspaces = {}
    admins: dict[str, Any] = {}
    for ws in cfg.workspaces:
        # Servers trust the internal CA only where they call in-stack TLS endpoints (this stack's control plane).
        component = Workspace(
            ws,
            cfg,
            ctx,
            ingress_ca=ingress_ca,
            database_ca=database_ca,
            trusted_ca_pem=server_trust,
            cloud=cloud,
        )
        workspaces[ws.name] = component.summary
        if component.admin_password is not None:
            admins[ws.name] = {"username": component.admin_username, "password": component.admin_password}
    outputs["workspaces"] = workspaces
    if admins:
        # One secret output, so `workspaces` stays readable without --show-secrets.
        outputs["adminCredentials"] = pulumi.Output.secret(admins)
    outputs["caBundle"] = trusted_ca
    outputs["images"] = dict(sorted(ctx.images.seen.items()))
    return outputs


def _join_pem(*parts: Optional[pulumi.Input[str]]) -> Optional[pulumi.Input[str]]:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return pulumi.Output.all(*present).apply(lambda pems: "".join(p.strip() + "\n" for p in pems))


def _control_plane(cfg, ctx, ingress_ca, database_ca, trusted_ca, cloud=None) -> dict[str, Any]:
    cp = cfg.control_plane
    ns_name = cfg.control_plane_namespace
    ns = PlatformNamespace(
        "control-plane-ns",
        ns_name,
        ctx,
        # The vendor chart's pods are not all known to meet `restricted`; `baseline` is enforced, `restricted` warned.
        pod_security="baseline",
        labels={"zenml-platform.io/role": "control-plane"},
        retain=ctx.protect_data,
    )
    meta = labels("zenml-pro", "control-plane")
    opts = pulumi.ResourceOptions(depends_on=[ns])
    if cp.database.mode is DatabaseMode.in_cluster:
        db = PostgresDatabase(
            "control-plane-postgres",
            namespace=ns.name,
            namespace_name=ns_name,
            ctx=ctx,
            image=ctx.images(cfg.images.postgres),
            settings=cp.database.in_cluster,
            defaults=cfg.defaults,
            database="zenml_pro",
            username="zenml_pro",
            instance="control-plane",
            ca=database_ca,
            admit_namespace=True,
            opts=opts,
        )
        connection = db.connection
    elif cp.database.mode is DatabaseMode.managed:
        assert cloud is not None, "managed databases need target aws or gcp"
        connection = cloud.control_plane_database(ns.name, opts)
    else:
        assert cp.database.external is not None
        connection = ExternalDatabaseLink("control-plane-db", ns.name, ctx, "postgres", cp.database.external, meta, opts=opts).connection
    if ctx.network_policies:
        _control_plane_traffic(ctx, ns, connection, cfg)
    plane = ControlPlane(
        "control-plane",
        ControlPlaneArgs(
            namespace=ns.name,
            host=cfg.control_plane_host,
            settings=cp,
            identity=cfg.identity_provider,
            database=connection,
            tls=cfg.tls,
            ca=ingress_ca,
            ingress_class=ctx.ingress_class,
            images=ctx.images,
            api_repository=cfg.images.control_plane_api,
            dashboard_repository=cfg.images.control_plane_dashboard,
            resources=resources(cp.resources, cfg.defaults.server_resources),
            custom_ca_pem=trusted_ca,
            depends_on=[ns],
        ),
        ctx,
        opts=opts,
    )
    out: dict[str, Any] = {"url": plane.url, "namespace": ns_name, "database": {"mode": cp.database.mode.value}}
    if plane.admin_password is not None:
        out["adminPassword"] = pulumi.Output.secret(plane.admin_password)
    return out


def _control_plane_traffic(ctx: DeployContext, ns: PlatformNamespace, connection, cfg: StackConfig) -> None:
    """The chart's pods: reachable from the ingress controller; may reach their database, the ingress controller
    (OIDC provider and workspaces by their TLS host names) and the configured CIDRs, nothing else."""
    ingress_ns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ctx.ingress_controller_namespace}}}
    egress = [
        {"to": [ingress_ns], "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 80}]},
        {"to": connection.egress_peers, "ports": [{"protocol": "TCP", "port": connection.port}]}
        if connection.egress_peers
        else {"ports": [{"protocol": "TCP", "port": connection.port}]},
    ]
    if ctx.server_egress_cidrs:
        egress.append({"to": [{"ipBlock": {"cidr": c}} for c in ctx.server_egress_cidrs]})
    k8s.networking.v1.NetworkPolicy(
        "control-plane-traffic",
        metadata={"name": "control-plane", "namespace": ns.name},
        spec={
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [ingress_ns]}],
            "egress": egress,
        },
        opts=ctx.opts(ns),
    )


def next_steps(cfg: StackConfig, outputs: dict[str, Any]) -> list[str]:
    steps = []
    if outputs.get("caBundle") is not None:
        steps.append("pulumi stack output caBundle > zenml-ca.pem  # trust it: export REQUESTS_CA_BUNDLE=$PWD/zenml-ca.pem")
    if cfg.control_plane.enabled:
        steps.append("pulumi stack output controlPlane --show-secrets  # admin password for the first login")
    ca = " --ssl-ca-cert zenml-ca.pem" if outputs.get("caBundle") is not None else ""
    for ws in cfg.workspaces:
        steps.append(f"zenml login {cfg.url_of(ws)}{ca}")
    if outputs.get("adminCredentials") is not None:
        steps.append("pulumi stack output adminCredentials --show-secrets  # the generated admin of each OSS workspace")
    return steps
