"""Hybrid: the control plane is hosted elsewhere (ZenML by default); workspace servers, their databases,
secrets stores and runner namespaces run in this cluster and connect outbound only.
"""

from __future__ import annotations

from typing import Any

from scenarios.kubernetes_platform import deploy_kubernetes_platform, next_steps
from stack_config.model import StackConfig


def deploy(cfg: StackConfig) -> dict[str, Any]:
    outputs = deploy_kubernetes_platform(cfg)
    outputs["scenario"] = "hybrid"
    outputs["nextSteps"] = next_steps(cfg, outputs)
    return outputs
