"""Events recorded from the real engine (pulumi v3.259.0 built by toolchain/, Automation API, file backend).

The program is `recorded/dynamic_program.py` (Python dynamic provider, so no cluster or plugin is needed): `up` at
gen=1, then gen=2 recorded as preview, up, drift (preview_refresh) and destroy. The raw stream carries a secret in
clear in engine debug diagnostics; the views built from it must not.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cli_app.events import Tracker
from cli_app.progress import Progress
from cli_app.summary import render_markdown, render_terminal
from tests.cli.events_recorded import parse

RECORDED = json.loads((Path(__file__).parent / "recorded" / "engine-v3.259.0-dynamic.json").read_text())
SECRET = "hunter2-do-not-print"


def fold(kind: str) -> Tracker:
    t = Tracker({"preview": "preview", "up": "up", "drift": "drift", "destroy": "destroy"}[kind])
    for e in parse(RECORDED[kind]):
        t.handle(e)
    return t


def test_the_recording_really_contains_the_secret():
    assert SECRET in json.dumps(RECORDED["preview"])


def test_preview_matches_the_engine_summary():
    t = fold("preview")
    assert t.summary == {"delete": 1, "replace": 1, "same": 1, "update": 1}
    assert {c.name: c.op for c in t.planned()} == {"default-mysql": "replace", "app-server": "update", "old-secrets-encryption-key": "delete"}
    [mysql] = [c for c in t.planned() if c.name == "default-mysql"]
    assert mysql.replace_keys == ["name"]
    assert not any(c.type.startswith("pulumi:providers:") for c in t.changes.values())  # default provider left out


@pytest.mark.parametrize("kind", ["preview", "up", "drift", "destroy"])
def test_no_view_prints_the_secret(kind):
    t = fold(kind)
    stream = io.StringIO()
    with Progress(Tracker(kind), live=False, stream=stream) as p:
        for e in parse(RECORDED[kind]):
            p(e)
    views = [render_markdown(t, "rec"), "\n".join(render_terminal(t, "rec")), json.dumps(t.as_dict()), stream.getvalue()]
    assert not any(SECRET in v for v in views)
    assert not t.errors  # debug diagnostics are not errors


def test_up_progress_and_counts():
    t = fold("up")
    # Counted from the steps: the engine's summary also counts the root stack (same: 1); ours lists resources.
    assert t.summary == {"delete": 1, "replace": 1, "same": 1, "update": 1}
    assert t.counts() == {"delete": 1, "replace": 1, "update": 1}
    assert not t.in_flight() and not t.failed
    stream = io.StringIO()
    with Progress(Tracker("up"), live=False, stream=stream) as p:
        for e in parse(RECORDED["up"]):
            p(e)
    out = stream.getvalue()
    assert "replaced pulumi-python:Resource default-mysql" in out and "deleted pulumi-python:Resource old-secrets-encryption-key" in out


def test_refresh_preview_without_drift():
    t = fold("drift")
    assert not t.has_changes()
    assert t.counts() == {"same": 2}  # the two resources; the engine's {"same": 3} counts the stack too


def test_destroy_counts():
    assert fold("destroy").counts() == {"delete": 2}
