"""Hybrid: the control plane is hosted elsewhere (ZenML's by default, `controlPlane.external`); this cluster runs
the workspace servers, their databases, secrets stores and runner namespaces, which connect outbound only.

    ZenML-hosted control plane  <── https (enrollment, login) ──  workspace server ──> its database, secrets store
                                                                        │
                                                                        └──> runner namespace (workload manager)

No control plane here (the config rules refuse `controlPlane.enabled` in this layout).
"""

from __future__ import annotations

from typing import Any

from scenarios import args
from scenarios.cloud_platform import build_backend
from scenarios.kubernetes_platform import stack_outputs, trust, workspaces
from stack_config.model import StackConfig


def deploy(cfg: StackConfig) -> dict[str, Any]:
    ctx = args.context(cfg)
    backend = build_backend(cfg, ctx)
    t = trust(cfg)
    return stack_outputs(cfg, ctx, t, "hybrid", workspaces(cfg, ctx, t, backend))
