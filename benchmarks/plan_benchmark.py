#!/usr/bin/env python3
"""Offline plans against the floor of the Pulumi SDK, measured in one run: ratios, not absolute targets.

    python benchmarks/plan_benchmark.py [--repeat 3] [--sizes 1,10,100,200] [--strict]

For each generated stack of N workspaces (self-hosted and air-gapped, small profile) it runs `python cli.py plan` as a child
process (imports included) and, interleaved with it, the floor program (benchmarks/floor_program.py): as many
trivial ConfigMaps as our plan registers, each the mean size of our resources' inputs, under the SDK's stock
mocks and default settings. Every figure is the median of `--repeat` runs: wall time, CPU time (user + system,
the steadier one on a shared machine) and peak RSS.

Goals (issue 14), printed with the measured figure and `ok` / `MISSED`:
  plan of 100 workspaces <= 0.6x the floor; time(200)/time(100) <= 2.05 and the same for peak memory;
  `validate` of every example stack < 0.3 s wall and `--help` < 0.15 s (absolute, machine quiet; the ratio to
  `python -c pass` is printed beside them). `--strict` exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
FLOOR_RATIO_GOAL = 0.6
LINEARITY_GOAL = 2.05
VALIDATE_GOAL_S = 0.3
HELP_GOAL_S = 0.15


def generated_stack(n: int) -> dict:
    return {
        "config": {
            "zenml-platform:scenario": "self-hosted",
            "zenml-platform:airGap": {"enabled": True},
            "zenml-platform:profile": "small",
            "zenml-platform:domain": "zenml.bench.internal",
            "zenml-platform:registryMirror": {"registry": "registry.bench.internal:5000"},
            "zenml-platform:workspaces": [{"name": f"ws{i:03d}"} for i in range(n)],
        }
    }


class Sample:
    def __init__(self, wall: float, cpu: float, rss_mb: float, stdout: str):
        self.wall, self.cpu, self.rss_mb, self.stdout = wall, cpu, rss_mb, stdout


def measure(args: list[str]) -> Sample:
    """One child process `python ARGS` in the repository: wall, CPU (user + sys), peak RSS, its stdout."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # child: stdout to the file, stderr silenced, then exec
            try:
                os.chdir(ROOT)
                os.dup2(out.fileno(), 1)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.execv(sys.executable, [sys.executable, *args])
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        stdout = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed ({os.waitstatus_to_exitcode(status)}): python {' '.join(args)}")
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout)  # ru_maxrss: KiB


class Figure:
    def __init__(self, samples: list[Sample]):
        self.wall = statistics.median(s.wall for s in samples)
        self.cpu = statistics.median(s.cpu for s in samples)
        self.rss = statistics.median(s.rss_mb for s in samples)
        self.stdout = samples[0].stdout


def interleaved(commands: dict[str, list[str]], repeat: int) -> dict[str, Figure]:
    """Run the commands round-robin `repeat` times, so a change in the machine's load hits all alike."""
    samples: dict[str, list[Sample]] = {k: [] for k in commands}
    for _ in range(repeat):
        for key, args in commands.items():
            samples[key].append(measure(args))
    return {k: Figure(v) for k, v in samples.items()}


def row(label: str, f: Figure, floor: Optional[Figure] = None) -> str:
    text = f"{label:<34} {f.wall:>7.2f} s {f.cpu:>7.2f} s {f.rss:>7.0f} MB"
    if floor is not None:
        text += f"   x{f.wall / floor.wall:.2f} wall  x{f.cpu / floor.cpu:.2f} cpu  x{f.rss / floor.rss:.2f} rss"
    return text


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def mean_input_bytes(plan_json: Path) -> int:
    plan = json.loads(plan_json.read_text())
    return int(sum(len(json.dumps(r["inputs"], sort_keys=True)) for r in plan) / len(plan))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,100,200", help="workspace counts; 100 and 200 carry the goals")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    opts = parser.parse_args()
    sizes = sorted({int(s) for s in opts.sizes.split(",")})
    goals: list[bool] = []
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load:.1f} at start"
          f"{' (NOT quiet: wall times are inflated, CPU times less so)' if load > (os.cpu_count() or 1) * 0.5 else ''}; "
          f"median of {opts.repeat}")
    print(f"{'':<34} {'wall':>9} {'cpu':>9} {'peak RSS':>10}   ours / floor")

    with tempfile.TemporaryDirectory() as tmp:
        figures: dict[int, tuple[Figure, Figure, int]] = {}
        for n in sizes:
            stack = Path(tmp) / f"Pulumi.bench{n}.yaml"
            stack.write_text(yaml.safe_dump(generated_stack(n)))
            # One plan with --out first: resource count and mean input size for the floor of this size.
            out = Path(tmp) / f"out{n}"
            probe = measure(["cli.py", "plan", "--config-file", str(stack), "--json", "--out", str(out)])
            count = json.loads(probe.stdout)["total"]
            size = mean_input_bytes(out / "plan.json")
            runs = interleaved({
                "ours": ["cli.py", "plan", "--config-file", str(stack)],
                "floor": ["benchmarks/floor_program.py", str(count), "--bytes", str(size)],
                **({"out": ["cli.py", "plan", "--config-file", str(stack), "--out", str(out)]} if n == 100 else {}),
            }, opts.repeat)
            figures[n] = (runs["ours"], runs["floor"], count)
            print(row(f"floor: {count} ConfigMaps of {size} B", runs["floor"]))
            print(row(f"plan, {n} ws ({count} resources)", runs["ours"], runs["floor"]))
            if "out" in runs:
                print(row(f"plan --out, {n} ws", runs["out"], runs["floor"]))
        print()
        if 100 in figures:
            ours, floor, _ = figures[100]
            ok = ours.wall <= FLOOR_RATIO_GOAL * floor.wall
            goals.append(ok)
            print(f"goal  plan(100 ws) / floor <= {FLOOR_RATIO_GOAL}: wall x{ours.wall / floor.wall:.2f}, "
                  f"cpu x{ours.cpu / floor.cpu:.2f}  {verdict(ok)}")
        if 100 in figures and 200 in figures:
            (o1, f1, _), (o2, f2, _) = figures[100], figures[200]
            t_ok, m_ok = o2.wall / o1.wall <= LINEARITY_GOAL, o2.rss / o1.rss <= LINEARITY_GOAL
            goals += [t_ok, m_ok]
            print(f"goal  time(200)/time(100) <= {LINEARITY_GOAL}: wall {o2.wall / o1.wall:.2f}, cpu {o2.cpu / o1.cpu:.2f} "
                  f"(floor: {f2.wall / f1.wall:.2f}, {f2.cpu / f1.cpu:.2f})  {verdict(t_ok)}")
            print(f"goal  rss(200)/rss(100) <= {LINEARITY_GOAL}: {o2.rss / o1.rss:.2f} "
                  f"(floor {f2.rss / f1.rss:.2f}; marginal {(o2.rss - o1.rss) / 100:.2f} MB/ws)  {verdict(m_ok)}")
        if len(sizes) >= 2:
            lo, hi = sizes[0], sizes[-1]
            print(f"marginal cost per workspace {lo} -> {hi}: {(figures[hi][0].wall - figures[lo][0].wall) / (hi - lo) * 1000:.0f} ms wall, "
                  f"{(figures[hi][0].cpu - figures[lo][0].cpu) / (hi - lo) * 1000:.0f} ms cpu")

    print()
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    measure(["cli.py", "--help"])  # warm the bytecode cache
    start = interleaved({"pass": ["-c", "pass"], "help": ["cli.py", "--help"],
                         **{s: ["cli.py", "validate", "-s", s] for s in stacks}}, max(opts.repeat, 5))
    base = start["pass"]
    print(row("python -c pass", base))
    help_ok = start["help"].wall < HELP_GOAL_S
    goals.append(help_ok)
    print(row("--help", start["help"], base) + f"   goal < {HELP_GOAL_S} s  {verdict(help_ok)}")
    for s in stacks:
        ok = start[s].wall < VALIDATE_GOAL_S
        goals.append(ok)
        print(row(f"validate -s {s}", start[s], base) + f"   goal < {VALIDATE_GOAL_S} s  {verdict(ok)}")
    print()
    print(f"{sum(goals)} of {len(goals)} goals met (load average now {os.getloadavg()[0]:.1f})")
    return 1 if opts.strict and not all(goals) else 0


if __name__ == "__main__":
    sys.exit(main())
