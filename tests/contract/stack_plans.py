"""Every example stack (`stacks/Pulumi.*.yaml`), planned once per test session under the recording mocks.

Shared by tests/contract, tests/security and tests/policies: they all check what the example stacks render, and
a new stack file is picked up without touching any test.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planning.recording_mocks import UNKNOWN_PLACEHOLDER  # noqa: E402
from planning.render import kubernetes_objects  # noqa: E402
from planning.run import PlanResult, run_program  # noqa: E402
from stack_config import load_stack_file  # noqa: E402
from stack_config.secrets import SECRET_PLACEHOLDER  # noqa: E402

STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
# Extra stack files that exercise layouts the example stacks do not have yet (Pro workspaces, runner namespaces,
# Vault, a control plane); used by the policy and env-contract tests, never by the live server runs.
FIXTURE_STACK_FILES = sorted((Path(__file__).resolve().parent / "fixtures").glob("Pulumi.*.yaml"))


def stack_name(path: Path) -> str:
    if path.name.startswith("Pulumi.") and path.name.endswith(".yaml"):
        return path.name[len("Pulumi.") : -len(".yaml")]
    return path.stem


@functools.cache
def plan(path: Path, preview: bool = False) -> PlanResult:
    """Update-mode plans by default: every value a real `pulumi up` would know is known (no `[unknown]`)."""
    cfg = load_stack_file(path)
    return run_program(cfg, stack_name(path), preview=preview)


@functools.cache
def config(path: Path):
    return load_stack_file(path)


def objects(path: Path, preview: bool = False) -> list[dict[str, Any]]:
    return kubernetes_objects(plan(path, preview).registrations)


@dataclass
class ServerWorkload:
    """One workspace server as rendered: its Deployment, its migration Job, and the objects around them."""

    namespace: str
    deployment: dict[str, Any]
    job: dict[str, Any]
    objects: list[dict[str, Any]]  # every object of the stack, to look up Secrets, ConfigMaps, StatefulSets

    @property
    def workspace(self) -> str:
        return self.deployment["metadata"]["labels"]["app.kubernetes.io/instance"]

    @property
    def server_container(self) -> dict[str, Any]:
        return self.deployment["spec"]["template"]["spec"]["containers"][0]

    @property
    def migration_container(self) -> dict[str, Any]:
        return self.job["spec"]["template"]["spec"]["containers"][0]

    def env_value(self, name: str, container: Optional[dict] = None) -> Optional[str]:
        for e in (container or self.server_container).get("env", []):
            if e["name"] == name:
                return e.get("value")
        return None

    @property
    def is_pro(self) -> bool:
        return self.env_value("ZENML_SERVER_DEPLOYMENT_TYPE") == "cloud" or "zenml-pro" in self.server_container["image"]

    def in_namespace(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind and o["metadata"].get("namespace") == self.namespace]


def server_workloads(path: Path) -> list[ServerWorkload]:
    objs = objects(path)
    out = []
    for d in objs:
        if d["kind"] != "Deployment" or d["metadata"]["labels"].get("app.kubernetes.io/name") != "zenml-server":
            continue
        ns = d["metadata"]["namespace"]
        instance = d["metadata"]["labels"]["app.kubernetes.io/instance"]
        jobs = [
            j
            for j in objs
            if j["kind"] == "Job"
            and j["metadata"].get("namespace") == ns
            and j["metadata"]["labels"].get("app.kubernetes.io/component") == "migration"
            and j["metadata"]["labels"].get("app.kubernetes.io/instance") == instance
        ]
        assert len(jobs) == 1, f"{path.name}: workspace {instance} has {len(jobs)} migration Jobs"
        out.append(ServerWorkload(namespace=ns, deployment=d, job=jobs[0], objects=objs))
    return out


def has_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return value in (UNKNOWN_PLACEHOLDER, SECRET_PLACEHOLDER)
    if isinstance(value, dict):
        return any(has_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(has_placeholder(v) for v in value)
    return False
