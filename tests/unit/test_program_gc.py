"""The Pulumi entry point tunes the cyclic GC once, after imports and config, before the layout registers."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

import scenarios
import stack_config
from scenarios import gc_tuning

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tune_freezes_and_raises_young_threshold(restore_gc):
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    gc_tuning.tune_for_program_run()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (gc_tuning.GEN0_THRESHOLD, 10, 10)
    assert gc.isenabled()


def test_tune_never_lowers_a_higher_threshold(restore_gc):
    gc.set_threshold(50_000, 10, 10)
    gc_tuning.tune_for_program_run()
    assert gc.get_threshold()[0] == 50_000


def test_entry_point_tunes_before_the_layout_runs(monkeypatch, restore_gc):
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    seen = {}

    def layout(cfg):
        seen["threshold"] = gc.get_threshold()[0]
        seen["frozen"] = gc.get_freeze_count()
        return {}

    def program_for(cfg):
        seen["frozen_at_import"] = gc.get_freeze_count()
        return layout

    monkeypatch.setattr(stack_config, "load_from_pulumi_runtime", lambda stack: SimpleNamespace(deprecations=[]))
    monkeypatch.setattr(scenarios, "program_for", program_for)
    monkeypatch.setattr("pulumi.get_stack", lambda: "t")
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__pulumi_program__")
    assert seen["frozen_at_import"] == 0  # the layout's imports happen before the freeze ...
    assert seen["frozen"] > 0 and seen["threshold"] == gc_tuning.GEN0_THRESHOLD  # ... and the run after it
