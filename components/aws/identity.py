"""An IAM role for exactly one Kubernetes ServiceAccount (IRSA), with one inline policy per concern."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.aws.policies import dumps, irsa_trust


@dataclass
class IrsaRoleArgs:
    role_name: str  # chosen, not generated: its ARN is known before the role exists
    role_arn: str
    oidc_provider_arn: str  # the cluster's IAM OIDC provider
    issuer: str  # its issuer, without https://
    namespace: str
    service_account: Any  # one ServiceAccount name, or several of the same namespace
    policies: dict[str, pulumi.Input[dict[str, Any]]]  # inline policy name -> document
    provider: pulumi.ProviderResource
    tags: dict[str, str] = field(default_factory=dict)


class IrsaRole(pulumi.ComponentResource):
    """`role_name` is chosen here (not generated), so its ARN is known before the role exists and can annotate
    the ServiceAccount without an ordering cycle. Outputs: `arn`, `annotations` (for the ServiceAccount)."""

    def __init__(self, name: str, args: IrsaRoleArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:aws:IrsaRole", name, None, opts)
        a = args
        role_name, role_arn, oidc_provider_arn, issuer = a.role_name, a.role_arn, a.oidc_provider_arn, a.issuer
        namespace, service_account, policies, provider, tags = a.namespace, a.service_account, a.policies, a.provider, a.tags
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.role = aws.iam.Role(
            name,
            name=role_name,
            description=f"IRSA role of {namespace}/{service_account if isinstance(service_account, str) else ','.join(service_account)} (zenml-platform)",
            assume_role_policy=dumps(irsa_trust(oidc_provider_arn, issuer, namespace, service_account)),
            max_session_duration=3600,
            tags=tags or {},
            opts=child,
        )
        for policy_name, document in sorted(policies.items()):
            aws.iam.RolePolicy(
                f"{name}-{policy_name}",
                name=policy_name,
                role=self.role.name,
                policy=pulumi.Output.from_input(document).apply(dumps),
                opts=child,
            )
        self.arn = role_arn
        self.annotations = {"eks.amazonaws.com/role-arn": role_arn, "eks.amazonaws.com/sts-regional-endpoints": "true"}
        self.register_outputs({"arn": role_arn})
