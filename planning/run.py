"""Run a layout program in-process under recording mocks, in preview or update mode, and collect the result."""

from __future__ import annotations

import concurrent.futures
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from planning.recording_mocks import ANSWER_READ, RecordingMocks, RecordingMonitor, Registration
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

    resource_runtime._get_stack_trace = lambda: source_pb2.StackTrace()


def _memoize(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[Any, Any] = {}

    def cached(tp: Any) -> Any:
        try:
            return cache[tp]
        except KeyError:
            result = cache[tp] = fn(tp)
            return result
        except TypeError:  # an unhashable annotation: compute it, as the SDK would
            return fn(tp)

    cached.__wrapped__ = fn  # type: ignore[attr-defined]
    return cached


def _memoized_type_helpers() -> None:
    """Cache the SDK's pure functions of a type annotation (Input[T] / Output[T] / Optional[T] unwrapping).

    The serializer and the output translation call them for every property of every resource, on the same few
    hundred annotations: ~35,000 calls and a tenth of a 30-workspace plan. They depend on the type alone.
    """
    from pulumi import _types

    for name in ("unwrap_type", "unwrap_optional_type", "_is_union_type", "_is_optional_type"):
        fn = getattr(_types, name)
        if not hasattr(fn, "__wrapped__"):
            setattr(_types, name, _memoize(fn))


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs a submitted call at once on the calling thread and hands back its finished future.

    The SDK sends every monitor call (RegisterResource, invokes, outputs) to the loop's default thread pool, as
    a gRPC call to the engine would block. The recording monitor answers in-process without blocking, so a
    thread hand-off buys nothing and costs a queue round trip, a wake-up of the loop's selector and GIL
    contention per resource.
    """

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine, as the pool would
            future.set_exception(exc)
        return future


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

    def state_urns(self) -> dict[str, str]:
        """The URN each resource matches in an existing state: its alias if it has one, else its own URN under its
        parent's state URN (the engine gives children of an aliased parent the same move). A refactor that
        reparents resources changes their URNs but, with aliases, not these."""
        from planning.recording_mocks import urn_of

        by_urn: dict[str, str] = {}
        for r in self.registrations:
            # Only moves count here (same type and name, another parent): the Kubernetes provider gives every
            # resource aliases to its older API versions, which are not moves.
            moves = [u for u in r.aliases if u.rsplit("::", 1)[1] == r.name and u.split("::")[2].rsplit("$", 1)[-1] == r.type]
            if moves:
                by_urn[r.urn] = moves[0]
            elif r.parent in by_urn and by_urn[r.parent] != r.parent:
                by_urn[r.urn] = urn_of(self.stack, PROJECT, by_urn[r.parent], r.type, r.name)
            else:
                by_urn[r.urn] = r.urn
        return by_urn

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
    answer: str = ANSWER_READ,
    collect: bool = True,
) -> PlanResult:
    """Plan `cfg` (or run `program`) under recording mocks; `answer` is what the mocks return (see ANSWER_*).

    The cyclic garbage collector is off while the program runs. The SDK builds reference cycles per resource
    (futures, tasks, closures) that all stay alive until the run ends, so every collection scans a growing heap
    and frees nothing: with it on, a 100-workspace plan spent ~40% of its time in 13 full collections and cost
    per workspace grew with the stack. Reference counting still frees what is not cyclic. With `collect`, one
    collection at the end frees the run's cycles (what a process planning many stacks, like the tests, wants);
    a process that exits after one plan passes False and freezes the heap instead (see `cli_app.offline.plan`).
    The caller's GC state is restored either way.
    """
    if program is None:
        from scenarios import program_for

        program = program_for(cfg)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(cfg, stack, preview, program, answer)
    finally:
        if collect:
            gc.collect()
        if gc_was_enabled:
            gc.enable()


def _run(cfg: StackConfig, stack: str, preview: bool, program: Callable[[StackConfig], dict[str, Any]], answer: str) -> PlanResult:
    _without_source_positions()
    _memoized_type_helpers()
    mocks = RecordingMocks(answer=answer)
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

    loop = _ensure_event_loop()
    pool = getattr(loop, "_default_executor", None)
    loop.set_default_executor(_InlineExecutor(max_workers=1))
    try:
        _sync_await(run_pulumi_func(body))
    finally:
        loop._default_executor = pool  # the caller's pool (or none, created lazily)
    return PlanResult(stack=stack, preview=preview, registrations=list(monitor.registrations), outputs=collected)


def _mask_nested(value: Any) -> Any:
    from planning.recording_mocks import mask

    return mask(value)
