"""Security groups for pods: each database admits one EC2 security group per client identity, never the nodes.

Pods egress from the node's ENI with the node security group, so a database that admits the node security group
admits every pod on every node, runner pods with tenant pipeline code included; Kubernetes NetworkPolicy does not
stop that unless a network policy agent enforces it. EKS "security groups for pods" gives chosen pods a branch ENI
with their own security groups (docs.aws.amazon.com/eks/latest/userguide/security-groups-for-pods.html and
sg-pods-example-deployment.html). Here every database client identity gets one:

- a workspace's server and migration pods (serviceAccountSelector on the `zenml-server` ServiceAccounts),
- the bootstrap Job of an RDS instance (serviceAccountSelector on its bootstrap ServiceAccount),
- the control plane's pods (empty podSelector in the control plane's namespace: the vendor chart's labels are not
  documented, and nothing but the chart runs there).

A `SecurityGroupPolicy` (`vpcresources.k8s.aws/v1beta1`) binds the client group and the node group to those pods:
the node group keeps what the cluster already allows them (DNS, the ingress controller, kubelet probes, HTTPS out),
the client group adds the database port of exactly the databases this identity uses. The database groups admit
client groups only; runner pods, which no policy selects, keep the node group alone and reach no database.

Fail closed: on a cluster where security groups for pods are not enabled (`ENABLE_POD_ENI=true` on aws-node, the
`AmazonEKSVPCResourceController` policy on the cluster role, supported Nitro instance types) the policy selects
nothing, the servers cannot reach their databases, and the migration and bootstrap Jobs fail; no pod gains access.
See docs/security.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.kube import labels

SGP_API_VERSION = "vpcresources.k8s.aws/v1beta1"
SGP_KIND = "SecurityGroupPolicy"


@dataclass
class DatabaseClientGroupArgs:
    group_name: str  # the EC2 security group's name
    description: str  # fixed at creation: changing it replaces the group
    vpc_id: str
    node_security_group_id: str  # attached beside the group, so DNS, ingress and probes keep working
    namespace: pulumi.Input[str]  # where the SecurityGroupPolicy lives (it selects pods of this namespace only)
    policy_name: str
    selector: dict[str, Any]  # exactly one of podSelector, serviceAccountSelector
    tags: dict[str, str]
    provider: pulumi.ProviderResource  # the AWS provider
    depends_on: Optional[list[pulumi.Resource]] = None


class DatabaseClientGroup(pulumi.ComponentResource):
    """The security group of one database client identity, bound to its pods by a SecurityGroupPolicy."""

    def __init__(self, name: str, args: DatabaseClientGroupArgs, ctx: DeployContext,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:aws:DatabaseClientGroup", name, None, opts)
        a = args
        group_name, description, vpc_id, node_security_group_id = a.group_name, a.description, a.vpc_id, a.node_security_group_id
        namespace, policy_name, selector, tags, provider, depends_on = (
            a.namespace, a.policy_name, a.selector, a.tags, a.provider, a.depends_on)
        if set(selector) - {"podSelector", "serviceAccountSelector"} or len(selector) != 1:
            raise ValueError("a SecurityGroupPolicy takes exactly one of podSelector, serviceAccountSelector")
        self._name = name
        self._provider = provider
        self._tags = tags
        # No inline rules: the provider removes the allow-all egress AWS adds to a new group, so this group allows
        # only the database egress rules `reach` adds.
        self.group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=group_name,
            description=description,
            vpc_id=vpc_id,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.security_group_id = self.group.id
        self.policy = k8s.apiextensions.CustomResource(
            f"{name}-sgp",
            api_version=SGP_API_VERSION,
            kind=SGP_KIND,
            metadata={"name": policy_name, "namespace": namespace, "labels": labels("database-client", name, "zenml-platform")},
            spec={**selector, "securityGroups": {"groupIds": [self.group.id, node_security_group_id]}},
            opts=ctx.opts(self, depends_on=depends_on or []),
        )
        self.register_outputs({"securityGroupId": self.group.id})

    def reach(self, key: str, database_security_group_id: pulumi.Input[str], port: int, what: str) -> None:
        """Let these pods, and only them, open TCP to one database's port."""
        child = pulumi.ResourceOptions(parent=self, provider=self._provider)
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-to-{key}",
            security_group_id=database_security_group_id,
            referenced_security_group_id=self.group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{what}: database port from {self._name} pods only",
            tags=self._tags,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-egress-{key}",
            security_group_id=self.group.id,
            referenced_security_group_id=database_security_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{what}: database port",
            tags=self._tags,
            opts=child,
        )
