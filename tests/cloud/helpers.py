"""Shared helpers for the cloud tests: plans are cached per (stack, mode) so the suite stays fast."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from planning.run import PlanResult, run_program
from stack_config import load_from_mapping, load_stack_file

ROOT = Path(__file__).resolve().parents[2]
CLOUD_STACKS = [
    "airgapped-aws",
    "airgapped-gcp",
    "hybrid-aws",
    "hybrid-gcp",
    "hybrid-kubernetes",
    "saas-aws",
    "saas-gcp",
    "saas-kubernetes",
]
AWS_STACKS = [s for s in CLOUD_STACKS if s.endswith("-aws")]
GCP_STACKS = [s for s in CLOUD_STACKS if s.endswith("-gcp")]
TENANT_STACKS = ["tenant-aws", "tenant-gcp"]


@cache
def stack_config(stack: str):
    return load_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")


@cache
def planned(stack: str, preview: bool) -> PlanResult:
    return run_program(stack_config(stack), stack, preview=preview)


@cache
def tenant_planned(stack: str, preview: bool) -> PlanResult:
    from tenant.config import load_tenant_file
    from tenant.program import deploy

    return run_program(load_tenant_file(ROOT / "tenant" / f"Pulumi.{stack}.yaml"), stack, preview=preview, program=deploy)


def stack_data(stack: str) -> dict[str, Any]:
    """The stack file's config as a mutable dict (namespaced keys), for bad-input variants."""
    import yaml

    return copy.deepcopy(yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"])


def load(data: dict[str, Any]):
    return load_from_mapping(data)


def policy(reg) -> dict[str, Any]:
    return json.loads(reg.inputs["policy"])


def trust(reg) -> dict[str, Any]:
    return json.loads(reg.inputs["assumeRolePolicy"])


def strings(value: Any) -> Iterator[str]:
    """Every string inside a registration's inputs (JSON documents included, as text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings(v)


def descendants(result: PlanResult, root_urn: str) -> list:
    children: dict[str, list] = {}
    for r in result.registrations:
        children.setdefault(r.parent or "", []).append(r)
    out, stack = [], [root_urn]
    while stack:
        urn = stack.pop()
        for child in children.get(urn, []):
            out.append(child)
            stack.append(child.urn)
    return out


def workspace_urn(result: PlanResult, name: str) -> str:
    [ws] = [r for r in result.registrations if r.type == "zenml-platform:platform:Workspace" and r.name == name]
    return ws.urn
