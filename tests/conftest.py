"""Shared test helpers: load config from dicts or stack files and plan it under recording mocks."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planning.run import PlanResult, run_program  # noqa: E402
from stack_config import load_from_mapping  # noqa: E402

NS = "zenml-platform"
# A real (self-signed, generated for the tests) CA certificate, for fields that validate PEM structure.
EXAMPLE_CA = (ROOT / "tests" / "data" / "example-ca.pem").read_text()

LOCAL_MIN: dict[str, Any] = {
    "scenario": "self-hosted",
    "domain": "zenml.example.com",
    "registryMirror": {"registry": "registry.corp.internal:5000"},
    "workspaces": [{"name": "alpha"}],
}


def namespaced(data: dict[str, Any]) -> dict[str, Any]:
    return {f"{NS}:{k}": v for k, v in data.items()}


def config(**overrides: Any):
    data = copy.deepcopy(LOCAL_MIN)
    data.update(overrides)
    return load_from_mapping(namespaced(data))


def plan(cfg, preview: bool = False, stack: str = "test") -> PlanResult:
    return run_program(cfg, stack, preview=preview)


@pytest.fixture(params=[True, False], ids=["preview", "update"])
def preview(request) -> bool:
    return request.param


PRO_WORKSPACE = {
    "name": "team-a",
    "edition": "pro",
    "pro": {
        "organizationId": "0b6e5c7e-6f41-4a55-9d3c-1d1f8a1e0001",
        "workspaceId": "0b6e5c7e-6f41-4a55-9d3c-1d1f8a1e0002",
        "enrollmentKey": {"secretKeyRef": {"name": "zenml-enrollment", "key": "team-a"}},
    },
}
