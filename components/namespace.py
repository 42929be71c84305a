"""A namespace the stack owns: Pod Security Admission labels, deny-by-default traffic, DNS, pull secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.kube import MANAGED_BY


@dataclass
class NamespaceArgs:
    namespace: str  # the Kubernetes name
    pod_security: str = "restricted"  # the enforced Pod Security Standard; audit and warn are always `restricted`
    labels: dict[str, str] = field(default_factory=dict)
    retain: bool = False  # protected and retained on delete (its volumes go with it)


class PlatformNamespace(pulumi.ComponentResource):
    """Outputs: `name` (the namespace's name, as an Output that waits for it)."""

    def __init__(self, name: str, args: NamespaceArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:kubernetes:PlatformNamespace", name, None, opts)
        namespace, pod_security, labels, retain = args.namespace, args.pod_security, args.labels, args.retain
        ns_labels = {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "pod-security.kubernetes.io/enforce": pod_security,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
            **(labels or {}),
        }
        # Deleting a namespace deletes its volumes: in production the namespace is retained like the data.
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata={"name": namespace, "labels": ns_labels},
            opts=ctx.opts(self, protect=retain, retain_on_delete=retain),
        )
        self.name = self.namespace.metadata.name
        child = ctx.opts(self, depends_on=[self.namespace])

        if ctx.pull_secret_dockerconfig is not None:
            k8s.core.v1.Secret(
                f"{name}-pull",
                metadata={"name": ctx.PULL_SECRET_NAME, "namespace": self.name},
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": pulumi.Output.secret(ctx.pull_secret_dockerconfig)},
                opts=child,
            )

        if ctx.network_policies:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-default-deny",
                metadata={"name": "default-deny", "namespace": self.name},
                spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
                opts=child,
            )
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-dns",
                metadata={"name": "allow-dns", "namespace": self.name},
                spec={
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                                }
                            ],
                            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                        }
                    ],
                },
                opts=child,
            )
        self.register_outputs({"name": self.name})
