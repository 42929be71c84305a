"""The namespace where a workspace's workload manager starts runner pods (pipelines run from the UI).

Isolated per workspace: Pod Security `restricted`, quota and default limits, deny-by-default traffic with
only DNS, the workspace server and configured destinations allowed, and a Role that lets exactly this
workspace's server identity manage pods and jobs here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.kube import env_value, labels
from components.names import RUNNER_SA
from components.namespace import NamespaceArgs, PlatformNamespace

# What the workspace server's identity may do in the runner namespace: exactly the documented least privilege
# (docs.zenml.io Pro "Enable Snapshot (Workload Manager) Support", "Recommended least-privilege split": the server
# creates, monitors and cleans up runner/builder Jobs and reads their pods' logs). No pods create/exec, no Secrets.
WORKLOAD_MANAGER_RULES = [
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "deletecollection"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]
# `allowInternet` means the public internet: never the cluster, the nodes, the VPC or instance metadata.
# RFC 1918, carrier-grade NAT (RFC 6598, used for pod ranges), loopback and link-local (169.254.169.254 metadata).
# Private destinations stay reachable only when listed in runner.egress.allowCidrs.
NON_INTERNET_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"]
# Ports runner pods may use towards address ranges (allowCidrs, allowInternet): every TCP port except the
# database ports (3306 MySQL, 5432 PostgreSQL), and UDP. Address ranges may hold a workspace's or the control
# plane's database (RDS in the VPC, in-cluster database pods); pipeline code must never reach one. Needs endPort
# (Kubernetes 1.25+); a network plugin without it enforces only `port`, which fails closed.
DATABASE_PORTS = (3306, 5432)
NON_DATABASE_PORTS = [
    {"protocol": "TCP", "port": 1, "endPort": 3305},
    {"protocol": "TCP", "port": 3307, "endPort": 5431},
    {"protocol": "TCP", "port": 5433, "endPort": 65535},
    {"protocol": "UDP"},
]
WORKLOAD_MANAGER = "zenml_cloud_plugins.kubernetes_workload_manager.KubernetesWorkloadManager"
RUNNER_SERVICE_ACCOUNT = RUNNER_SA


@dataclass
class RunnerNamespaceArgs:
    workspace: str
    namespace: str
    server_namespace: str
    server_service_account: str
    runner_image: str
    pod_resources: dict[str, Any]
    quota_cpu: str
    quota_memory: str
    quota_pods: int
    ttl_seconds_after_finished: int
    backoff_limit: int
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    egress_cidrs: list[str] = field(default_factory=list)
    egress_namespaces: list[str] = field(default_factory=list)
    egress_rules: list[dict[str, Any]] = field(default_factory=list)  # with ports (cloud endpoints)
    allow_internet: bool = False
    build_runner_image: bool = False
    docker_registry: Optional[str] = None
    implementation_source: str = WORKLOAD_MANAGER
    extra_env: list[dict[str, Any]] = field(default_factory=list)


class RunnerNamespace(pulumi.ComponentResource):
    def __init__(self, name: str, args: RunnerNamespaceArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:kubernetes:RunnerNamespace", name, None, opts)
        a = args
        meta = labels("zenml-runner", a.workspace)
        ns = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(a.namespace, labels={"zenml-platform.io/workspace": a.workspace, "zenml-platform.io/role": "runners"}),
            ctx,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = ns.name
        child = ctx.opts(self, depends_on=[ns])

        self.runner_service_account = k8s.core.v1.ServiceAccount(
            f"{name}-runner-sa",
            metadata={"name": RUNNER_SERVICE_ACCOUNT, "namespace": self.namespace, "labels": meta},
            automount_service_account_token=False,
            image_pull_secrets=ctx.image_pull_secrets,
            opts=child,
        )
        role = k8s.rbac.v1.Role(
            f"{name}-workload-manager",
            metadata={"name": "zenml-workload-manager", "namespace": self.namespace, "labels": meta},
            rules=WORKLOAD_MANAGER_RULES,
            opts=child,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-workload-manager",
            metadata={"name": "zenml-workload-manager", "namespace": self.namespace, "labels": meta},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": a.server_service_account, "namespace": a.server_namespace}],
            opts=child,
        )
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata={"name": "runner-quota", "namespace": self.namespace, "labels": meta},
            spec={
                "hard": {
                    "requests.cpu": a.quota_cpu,
                    "requests.memory": a.quota_memory,
                    "limits.cpu": a.quota_cpu,
                    "limits.memory": a.quota_memory,
                    "pods": str(a.quota_pods),
                }
            },
            opts=child,
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata={"name": "runner-defaults", "namespace": self.namespace, "labels": meta},
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "default": a.pod_resources["limits"],
                        "defaultRequest": a.pod_resources["requests"],
                    }
                ]
            },
            opts=child,
        )
        if ctx.network_policies:
            egress: list[dict[str, Any]] = [
                # The workspace server, directly and through the ingress controller (the server URL is public).
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": a.server_namespace}},
                            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "zenml-server"}},
                        },
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ctx.ingress_controller_namespace}}},
                    ]
                }
            ]
            if a.egress_cidrs:
                egress.append({"to": [{"ipBlock": {"cidr": c}} for c in a.egress_cidrs], "ports": list(NON_DATABASE_PORTS)})
            egress.extend(a.egress_rules)
            if a.egress_namespaces:
                egress.append(
                    {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}} for n in a.egress_namespaces],
                     "ports": list(NON_DATABASE_PORTS)}
                )
            if a.allow_internet:
                egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(NON_INTERNET_CIDRS)}}],
                               "ports": list(NON_DATABASE_PORTS)})
            k8s.networking.v1.NetworkPolicy(
                f"{name}-runner-egress",
                metadata={"name": "runner-egress", "namespace": self.namespace, "labels": meta},
                spec={"podSelector": {}, "policyTypes": ["Egress"], "egress": egress},
                opts=child,
            )

        env = [
            env_value("ZENML_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE", a.implementation_source),
            env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_NAMESPACE", a.namespace),
            env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_SERVICE_ACCOUNT", RUNNER_SERVICE_ACCOUNT),
            env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_BUILD_RUNNER_IMAGE", str(a.build_runner_image).lower()),
            env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_POD_RESOURCES", json.dumps(a.pod_resources, sort_keys=True)),
            env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_TTL_SECONDS_AFTER_FINISHED", str(a.ttl_seconds_after_finished)),
            env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_JOB_BACKOFF_LIMIT", str(a.backoff_limit)),
        ]
        if a.build_runner_image:
            env.append(env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_DOCKER_REGISTRY", a.docker_registry))
            env.append(env_value("ZENML_RUNNER_PARENT_IMAGE", a.runner_image))
        else:
            env.append(env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_RUNNER_IMAGE", a.runner_image))
        if a.node_selector:
            env.append(env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_NODE_SELECTOR", json.dumps(a.node_selector, sort_keys=True)))
        if a.tolerations:
            env.append(env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_TOLERATIONS", json.dumps(a.tolerations, sort_keys=True)))
        self.server_env: list[dict[str, Any]] = env + a.extra_env
        self.register_outputs({"namespace": self.namespace})
