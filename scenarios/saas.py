"""SaaS (operator side): the operator runs the control plane and one isolated workspace per tenant; each tenant's
namespace, database, secrets store, host name and runner namespace are its own. Artifacts stay with the tenant
(artifact store mode `tenant` or `none` by default, StackConfig.artifact_mode_of, read in scenarios/args.py).

    tenants ──> ingress ──> control plane ──> its PostgreSQL
                   │
                   ├──> workspace A ──> A's database, A's secrets ──> A's runners ──> A's bucket (tenant account)
                   └──> workspace B ──> B's database, B's secrets ──> B's runners ──> B's bucket (tenant account)
"""

from __future__ import annotations

from typing import Any

from scenarios import args
from scenarios.cloud_platform import build_backend
from scenarios.kubernetes_platform import control_plane, stack_outputs, trust, workspaces
from stack_config.model import StackConfig


def deploy(cfg: StackConfig) -> dict[str, Any]:
    ctx = args.context(cfg)
    backend = build_backend(cfg, ctx)
    t = trust(cfg)
    # The operator's control plane is part of this layout (the config rules refuse a saas stack without it); every
    # tenant is a workspace of its own, enrolled with it.
    plane = control_plane(cfg, ctx, t, backend)
    return stack_outputs(cfg, ctx, t, "saas", {"controlPlane": plane, **workspaces(cfg, ctx, t, backend)})
