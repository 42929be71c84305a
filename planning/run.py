"""Run a layout program in-process under recording mocks, in preview or update mode, and collect the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from planning.recording_mocks import RecordingMocks, RecordingMonitor, Registration
from stack_config.model import StackConfig
from stack_config.secrets import SECRET_PLACEHOLDER

PROJECT = "zenml-platform"


def _without_source_positions() -> None:
    """Skip the SDK's per-resource stack capture (source positions for engine error reports).

    Under mocks nothing reads them, and capturing them costs a `traceback.extract_stack()` plus a stat per frame
    for every resource: about a quarter of an offline plan's time.
    """
    from pulumi.runtime import resource as resource_runtime
    from pulumi.runtime.proto import source_pb2

    resource_runtime._get_stack_trace = lambda: source_pb2.StackTrace()  # type: ignore[attr-defined]


@dataclass
class PlanResult:
    stack: str
    preview: bool
    registrations: list[Registration]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.registrations if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def counts_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.registrations:
            counts[r.type] = counts.get(r.type, 0) + 1
        return dict(sorted(counts.items()))


def run_program(
    cfg: StackConfig,
    stack: str = "offline",
    preview: bool = True,
    program: Optional[Callable[[StackConfig], dict[str, Any]]] = None,
) -> PlanResult:
    if program is None:
        from scenarios import program_for

        program = program_for(cfg)
    _without_source_positions()
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks, project=PROJECT, stack=stack)
    settings.ROOT.set(None)  # a fresh Stack resource per run, so one process can plan many stacks
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    collected: dict[str, Any] = {}

    async def resolve(outputs: dict[str, Any]) -> None:
        for key, value in outputs.items():
            out = pulumi.Output.from_input(value)
            resolved = await out.future()
            collected[key] = SECRET_PLACEHOLDER if await out.is_secret() else _mask_nested(resolved)

    def body() -> None:
        outputs = program(cfg)
        _sync_await(resolve(outputs))

    _sync_await(run_pulumi_func(body))
    return PlanResult(stack=stack, preview=preview, registrations=list(monitor.registrations), outputs=collected)


def _mask_nested(value: Any) -> Any:
    from planning.recording_mocks import mask

    return mask(value)
