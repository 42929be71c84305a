"""Engine events -> progress, change counts, and the PR summary (recorded events, no engine)."""

from __future__ import annotations

import io

from cli_app.events import Tracker, is_stateful
from cli_app.progress import Progress, status_text
from cli_app.summary import MARKER, render_markdown, render_terminal
from tests.cli.events_recorded import (
    SECRET_VALUE,
    drift_events,
    no_change_events,
    parse,
    preview_events,
    up_events_with_failure,
)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def fold(events, operation="preview", clock=None) -> Tracker:
    t = Tracker(operation, clock=clock or Clock())
    for e in parse(events):
        t.handle(e)
    return t


def test_replacement_steps_count_once_and_stack_is_ignored():
    t = fold(preview_events())
    ops = {c.name: c.op for c in t.planned()}
    assert ops["default-mysql"] == "replace"
    assert ops["team-b-ns"] == "create"
    assert ops["default-server-netpol"] == "update"
    assert ops["old-secrets-encryption-key"] == "delete"
    assert not any(c.type == "pulumi:pulumi:Stack" for c in t.changes.values())
    assert t.counts() == {"create": 2, "update": 1, "replace": 1, "delete": 1, "same": 2}
    assert t.has_changes()


def test_stateful_losses_are_the_replaced_statefulset_and_deleted_key_secret():
    t = fold(preview_events())
    assert {c.name for c in t.stateful_losses()} == {"default-mysql", "old-secrets-encryption-key"}
    [sts] = [c for c in t.planned() if c.name == "default-mysql"]
    assert sts.replace_keys == ["spec.volumeClaimTemplates"]


def test_stateful_classification():
    assert is_stateful("kubernetes:core/v1:PersistentVolumeClaim", "x")
    assert is_stateful("kubernetes:core/v1:Secret", "default-mysql-credentials")
    assert is_stateful("aws:rds/instance:Instance", "db")
    assert is_stateful("gcp:storage/bucket:Bucket", "artifacts")
    assert not is_stateful("kubernetes:core/v1:Secret", "default-ingress-tls")
    assert not is_stateful("kubernetes:apps/v1:Deployment", "server")
    assert is_stateful("kubernetes:apps/v1:Deployment", "server", retain=True)


def test_summary_markdown_highlights_stateful_and_never_prints_values():
    md = render_markdown(fold(preview_events()), "local")
    assert md.startswith(MARKER)
    assert "+2 to create" in md and "~1 to update" in md and "+-1 to replace" in md and "-1 to delete" in md
    assert "[!CAUTION]" in md
    assert "**replace** `default-mysql` (StatefulSet): replaced because of `spec.volumeClaimTemplates`" in md
    assert "**delete** `old-secrets-encryption-key` (Secret)" in md
    assert "| + create | `team-b-ns` | `Namespace` |" in md
    assert "runner-egress" in md and "advisory" in md
    assert SECRET_VALUE not in md
    assert "10.0.0.0/8" not in md  # property values are not shown, only key names


def test_summary_without_changes():
    t = fold(no_change_events())
    assert not t.has_changes()
    md = render_markdown(t, "local")
    assert "**no changes (1 unchanged)**" in md
    assert "CAUTION" not in md


def test_failed_operation_summary_and_progress():
    clock = Clock()
    t = Tracker("up", clock=clock)
    events = parse(up_events_with_failure())
    for e in events[:3]:
        clock.t += 1
        t.handle(e)
    text = status_text(t)
    assert "up  00:03" in text
    assert "create   Namespace team-b-ns" in text and "Job team-b-server-migrate" in text
    for e in events[3:]:
        clock.t += 10
        t.handle(e)
    text = status_text(t)
    assert "created 1" in text and "1 failed" in text
    assert [c.name for c in t.in_flight()] == ["team-b-server-migrate"]
    assert t.failed and t.errors == ["error: 1 error occurred:\n\t* Deployment is not available"]
    md = render_markdown(t, "local", failed=True)
    assert "**The up failed** (1 error(s), 1 failed resource(s))" in md


def test_plain_progress_lines_for_ci_logs():
    stream = io.StringIO()
    clock = Clock()
    t = Tracker("up", clock=clock)
    with Progress(t, live=False, stream=stream) as p:
        for e in parse(up_events_with_failure()):
            clock.t += 2
            p(e)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "up: started"
    assert "[00:08] created Namespace team-b-ns" in lines
    assert "[00:12] FAILED create Deployment team-b-server-deployment" in lines


def test_live_progress_renders_without_error():
    stream = io.StringIO()
    t = Tracker("preview", clock=Clock())
    with Progress(t, live=True, stream=stream) as p:
        for e in parse(preview_events()):
            p(e)
    assert t.counts()["create"] == 2


def test_drift_detection_from_refresh_steps():
    assert fold(drift_events(changed=True), "drift").has_changes()
    assert not fold(drift_events(changed=False), "drift").has_changes()
    t = fold(drift_events(changed=True), "drift")
    assert [c.op for c in t.planned()] == ["update"]


def test_terminal_summary_lists_stateful_first():
    lines = render_terminal(fold(preview_events()), "local")
    assert lines[0].startswith("preview local: +-1 to replace, -1 to delete, +2 to create, ~1 to update")
    assert lines[1].startswith("  !! replace stateful StatefulSet default-mysql")
    assert all(SECRET_VALUE not in line for line in lines)


def test_json_view_has_no_values():
    import json

    data = fold(preview_events()).as_dict()
    text = json.dumps(data)
    assert SECRET_VALUE not in text
    assert data["statefulReplacedOrDeleted"] and data["changes"]["replace"] == 1


def test_terminal_summary_of_a_failed_up_says_what_was_done():
    t = fold(up_events_with_failure(), "up")
    lines = render_terminal(t, "local")
    assert lines[0] == "up local: created 1, 1 failed, 1 not finished"
    assert "   + Deployment team-b-server-deployment  [FAILED]" in lines
    assert "   + Job team-b-server-migrate  [not finished]" in lines
