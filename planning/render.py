"""Turn a plan into files: `plan.json` (every resource) and `manifests.yaml` (every Kubernetes object).

Secrets are already `[secret]` in registrations; Secret objects additionally never carry `data`/`stringData`
values, so even a value that reached a Secret unmarked cannot be written. Values not known until deployment are
`[unknown]`. Both files are deterministic: resources sorted by URN, keys sorted (a manifest keeps `apiVersion`,
`kind`, `metadata` first), so two runs of the same stack give byte-identical files and a diff shows real changes.
Anything that is not plain data (a stray SDK object) fails the write with its key path instead of being
written as a repr.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pulumi.output import Unknown

from planning.recording_mocks import UNKNOWN, UNKNOWN_PLACEHOLDER, Registration, is_secret
from planning.run import PlanResult
from stack_config.secrets import SECRET_PLACEHOLDER

# Types that are Kubernetes API objects (the provider and Helm releases are not).
_NOT_OBJECTS = ("pulumi:providers:", "kubernetes:helm.sh/")


def api_version_kind(type_token: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> (`apps/v1`, `Deployment`); the core group has no prefix."""
    _, group_version, kind = type_token.split(":")
    group, _, version = group_version.rpartition("/")
    return (version if group == "core" else f"{group}/{version}"), kind


class NotPlainData(ValueError):
    """A value in a plan that is neither plain data nor a placeholder; names where it is."""


def plain(value: Any, path: str) -> Any:
    """`value` with dict keys sorted, unknowns as `[unknown]`; NotPlainData for anything that is not data."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return UNKNOWN_PLACEHOLDER if value == UNKNOWN else value
    # Registrations are masked already; these two catch an unknown or secret that reached a plan another way.
    if isinstance(value, Unknown):
        return UNKNOWN_PLACEHOLDER
    if is_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {str(k): plain(value[k], f"{path}.{k}") for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise NotPlainData(f"{path}: a {type(value).__name__} is not plain data and cannot be written to a plan file")


def by_urn(registrations: Iterable[Registration]) -> list[Registration]:
    return sorted(registrations, key=lambda r: r.urn)


_MANIFEST_HEAD = ("apiVersion", "kind", "metadata")


def kubernetes_objects(registrations: Iterable[Registration]) -> list[dict[str, Any]]:
    objects = []
    for r in by_urn(registrations):
        if not r.type.startswith("kubernetes:") or r.type.startswith(_NOT_OBJECTS):
            continue
        api_version, kind = api_version_kind(r.type)
        body = {k: v for k, v in r.inputs.items() if k not in ("apiVersion", "kind")}
        if kind == "Secret":
            for field in ("data", "stringData"):
                if field in body:
                    body[field] = {key: SECRET_PLACEHOLDER for key in body[field]} if isinstance(body[field], dict) else SECRET_PLACEHOLDER
        body = plain(body, r.urn)
        head = {"apiVersion": api_version, "kind": kind}
        if "metadata" in body:
            head["metadata"] = body.pop("metadata")
        objects.append({**head, **body})
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
            "inputs": plain(r.inputs, r.urn),
        }
        for r in by_urn(result.registrations)
    ]


# libyaml's emitter when PyYAML was built with it (the pinned wheel is): the pure-Python one was about a sixth
# of a 100-workspace `plan --out`. Both emit the same text for plain data.
_YamlDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def render_manifests(objects: list[dict[str, Any]]) -> str:
    return yaml.dump_all(objects, Dumper=_YamlDumper, sort_keys=False, default_flow_style=False)


def render_plan(result: PlanResult) -> tuple[str, str]:
    """(plan.json text, manifests.yaml text); raises NotPlainData before anything is written."""
    plan_text = json.dumps(plan_document(result), indent=2, sort_keys=True) + "\n"
    return plan_text, render_manifests(kubernetes_objects(result.registrations))


def write_plan(result: PlanResult, out_dir: Path) -> tuple[Path, Path]:
    plan_text, manifests_text = render_plan(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / "plan.json"
    plan_path.write_text(plan_text)
    manifests_path = out_dir / "manifests.yaml"
    manifests_path.write_text(manifests_text)
    return plan_path, manifests_path
