"""The Pro control plane as one unit, like a workspace: its namespace, its database, its traffic policy and the
vendor chart (components/control_plane.py), all parented here.

Until this component existed the namespace, database and chart were top-level resources; each now carries an alias
to its old top-level URN (children follow their parent's alias), so an `up` across the change moves them in state
instead of replacing them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional, Union

import pulumi
import pulumi_kubernetes as k8s

from components.backend import Backend, KubernetesBackend
from components.context import DeployContext
from components.control_plane import ControlPlane, ControlPlaneArgs
from components.database import DatabaseConnection, ManagedSizing, database_egress
from components.external_database import ExternalDatabaseArgs, ExternalDatabaseLink
from components.in_cluster_database import InClusterDatabaseArgs, PostgresDatabase
from components.kube import labels
from components.namespace import NamespaceArgs, PlatformNamespace

# The control plane's database: PostgreSQL in the cluster, an existing one, or the target's managed one.
ControlPlaneDatabase = Union[InClusterDatabaseArgs, ExternalDatabaseArgs, ManagedSizing]


@dataclass
class ControlPlanePlatformArgs:
    namespace: str  # <prefix>-control-plane
    database: ControlPlaneDatabase
    chart: Optional[ControlPlaneArgs]  # namespace and database are filled in here; None: no chart (tests only)
    ingress_controller_namespace: str = "ingress-nginx"
    egress_cidrs: tuple[str, ...] = ()  # extra destinations (OIDC provider, ...)


def _moved(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """Options of a resource that was top-level before it was parented here."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]))


class ControlPlanePlatform(pulumi.ComponentResource):
    """Outputs: `url`, `namespace`, `database` (DatabaseConnection), `database_mode`, `admin_password` (None with
    SSO or a given password)."""

    def __init__(self, name: str, args: ControlPlanePlatformArgs, ctx: DeployContext, backend: Optional[Backend] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:platform:ControlPlane", name, None, opts)
        a = args
        ns = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(
                a.namespace,
                # The vendor chart's pods are not all known to meet `restricted`: `baseline` enforced, `restricted` warned.
                pod_security="baseline",
                labels={"zenml-platform.io/role": "control-plane"},
                retain=ctx.protect_data,
            ),
            ctx,
            opts=_moved(pulumi.ResourceOptions(parent=self)),
        )
        in_ns = _moved(pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        self.database, self.database_mode = self._database(name, a, ns, ctx, backend or KubernetesBackend(), in_ns)
        if ctx.network_policies:
            self._traffic(name, a, ns, ctx)
        self.url: Optional[str] = None
        self.admin_password: Optional[pulumi.Output] = None
        if a.chart is not None:
            chart = ControlPlane(name, replace(a.chart, namespace=ns.name, database=self.database), ctx, opts=in_ns)
            self.url, self.admin_password = chart.url, chart.admin_password
        self.namespace = a.namespace
        self.register_outputs({"url": self.url, "namespace": a.namespace})

    @staticmethod
    def _database(name, a, ns, ctx, backend, in_ns) -> tuple[DatabaseConnection, str]:
        db = a.database
        if isinstance(db, InClusterDatabaseArgs):
            return PostgresDatabase(f"{name}-postgres", replace(db, namespace=ns.name), ctx, opts=in_ns).connection, "in-cluster"
        if isinstance(db, ExternalDatabaseArgs):
            link = ExternalDatabaseLink(
                f"{name}-db", replace(db, namespace=ns.name, labels=labels("zenml-pro", "control-plane")), ctx, opts=in_ns
            )
            return link.connection, "external"
        return backend.control_plane_database(ns.name, db, in_ns), "managed"

    def _traffic(self, name: str, a: ControlPlanePlatformArgs, ns: PlatformNamespace, ctx: DeployContext) -> None:
        """The chart's pods: reachable from the ingress controller; may reach their database, the ingress controller
        (OIDC provider and workspaces by their TLS host names) and the configured CIDRs, nothing else."""
        ingress_ns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": a.ingress_controller_namespace}}}
        egress: list[dict[str, Any]] = [
            {"to": [ingress_ns], "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 80}]},
            database_egress(self.database),
        ]
        if a.egress_cidrs:
            egress.append({"to": [{"ipBlock": {"cidr": c}} for c in a.egress_cidrs]})
        k8s.networking.v1.NetworkPolicy(
            f"{name}-traffic",
            metadata={"name": "control-plane", "namespace": ns.name},
            spec={
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [ingress_ns]}],
                "egress": egress,
            },
            opts=ctx.opts(ns),
        )
