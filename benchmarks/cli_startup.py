#!/usr/bin/env python3
"""Start-up of the command line: `--help` and `validate` of every example stack against two floors, and imports.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--stacks local,saas-aws]

Budgets (absolute, for a quiet machine): `--help` under 0.15 s wall, `validate` of any example stack under 0.3 s.
A busy machine moves every figure, so the floors run in the same rounds and the ratios are printed beside them:
`python -c pass` (the interpreter alone) and `python -c "import pulumi"` (the SDK import the engine commands pay).
Runs are interleaved round-robin (each round runs every command once), so load that comes and goes hits all
commands alike; the minimum is the best estimate of a quiet run, the median what a user sees now. Also prints
the slowest imports of `--help` and `validate` (`python -X importtime`) and any module a command must not load.
Exit 1 when a minimum is over its budget or a forbidden module was imported; it is not a test (timings vary).

Bytecode: this environment may set PYTHONDONTWRITEBYTECODE; a user's first run writes `__pycache__` and later
runs read it, so the warm-up runs here write it (git ignores it) and the timed runs read it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELP_BUDGET_S = 0.15
VALIDATE_BUDGET_S = 0.3

# (argv, module prefixes that must not be imported)
IMPORT_CHECKS: list[tuple[list[str], tuple[str, ...]]] = [
    (["--help"], ("pulumi", "pydantic")),
    (["--version"], ("pulumi",)),
    (["preview", "--help"], ("pulumi",)),
    (["validate", "-s", "local"], ("pulumi", "pulumi_aws", "pulumi_gcp")),
    (["residency", "-s", "local"], ("pulumi", "pulumi_aws", "pulumi_gcp")),
    (["workspace", "list", "-s", "local"], ("pulumi", "pulumi_aws", "pulumi_gcp")),
    (["images", "-s", "local"], ("pulumi_aws", "pulumi_gcp")),
    (["plan", "-s", "local"], ("pulumi_aws", "pulumi_gcp")),
]


def env_writing_bytecode() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    wall = time.perf_counter() - start
    if proc.returncode != 0:  # a failing command is fast and would pass any budget
        raise SystemExit(f"{' '.join(argv[1:])}: exit {proc.returncode}, nothing measured\n"
                         f"{proc.stderr.decode(errors='replace')[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def imports(argv: list[str]) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module with its nesting indent) for every import, from `python -X importtime`."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "cli.py", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
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
    parser.add_argument("--runs", type=int, default=15, help="rounds; each round runs every command once")
    parser.add_argument("--stacks", help="comma-separated example stacks to validate (default: every stacks/Pulumi.*.yaml)")
    args = parser.parse_args()
    stacks = args.stacks.split(",") if args.stacks else sorted(p.name[len("Pulumi."):-len(".yaml")]
                                                                for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    py = sys.executable
    items: list[tuple[str, list[str]]] = [
        ("python -c pass", [py, "-c", "pass"]),
        ('python -c "import pulumi"', [py, "-c", "import pulumi"]),
        ("--help", [py, "cli.py", "--help"]),
        ("--version", [py, "cli.py", "--version"]),
    ] + [(f"validate -s {s}", [py, "cli.py", "validate", "-s", s]) for s in stacks]
    env = env_writing_bytecode()
    for _, argv in items:  # warm-up: bytecode written, files in the page cache
        run_once(argv, env)
    walls: dict[str, list[float]] = {label: [] for label, _ in items}
    cpus: dict[str, list[float]] = {label: [] for label, _ in items}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        for label, argv in items:
            w, c = run_once(argv, env)
            walls[label].append(w)
            cpus[label].append(c)
    load_after = os.getloadavg()[0]

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}"
          f"{'' if max(load_before, load_after) < 1 else ' (NOT quiet: absolute figures are upper bounds)'}; "
          f"{args.runs} interleaved rounds")
    def floor(label: str, series: dict[str, list[float]], how) -> float:
        return how(series[label])

    mn, md = min, statistics.median
    p_wall, q_wall = floor("python -c pass", walls, mn), floor('python -c "import pulumi"', walls, mn)
    p_wall_md, q_wall_md = floor("python -c pass", walls, md), floor('python -c "import pulumi"', walls, md)
    q_cpu = floor('python -c "import pulumi"', cpus, mn)
    print(f"{'':<34} {'wall':>7} {'':>7}  {'wall / pass':>11}  {'wall / import pulumi':>20}  {'cpu':>6}  {'cpu/pulumi':>10}")
    print(f"{'command':<34} {'min':>7} {'median':>7}  {'min':>5} {'med':>5}  {'min':>9} {'med':>10}  {'min':>6}  {'min':>10}")
    for label, _ in items:
        w, c = walls[label], cpus[label]
        print(f"{label:<34} {mn(w):>6.3f}s {md(w):>6.3f}s  {mn(w) / p_wall:>4.1f}x {md(w) / p_wall_md:>4.1f}x"
              f"  {mn(w) / q_wall:>8.2f}x {md(w) / q_wall_md:>9.2f}x  {mn(c):>5.3f}s  {mn(c) / q_cpu:>9.2f}x")

    ok = True
    help_min = min(walls["--help"])
    validate_label = max((label for label, _ in items if label.startswith("validate")), key=lambda k: min(walls[k]))
    validate_min = min(walls[validate_label])
    for what, value, budget in (("--help", help_min, HELP_BUDGET_S), (f"slowest {validate_label}", validate_min, VALIDATE_BUDGET_S)):
        verdict = "ok" if value < budget else "OVER BUDGET"
        ok &= value < budget
        print(f"{what}: {value:.3f} s wall (minimum; budget {budget} s) {verdict}")

    print("\nimports (python -X importtime): cumulative time of the top-level imports, forbidden modules")
    for argv, banned in IMPORT_CHECKS:
        rows = imports(argv)
        top_level = sum(cum for _, cum, name in rows if not name.startswith(" "))
        bad = forbidden(rows, banned)
        ok &= not bad
        shown = (", ".join(bad[:4]) + (" ..." if len(bad) > 4 else "")) if bad else "-"
        print(f"  {' '.join(argv):<30} {top_level / 1e6:>6.3f} s  {shown}")
        if argv in (["--help"], ["validate", "-s", "local"]):
            slow = sorted(rows, key=lambda r: -r[1])[:6]
            print("      slowest: " + ", ".join(f"{name.strip()} {cum / 1000:.0f} ms" for _, cum, name in slow))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
