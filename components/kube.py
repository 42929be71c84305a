"""Small Kubernetes building blocks shared by components: labels, security contexts, resources, env."""

from __future__ import annotations

from typing import Any, Optional

MANAGED_BY = "zenml-platform"


def labels(component: str, instance: str, part_of: str = "zenml") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/part-of": part_of,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector(component: str, instance: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": component, "app.kubernetes.io/instance": instance}


def container_security_context(read_only_root: bool = True) -> dict[str, Any]:
    """Restricted Pod Security Standard for a container."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(uid: int, gid: Optional[int] = None, fs_group: Optional[int] = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid if gid is not None else uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if fs_group is not None:
        ctx["fsGroup"] = fs_group
        ctx["fsGroupChangePolicy"] = "OnRootMismatch"
    return ctx


def env_value(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "value": value}


def env_secret(name: str, secret: Any, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def spread(match_labels: dict[str, str]) -> list[dict[str, Any]]:
    """Spread replicas over zones and nodes when possible; never block scheduling on a small cluster."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": match_labels},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def tmp_volume(name: str = "tmp", size: str = "256Mi") -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": size}}
