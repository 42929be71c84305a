"""Live progress for engine operations: a rich panel on a terminal, one line per finished resource in CI logs.

Everything goes to stderr so stdout stays clean for `--json`.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Optional

from cli_app.events import Tracker, short_type

PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "read": "read",
        "import": "imported", "discard": "forgot", "refresh": "refreshed", "same": "unchanged"}


def fmt_elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def status_text(tracker: Tracker, limit: int = 8) -> str:
    """The live panel as plain text (also what tests check): elapsed, counts by operation, in-flight resources."""
    done = tracker.done_counts()
    planning = tracker.operation in ("preview", "drift")
    counts = ", ".join(f"{op if planning else PAST.get(op, op)} {n}" for op, n in sorted(done.items()) if op != "same")
    counts = counts or ("planning" if planning else "nothing finished yet")
    same = done.get("same", 0)
    lines = [f"{tracker.operation}  {fmt_elapsed(tracker.elapsed())}  {counts}" + (f"  ({same} unchanged)" if same else "")]
    running = sorted(tracker.in_flight(), key=lambda c: c.started or 0)
    for c in running[:limit]:
        since = tracker.clock() - (c.started or tracker.clock())
        lines.append(f"  {c.op:<8} {short_type(c.type)} {c.name}  {fmt_elapsed(since)}")
    if len(running) > limit:
        lines.append(f"  ... {len(running) - limit} more in flight")
    if tracker.failed:
        lines.append(f"  {len(tracker.failed)} failed")
    return "\n".join(lines)


class Progress:
    """`on_event` callback for the Automation API; thread-safe (events arrive on the API's reader thread)."""

    def __init__(self, tracker: Tracker, live: Optional[bool] = None, quiet: bool = False, stream: Any = None):
        self.tracker = tracker
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = (self.stream.isatty() if live is None else live) and not quiet
        self._lock = threading.Lock()
        self._live: Any = None  # rich.live.Live, imported only when the live display is used
        self._ticker: Optional[threading.Thread] = None
        self._stop = threading.Event()

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            self._text = Text
            self._live = Live(Text(status_text(self.tracker)), console=Console(file=self.stream), refresh_per_second=4, transient=True)
            self._live.__enter__()
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        elif not self.quiet:
            print(f"{self.tracker.operation}: started", file=self.stream, flush=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.__exit__(*exc)

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._refresh()

    def _refresh(self) -> None:
        if self._live is not None:
            with self._lock:
                self._live.update(self._text(status_text(self.tracker)))

    def __call__(self, event: Any) -> None:
        with self._lock:
            before = {u: c.status for u, c in self.tracker.changes.items()}
            self.tracker.handle(event)
            finished = [c for u, c in self.tracker.changes.items() if c.status in ("done", "failed") and before.get(u) not in ("done", "failed")]
        if self._live is not None:
            self._refresh()
            return
        if self.quiet or self.tracker.operation in ("preview", "drift"):
            return
        for c in finished:
            if c.op == "same" and c.status == "done":
                continue
            word = "FAILED " + c.op if c.status == "failed" else PAST.get(c.op, c.op)
            print(f"[{fmt_elapsed(self.tracker.elapsed())}] {word} {short_type(c.type)} {c.name}", file=self.stream, flush=True)
