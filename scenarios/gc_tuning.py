"""Cyclic garbage collector settings for one run of the Pulumi program.

The language host runs the program once and the process exits. Everything imported and the validated config
live until then, yet with default settings every full collection scans all of it again, and the SDK's
per-resource objects (Outputs, futures, their cycles) trigger a young collection every 700 allocations. Measured
with the real engine (benchmarks/engine_benchmark.py --profile): about a fifth of the program's CPU in a no-op
preview of 10 workspaces. The collector stays on, so memory stays bounded; it only stops rescanning what cannot
be garbage before the exit.
"""

from __future__ import annotations

import gc

# Young collections every 20,000 net allocations instead of 700 (the SDK allocates thousands per resource).
GEN0_THRESHOLD = 20_000


def tune_for_program_run() -> None:
    """Freeze every object alive now into the permanent generation (collections skip it from then on) and raise
    the young generation's threshold. Call once, after the imports and the config, before registering."""
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(GEN0_THRESHOLD, gc.get_threshold()[0]), gen1, gen2)
