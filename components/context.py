"""What every Kubernetes component needs from the stack, passed down explicitly (no ambient provider)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi

from components.images import ImageResolver

# The read resource (Secret.get) that replaces an adopted RandomPassword in the state is named <name> + this.
RETAINED_SUFFIX = "-retained"


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
    # RandomPassword name -> (namespace/name, key) of a retained Secret to reuse instead (scenarios/retained.py).
    adopted: dict[str, tuple[str, str]] = field(default_factory=dict)

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

    def generated(self, parent: pulumi.Resource, name: str, length: int) -> pulumi.Output[str]:
        """A generated password or key: a RandomPassword, or, when the CLI adopted the retained Secret that holds
        it (state lost, Secret kept: scenarios/retained.py), the value read from that Secret (a secret output;
        the read resource is only a name in the state, never deleted)."""
        import pulumi_random as random

        if name in self.adopted:
            import base64

            import pulumi_kubernetes as k8s

            secret_id, key = self.adopted[name]
            found = k8s.core.v1.Secret.get(f"{name}{RETAINED_SUFFIX}", secret_id, opts=pulumi.ResourceOptions(
                parent=parent, provider=self.provider, additional_secret_outputs=["data", "stringData"]))

            def value(data: Optional[Mapping[str, str]]) -> str:
                if not data or key not in data:
                    raise ValueError(f"retained Secret {secret_id} has no key {key!r}")
                return base64.b64decode(data[key]).decode()

            return pulumi.Output.secret(found.data.apply(value))
        return random.RandomPassword(name, length=length, special=False, opts=self.secret_opts(parent)).result

