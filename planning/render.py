"""Turn a plan into files: `plan.json` (every resource) and `manifests.yaml` (every Kubernetes object).

Secrets are already `[secret]` in registrations; Secret objects additionally never carry `data`/`stringData`
values, so even a value that reached a Secret unmarked cannot be written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import yaml

from planning.recording_mocks import Registration
from planning.run import PlanResult
from stack_config.secrets import SECRET_PLACEHOLDER

# Types that are Kubernetes API objects (the provider and Helm releases are not).
_NOT_OBJECTS = ("pulumi:providers:", "kubernetes:helm.sh/")


def api_version_kind(type_token: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> (`apps/v1`, `Deployment`); the core group has no prefix."""
    _, group_version, kind = type_token.split(":")
    group, _, version = group_version.rpartition("/")
    return (version if group == "core" else f"{group}/{version}"), kind


def kubernetes_objects(registrations: Iterable[Registration]) -> list[dict[str, Any]]:
    objects = []
    for r in registrations:
        if not r.type.startswith("kubernetes:") or r.type.startswith(_NOT_OBJECTS):
            continue
        api_version, kind = api_version_kind(r.type)
        body = {k: v for k, v in r.inputs.items() if k not in ("apiVersion", "kind")}
        if kind == "Secret":
            for field in ("data", "stringData"):
                if field in body:
                    body[field] = {key: SECRET_PLACEHOLDER for key in body[field]} if isinstance(body[field], dict) else SECRET_PLACEHOLDER
        objects.append({"apiVersion": api_version, "kind": kind, **body})
    return objects


def plan_document(result: PlanResult) -> list[dict[str, Any]]:
    return [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "inputs": r.inputs,
        }
        for r in result.registrations
    ]


def write_plan(result: PlanResult, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / "plan.json"
    plan_path.write_text(json.dumps(plan_document(result), indent=2, sort_keys=True, default=str) + "\n")
    manifests_path = out_dir / "manifests.yaml"
    manifests_path.write_text(
        yaml.safe_dump_all(kubernetes_objects(result.registrations), sort_keys=False, default_flow_style=False)
    )
    return plan_path, manifests_path
