"""Cloud targets: the provider for the target's API, built from config (never ambient credentials' defaults),
and the services object (`AwsCloud`/`GcpCloud`) the shared Kubernetes assembly hands to every workspace.

The EKS/GKE cluster is an input: the Kubernetes provider still comes from `kubernetes.kubeconfig`/`context`.
"""

from __future__ import annotations

from typing import Any, Optional

from components.context import DeployContext
from stack_config.model import StackConfig


def build_cloud(cfg: StackConfig, ctx: DeployContext) -> Optional[Any]:
    if cfg.target.value == "aws":
        import pulumi_aws as aws

        from components.aws.platform import AwsCloud

        assert cfg.aws is not None
        a = cfg.aws
        provider = aws.Provider(
            "aws",
            region=a.region,
            allowed_account_ids=[a.account_id],
            default_tags={"tags": {"managed-by": "zenml-platform", **a.tags}},
        )
        return AwsCloud(cfg, ctx, provider)
    if cfg.target.value == "gcp":
        import pulumi_gcp as gcp

        from components.gcp.platform import GcpCloud

        assert cfg.gcp is not None
        g = cfg.gcp
        provider = gcp.Provider("gcp", project=g.project, region=g.region, default_labels={"managed-by": "zenml-platform", **g.labels})
        return GcpCloud(cfg, ctx, provider)
    return None
