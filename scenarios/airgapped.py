"""Self-hosted / air-gapped: control plane (optional for OSS-only) and workspaces all in one cluster,
every image from the registry mirror, TLS from the customer CA, no egress outside the cluster.
"""

from __future__ import annotations

from typing import Any

from scenarios.kubernetes_platform import deploy_kubernetes_platform, next_steps
from stack_config.model import StackConfig


def deploy(cfg: StackConfig) -> dict[str, Any]:
    outputs = deploy_kubernetes_platform(cfg)
    outputs["scenario"] = "airgapped"
    outputs["nextSteps"] = next_steps(cfg, outputs)
    return outputs
