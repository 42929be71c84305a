"""Self-hosted: everything in one cluster. The Pro control plane (left out for an OSS-only install) and every
workspace run here; servers enroll with this stack's control plane and trust this stack's CA.

    ingress controller ──> control plane (namespace <prefix>-control-plane) ──> its PostgreSQL
            │                       ▲
            └──> workspace server ──┘ (enrollment, https)   ──> its database, secrets store
                      │
                      └──> runner namespace (workload manager)

With `airGap.enabled` the network allows nothing out of the cluster: images come from the registry mirror, the
chart from a local archive, TLS from the internal or a provided CA, cloud APIs through private endpoints
(scenarios/args.py `air_gapped`). Without it, the same layout may pull from public registries.
"""

from __future__ import annotations

from typing import Any

from scenarios import args
from scenarios.cloud_platform import build_backend
from scenarios.kubernetes_platform import control_plane, stack_outputs, trust, workspaces
from stack_config.model import StackConfig


def deploy(cfg: StackConfig) -> dict[str, Any]:
    ctx = args.context(cfg)
    backend = build_backend(cfg, ctx)  # target kubernetes: in the cluster; aws/gcp: managed services
    t = trust(cfg)
    parts: dict[str, Any] = {}
    if cfg.control_plane.enabled:
        parts["controlPlane"] = control_plane(cfg, ctx, t, backend)
    parts.update(workspaces(cfg, ctx, t, backend))
    return stack_outputs(cfg, ctx, t, cfg.scenario.value, parts)
