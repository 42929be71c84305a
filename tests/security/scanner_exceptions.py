"""Every kube-score finding this project accepts, with the reason, and every one it has asked to be fixed.

docs/security.md lists the same entries (a test keeps the two in step). An exception is scoped by check id, kind
and a predicate on the object, so a finding on any other object still fails. Once a component carries the
matching `kube-score/ignore` annotation (and a comment pointing here), kube-score skips the check itself; the test
still requires the check to be listed below, so nothing is ignored without a written reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")


def _role(obj: dict[str, Any]) -> str:
    """`zenml-platform.io/role` of the object's namespace is not in the object; the namespace name ends in it."""
    return obj["metadata"].get("namespace", "")


@dataclass(frozen=True)
class Exception_:
    check: str
    kinds: tuple[str, ...]
    reason: str
    applies: Callable[[dict[str, Any]], bool] = lambda obj: True


EXCEPTIONS: list[Exception_] = [
    Exception_(
        "container-image-pull-policy",
        WORKLOAD_KINDS,
        "Images are pinned by version tag and, air-gapped, pulled from the internal mirror; `Always` would make "
        "every pod restart depend on the registry being up. The policy is a stack setting (images.pullPolicy) for "
        "clusters that need pull-time credential checks on every start.",
    ),
    Exception_(
        "container-security-context-user-group-id",
        WORKLOAD_KINDS,
        "The UIDs are the non-root users built into the images (1000 for zenml-server, 999 for mysql/postgres), "
        "which own the images' files. Pods run with runAsNonRoot, no privilege escalation, all capabilities dropped, "
        "RuntimeDefault seccomp and a read-only root filesystem, enforced by Pod Security `restricted`.",
    ),
    Exception_(
        "container-ephemeral-storage-request-and-limit",
        WORKLOAD_KINDS,
        "Root filesystems are read-only; the only writable paths are emptyDir volumes with a sizeLimit "
        "(components/kube.py tmp_volume) and PVCs, so a container cannot fill the node's ephemeral storage; "
        "container logs are bounded by the kubelet's rotation.",
    ),
    Exception_(
        "pod-probes-identical",
        ("Deployment",),
        "ZenML 0.98 serves one trivial health handler (`/health`; `/ready` returns the same constant), so distinct "
        "probe paths would add no signal. The probes differ in timing: readiness every 10 s (3 failures) takes a pod "
        "out of the Service quickly; liveness every 20 s (6 failures) restarts it only after two minutes.",
        lambda obj: obj["metadata"]["name"] == "zenml-server",
    ),
    Exception_(
        "deployment-has-host-podantiaffinity",
        ("Deployment",),
        "Replicas are spread with topologySpreadConstraints over zones and nodes (components/kube.py spread, "
        "ScheduleAnyway), which kube-score does not recognise; hard anti-affinity would block scheduling on small "
        "clusters.",
    ),
    Exception_(
        "deployment-replicas",
        ("Deployment",),
        "One server replica is the dev and small profiles' choice (stack files say so); the production profile "
        "runs at least two replicas with a PodDisruptionBudget and an HPA.",
        lambda obj: obj["spec"].get("replicas") == 1,
    ),
    Exception_(
        "networkpolicy-targets-pod",
        ("NetworkPolicy",),
        "Runner namespaces start empty (the workload manager creates runner pods at run time) and the control plane's "
        "pods come from the vendor Helm chart, which a plan does not render; their deny-by-default and egress "
        "policies are there before the first pod.",
        lambda obj: _role(obj).endswith("-runners") or _role(obj).endswith("-control-plane"),
    ),
]

# Findings that are defects (fixed in fa10f67): the test fails, with the fix, if one comes back.
FIX_REQUESTED: dict[str, str] = {
    "cronjob-has-deadline": (
        "components/in_cluster_database.py `_backup`: add `\"startingDeadlineSeconds\": 3600` to the CronJob spec. "
        "Without a deadline, a controller that missed more than 100 schedules (cluster down, CronJob suspended) stops "
        "scheduling the backup altogether; with it, a missed backup runs late once, within the hour."
    ),
    "deployment-targeted-by-hpa-does-not-have-replicas-configured": (
        "components/workspace_server.py Deployment spec: omit `replicas` when the HorizontalPodAutoscaler is created "
        "(a.replicas > 1); the HPA's minReplicas already carries it. As is, every update of the Deployment "
        "(version upgrade, env change) applies `replicas` again and scales a busy server back to the minimum."
    ),
}
