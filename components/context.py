"""What every Kubernetes component needs from the stack, passed down explicitly (no ambient provider)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi

from components.images import ImageResolver


@dataclass
class DeployContext:
    provider: Optional[pulumi.ProviderResource]
    images: ImageResolver
    image_pull_policy: str = "IfNotPresent"
    pull_secret_dockerconfig: Optional[pulumi.Input[str]] = None
    extra_pull_secrets: list[str] = field(default_factory=list)
    network_policies: bool = True
    protect_data: bool = False
    cluster_domain: str = "cluster.local"
    ingress_class: str = "nginx"
    ingress_controller_namespace: str = "ingress-nginx"
    server_egress_cidrs: list[str] = field(default_factory=list)
    api_server_cidrs: list[str] = field(default_factory=list)
    proxy_cidrs: list[str] = field(default_factory=list)  # sources whose X-Forwarded-* headers servers trust

    PULL_SECRET_NAME = "zenml-registry-pull"

    @property
    def pull_secret_names(self) -> list[str]:
        names = [self.PULL_SECRET_NAME] if self.pull_secret_dockerconfig is not None else []
        return names + list(self.extra_pull_secrets)

    @property
    def image_pull_secrets(self) -> list[dict]:
        return [{"name": n} for n in self.pull_secret_names]

    def opts(self, parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, **kwargs)

    def stateful_opts(self, parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
        """Options for anything whose loss loses data: protected and retained in production profiles."""
        return pulumi.ResourceOptions(
            parent=parent,
            provider=self.provider,
            protect=self.protect_data,
            retain_on_delete=self.protect_data,
            **kwargs,
        )

    def secret_opts(self, parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
        """Generated keys and passwords: losing one makes stored data unreadable, so they share the protection."""
        return pulumi.ResourceOptions(parent=parent, protect=self.protect_data, **kwargs)

    def service_host(self, service: str, namespace: str) -> str:
        return f"{service}.{namespace}.svc.{self.cluster_domain}"
