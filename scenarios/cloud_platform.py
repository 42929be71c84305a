"""The backend of the stack's target: what a target provides every workspace and the control plane
(components/backend.py). Cloud targets get their provider built from config (never ambient credentials' defaults).

The EKS/GKE cluster is an input: the Kubernetes provider still comes from `kubernetes.kubeconfig`/`context`.
"""

from __future__ import annotations

from components.backend import Backend, KubernetesBackend
from components.context import DeployContext
from scenarios import args
from stack_config.model import StackConfig


def build_backend(cfg: StackConfig, ctx: DeployContext) -> Backend:
    if cfg.target.value == "aws":
        import pulumi_aws as aws

        from components.aws.platform import AwsCloud

        assert cfg.aws is not None
        a = cfg.aws
        aws_provider = aws.Provider(
            "aws",
            region=a.region,
            allowed_account_ids=[a.account_id],
            default_tags={"tags": {"managed-by": "zenml-platform", **a.tags}},
        )
        return AwsCloud(args.aws_target(cfg), ctx, aws_provider)
    if cfg.target.value == "gcp":
        import pulumi_gcp as gcp

        from components.gcp.platform import GcpCloud

        assert cfg.gcp is not None
        g = cfg.gcp
        gcp_provider = gcp.Provider("gcp", project=g.project, region=g.region, default_labels={"managed-by": "zenml-platform", **g.labels})
        return GcpCloud(args.gcp_target(cfg), ctx, gcp_provider)
    return KubernetesBackend()
