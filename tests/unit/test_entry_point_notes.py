"""The Pulumi entry point (__main__.py) shows deprecation notes itself only when our CLI has not (plain `pulumi up`)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shown, expected", [(None, 1), ("1", 0)], ids=["plain-pulumi", "from-our-cli"])
def test_entry_point_warns_unless_the_cli_did(monkeypatch, shown, expected):
    import pulumi

    import scenarios
    import stack_config
    from cli_app.stack_files import NOTES_SHOWN_ENV
    from tests.conftest import config

    cfg = config(scenario="airgapped")
    assert len(cfg.deprecations) == 1
    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, *a, **k: warned.append(msg))
    monkeypatch.setattr(pulumi, "get_stack", lambda: "test")
    monkeypatch.setattr(stack_config, "load_from_pulumi_runtime", lambda stack: cfg)
    monkeypatch.setattr(scenarios, "program_for", lambda c: (lambda c: {}))
    if shown is None:
        monkeypatch.delenv(NOTES_SHOWN_ENV, raising=False)
    else:
        monkeypatch.setenv(NOTES_SHOWN_ENV, shown)
    runpy.run_path(str(ROOT / "__main__.py"))
    assert warned == list(cfg.deprecations) * expected
