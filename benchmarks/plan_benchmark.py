#!/usr/bin/env python3
"""Wall time and peak memory of `python cli.py plan` (imports included), for the `local` stack and for
generated stacks of 1, 10 and 100 workspaces. Prints figures; targets are checked by a reader, not a test.

Targets on a 2-core machine: local < 2 s; 100 workspaces < 10 s and < 600 MB; cost per workspace linear.
Usage: python benchmarks/plan_benchmark.py [--repeat N] [--sizes 1,10,100]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def generated_stack(n: int) -> dict:
    return {
        "config": {
            "zenml-platform:scenario": "airgapped",
            "zenml-platform:profile": "small",
            "zenml-platform:domain": "zenml.bench.internal",
            "zenml-platform:registryMirror": {"registry": "registry.bench.internal:5000"},
            "zenml-platform:workspaces": [{"name": f"ws{i:03d}"} for i in range(n)],
        }
    }


def measure(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one child process."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: exec the command with stdout silenced
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.execv(sys.executable, [sys.executable, *args])
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(args)}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def run(label: str, args: list[str], repeat: int) -> tuple[float, float]:
    times, peaks = [], []
    for _ in range(repeat):
        t, m = measure(args)
        times.append(t)
        peaks.append(m)
    t, m = statistics.median(times), max(peaks)
    print(f"{label:<22} {t:>8.2f} s {m:>9.0f} MB   (median of {repeat}, min {min(times):.2f} s)")
    return t, m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,100")
    opts = parser.parse_args()
    os.chdir(ROOT)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; `cli.py plan` per run, imports included")
    print(f"{'stack':<22} {'wall':>10} {'peak RSS':>12}")
    run("local", ["cli.py", "plan", "--stack", "local"], opts.repeat)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in opts.sizes.split(",")]:
            path = Path(tmp) / f"Pulumi.bench{n}.yaml"
            path.write_text(yaml.safe_dump(generated_stack(n)))
            figures[n] = run(f"generated, {n} ws", ["cli.py", "plan", "--config-file", str(path)], opts.repeat)
    sizes = sorted(figures)
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        per_ws = (figures[hi][0] - figures[lo][0]) / (hi - lo)
        mem_ws = (figures[hi][1] - figures[lo][1]) / (hi - lo)
        print(f"marginal cost per workspace: {per_ws * 1000:.0f} ms, {mem_ws:.1f} MB ({lo} -> {hi} workspaces)")
        if len(sizes) >= 3:
            mid = sizes[1]
            slope_lo = (figures[mid][0] - figures[lo][0]) / (mid - lo)
            slope_hi = (figures[hi][0] - figures[mid][0]) / (hi - mid)
            print(f"linearity: {slope_lo * 1000:.0f} ms/ws ({lo}-{mid}) vs {slope_hi * 1000:.0f} ms/ws ({mid}-{hi})")


if __name__ == "__main__":
    main()
