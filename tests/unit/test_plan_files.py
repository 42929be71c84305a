"""`plan --out` files: written for every example stack in both modes, unknowns and secrets as placeholders,
never an object repr, byte-identical across runs; and the slim recording mocks answer what components read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli_app.main import app
from planning.recording_mocks import ANSWER_ECHO, ANSWER_READ, UNKNOWN_PLACEHOLDER, Registration
from planning.render import NotPlainData, render_plan, write_plan
from planning.run import PlanResult, run_program
from stack_config import load_stack_file

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
TENANT_STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "tenant").glob("Pulumi.*.yaml"))
CLOUD_STACKS = [s for s in STACKS if s.endswith(("-aws", "-gcp"))]
REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>")
runner = CliRunner()


def tenant_plan(stack: str, preview: bool, answer: str = ANSWER_READ) -> PlanResult:
    from tenant.config import load_tenant_file
    from tenant.program import deploy

    return run_program(load_tenant_file(ROOT / "tenant" / f"Pulumi.{stack}.yaml"), stack, preview=preview, program=deploy, answer=answer)


def assert_clean_files(out: Path) -> str:
    plan_text, manifests_text = (out / "plan.json").read_text(), (out / "manifests.yaml").read_text()
    assert not REPR.search(plan_text) and not REPR.search(manifests_text)
    plan = json.loads(plan_text)
    assert [r["urn"] for r in plan] == sorted(r["urn"] for r in plan)
    list(yaml.safe_load_all(manifests_text))  # parses
    return plan_text + manifests_text


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("mode", ["preview", "update"])
def test_plan_out_writes_every_example_stack(tmp_path, stack, mode):
    # Exactly what the preview workflow runs on every stack file (plus --update for the other mode).
    argv = ["plan", "-s", stack, "--out", str(tmp_path / stack)] + (["--update"] if mode == "update" else [])
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    text = assert_clean_files(tmp_path / stack)
    if mode == "preview" and stack in CLOUD_STACKS:
        # Cloud resources have outputs only the provider knows (addresses, ARNs): a preview shows placeholders.
        assert UNKNOWN_PLACEHOLDER in text


@pytest.mark.parametrize("stack", TENANT_STACKS)
@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
def test_plan_files_of_tenant_stacks(tmp_path, stack, preview):
    write_plan(tenant_plan(stack, preview), tmp_path)
    assert_clean_files(tmp_path)


def test_a_stray_object_fails_the_write_with_its_key_path_and_writes_nothing(tmp_path, monkeypatch):
    reg = Registration(urn="urn:pulumi:s::p::kubernetes:core/v1:ConfigMap::cm", type="kubernetes:core/v1:ConfigMap",
                       name="cm", parent=None, inputs={"data": {"k": object()}}, custom=True)
    bad = PlanResult(stack="s", preview=True, registrations=[reg])
    with pytest.raises(NotPlainData, match=r"cm\.data\.k: a object is not plain data"):
        write_plan(bad, tmp_path / "direct")
    assert not (tmp_path / "direct").exists()

    import planning.run

    monkeypatch.setattr(planning.run, "run_program", lambda *a, **k: bad)
    result = runner.invoke(app, ["plan", "-s", "local", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 1
    assert "cm.data.k: a object is not plain data" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "cli").exists()


def test_plan_files_do_not_depend_on_registration_or_key_order():
    result = run_program(load_stack_file(ROOT / "stacks" / "Pulumi.hybrid-aws.yaml"), "hybrid-aws", preview=True)

    def reversed_keys(value):
        if isinstance(value, dict):
            return {k: reversed_keys(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reversed_keys(v) for v in value]
        return value

    shuffled = PlanResult(
        stack=result.stack, preview=True,
        registrations=[Registration(**{**r.__dict__, "inputs": reversed_keys(r.inputs)}) for r in reversed(result.registrations)],
    )
    assert render_plan(shuffled) == render_plan(result)


def test_two_runs_of_plan_out_are_byte_identical(tmp_path):
    # Separate processes with different hash seeds: set order, dict order from the wire and scheduling may differ.
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"run{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "cli.py", "plan", "-s", "saas-aws", "--out", str(out)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outputs.append(((out / "plan.json").read_bytes(), (out / "manifests.yaml").read_bytes()))
    assert outputs[0] == outputs[1]


# --- slim mocks: answering only what components read changes nothing -----------------------------------------

def comparable(result: PlanResult) -> tuple:
    regs = sorted(
        (r.urn, r.type, r.parent, json.dumps(r.inputs, sort_keys=True), r.secret_outputs, tuple(sorted(r.dependencies)),
         r.protect, r.retain_on_delete, r.delete_before_replace, r.replace_on_changes)
        for r in result.registrations
    )
    return regs, json.dumps(result.outputs, sort_keys=True, default=str)


def assert_same_plan(slim: PlanResult, echo: PlanResult) -> None:
    a, b = comparable(slim), comparable(echo)
    if a != b:
        diff = [x[0] for x, y in zip(a[0], b[0], strict=False) if x != y][:5]
        raise AssertionError(f"slim mocks change the plan (a component reads an output they drop): {diff or 'outputs'}")


# Only a preview can tell: in an update the SDK resolves an output the mocks leave out to the input of that name,
# which is what the echo answers too.
@pytest.mark.parametrize("stack", STACKS + TENANT_STACKS)
def test_slim_mocks_answer_every_output_components_read(stack):
    if stack in TENANT_STACKS:
        slim, echo = tenant_plan(stack, True), tenant_plan(stack, True, ANSWER_ECHO)
    else:
        cfg = load_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
        slim, echo = run_program(cfg, stack, preview=True), run_program(cfg, stack, preview=True, answer=ANSWER_ECHO)
    assert_same_plan(slim, echo)


def test_the_comparison_catches_a_component_reading_a_dropped_output():
    import pulumi_kubernetes as k8s

    def program(_cfg):
        source = k8s.core.v1.ConfigMap("source", metadata={"name": "source", "namespace": "ns"}, data={"k": "v"})
        k8s.core.v1.ConfigMap("copy", metadata={"name": "copy", "namespace": "ns"}, data=source.data)  # reads `data`
        return {}

    slim = run_program(None, "t", preview=True, program=program)  # type: ignore[arg-type]
    echo = run_program(None, "t", preview=True, program=program, answer=ANSWER_ECHO)  # type: ignore[arg-type]
    assert slim.named("copy").inputs.get("data") != echo.named("copy").inputs["data"]
    with pytest.raises(AssertionError, match="reads an output they drop"):
        assert_same_plan(slim, echo)


# --- the run's tuning: no cyclic GC during the program, the caller's state restored --------------------------

def test_program_runs_without_cyclic_gc_and_the_callers_state_is_restored():
    import gc

    seen = []

    def program(_cfg):
        seen.append(gc.isenabled())
        return {}

    assert gc.isenabled()
    run_program(None, "t", preview=True, program=program)  # type: ignore[arg-type]
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        run_program(None, "t", preview=True, program=program, collect=False)  # type: ignore[arg-type]
        assert not gc.isenabled()  # a caller that turned it off (the CLI process) keeps it off
    finally:
        gc.enable()


def test_monitor_calls_run_on_the_loop_thread_and_the_pool_is_restored(monkeypatch):
    import threading

    import pulumi_kubernetes as k8s
    from pulumi.runtime.sync_await import _ensure_event_loop

    from planning.recording_mocks import RecordingMonitor

    threads = []
    register = RecordingMonitor.RegisterResource

    def recording(self, request):
        threads.append(threading.get_ident())
        return register(self, request)

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", recording)
    loop = _ensure_event_loop()
    before = getattr(loop, "_default_executor", None)

    def program(_cfg):
        k8s.core.v1.ConfigMap("cm", metadata={"name": "cm", "namespace": "ns"})
        return {}

    result = run_program(None, "t", preview=False, program=program)  # type: ignore[arg-type]
    assert [r.name for r in result.registrations] == ["cm"]
    assert set(threads) == {threading.get_ident()}  # no thread pool hand-off per registration
    assert getattr(loop, "_default_executor", None) is before


def test_an_answer_with_a_resource_reference_goes_through_the_sdk_serializer_on_the_loop_thread():
    # Not plain data (here a resource reference echoed back): the monitor falls back to the SDK's serializer,
    # re-entering the running loop; the run must complete, and the plan files refuse the object by key path.
    import pulumi_kubernetes as k8s

    def program(_cfg):
        a = k8s.core.v1.ConfigMap("a", metadata={"name": "a", "namespace": "ns"})
        b = k8s.core.v1.ConfigMap("b", metadata={"name": "b", "namespace": "ns"}, data={"ref": a})
        return {"b": b.metadata.apply(lambda m: m["name"])}

    for preview in (True, False):
        result = run_program(None, "t", preview=preview, program=program, answer=ANSWER_ECHO)  # type: ignore[arg-type]
        assert result.outputs == {"b": "b"}
        with pytest.raises(NotPlainData, match=r"ConfigMap::b\.data\.ref: a ConfigMap is not plain data"):
            render_plan(result)
