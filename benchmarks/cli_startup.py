#!/usr/bin/env python3
"""Start-up of the command line: wall time of `--help` and the offline commands, and what they import.

    .venv/bin/python benchmarks/cli_startup.py [--runs 7]

Prints the median wall time per command (budget: `--help` under 0.5 s), the slowest imports of `--help` from
`python -X importtime`, and whether any command loaded pulumi or a cloud SDK it does not use. Exit 1 when the
`--help` budget is exceeded or a forbidden module was imported, so CI can run it; it is not a test (timings vary).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELP_BUDGET_S = 0.5

COMMANDS: list[tuple[list[str], tuple[str, ...]]] = [
    # (argv, module prefixes that must not be imported)
    (["--help"], ("pulumi", "pydantic")),
    (["preview", "--help"], ("pulumi",)),
    (["validate", "-s", "local"], ("pulumi", "pulumi_aws", "pulumi_gcp")),
    (["residency", "-s", "local"], ("pulumi", "pulumi_aws", "pulumi_gcp")),
    (["workspace", "list", "-s", "local"], ("pulumi", "pulumi_aws", "pulumi_gcp")),
    (["images", "-s", "local"], ("pulumi_aws", "pulumi_gcp")),
    (["plan", "-s", "local"], ("pulumi_aws", "pulumi_gcp")),
]


def wall(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of `python cli.py ARGV`."""
    import resource

    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "cli.py", *argv], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def imports(argv: list[str]) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module with its nesting indent) for every import, from `python -X importtime`."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "cli.py", *argv], cwd=ROOT, capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|")
        rows.append((int(self_us), int(cum_us), name.rstrip()[1:]))
    return rows


def forbidden(rows: list[tuple[int, int, str]], prefixes: tuple[str, ...]) -> list[str]:
    """Imported modules equal to, or inside, one of `prefixes` (`pulumi` also covers `pulumi_*` packages)."""
    hits = set()
    for _, _, raw in rows:
        name = raw.strip()
        for p in prefixes:
            if name == p or name.startswith(p + ".") or (p == "pulumi" and name.startswith("pulumi_")):
                hits.add(name)
    return sorted(hits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    wall(["--help"], 2)  # warm the bytecode cache
    ok = True
    print(f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"median of {args.runs} runs")
    print(f"{'command':<32} {'wall':>8} {'cpu':>8} {'imports':>8}  forbidden modules")
    for argv, banned in COMMANDS:
        t, cpu = wall(argv, args.runs)
        rows = imports(argv)
        top_level = sum(cum for _, cum, name in rows if not name.startswith(" "))
        bad = forbidden(rows, banned)
        label = " ".join(argv)
        print(f"{label:<32} {t:>7.3f}s {cpu:>7.3f}s {top_level / 1e6:>7.3f}s  {', '.join(bad[:4]) + (' ...' if len(bad) > 4 else '') if bad else '-'}")
        if bad:
            ok = False
        if argv == ["--help"]:
            help_time, help_cpu, help_rows = t, cpu, rows
    print()
    print(f"--help: {help_time:.3f} s wall, {help_cpu:.3f} s CPU (budget {HELP_BUDGET_S} s wall) "
          f"{'OK' if help_time < HELP_BUDGET_S else 'OVER BUDGET'}")
    print("slowest imports of --help (cumulative):")
    for _, cum, name in sorted(help_rows, key=lambda r: -r[1])[:8]:
        print(f"  {cum / 1000:>7.1f} ms  {name.strip()}")
    if help_time >= HELP_BUDGET_S:
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
