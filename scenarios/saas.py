"""SaaS (operator side): the operator runs the control plane and one isolated workspace per tenant
(namespace, database, secrets store, host name and runner namespace each their own).
"""

from __future__ import annotations

from typing import Any

from scenarios.kubernetes_platform import deploy_kubernetes_platform, next_steps
from stack_config.model import StackConfig


def deploy(cfg: StackConfig) -> dict[str, Any]:
    outputs = deploy_kubernetes_platform(cfg)
    outputs["scenario"] = "saas"
    outputs["nextSteps"] = next_steps(cfg, outputs)
    return outputs
