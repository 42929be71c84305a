#!/usr/bin/env python3
"""No-op `pulumi preview` and `pulumi up` with the real engine on the local cluster, against a floor program.

    python benchmarks/engine_benchmark.py [--repeat 3] [--workspaces 10] [--stacks local,bench]

Needs the toolchain (`toolchain/build.sh` done; this script never builds it) and starts its own throw-away local
cluster (toolchain/localcluster.py) on loopback, a file state backend and a copy of the project in a temporary
directory; everything is stopped and removed at the end. For each stack (`local`, and `bench`: the local stack
with `--workspaces` workspaces) it deploys once (not timed), then times no-op previews and ups, interleaved
with a floor program of the same resource count under the same engine and provider: plain ConfigMaps, default
provider, no options. It prints ours / floor (goal for the no-op preview: <= 1.2).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PREVIEW_GOAL = 1.2

FLOOR_MAIN = '''"""Floor: COUNT plain ConfigMaps in one namespace, default provider, no resource options."""
import pulumi
import pulumi_kubernetes as k8s

count = int(pulumi.Config().require("count"))
ns = k8s.core.v1.Namespace("floor", metadata={"name": "floor"})
for i in range(count - 1):
    k8s.core.v1.ConfigMap(f"cm-{i}", metadata={"name": f"cm-{i}", "namespace": "floor"},
                          data={f"key-{j:02d}": "x" * 32 for j in range(12)})
'''


def toolchain_env(checkout: Path, home: Optional[Path]) -> dict[str, str]:
    """The toolchain's environment (env.sh of CHECKOUT, or the cache directory HOME), or SystemExit if not built."""
    if home is not None:  # a build of other toolchain/ files than this checkout's (its cache key differs)
        if not (home / "bin" / "pulumi").exists():
            raise SystemExit(f"toolchain not ready: no {home / 'bin' / 'pulumi'}; nothing measured")
        return {**os.environ, "PATH": f"{home / 'bin'}:{os.environ['PATH']}", "PULUMI_HOME": str(home / "pulumi-home"),
                "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "TOOLCHAIN_HOME": str(home), "TOOLCHAIN_BIN": str(home / "bin")}
    proc = subprocess.run([str(checkout / "toolchain" / "env.sh")], capture_output=True, text=True)
    if proc.returncode != 0 or "export PATH=" not in proc.stdout:
        raise SystemExit(f"toolchain not ready (toolchain/env.sh: {proc.stderr.strip() or 'no PATH'}); nothing measured")
    env = dict(os.environ)
    for line in proc.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = subprocess.run(["bash", "-c", f"printf %s {value}"], capture_output=True, text=True).stdout
    if not shutil.which("pulumi", path=env["PATH"]):
        raise SystemExit("toolchain not ready: no pulumi on its PATH; nothing measured")
    return env


def pulumi(project: Path, env: dict[str, str], *args: str, timeout: float = 1800) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(["pulumi", *args, "--non-interactive"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=timeout)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"pulumi {' '.join(args)} in {project.name} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def resource_count(project: Path, env: dict[str, str], stack: str) -> int:
    _, out = pulumi(project, env, "stack", "export", "--stack", stack)
    resources = json.loads(out)["deployment"].get("resources", [])
    return sum(1 for r in resources if r["type"] != "pulumi:pulumi:Stack" and not r["type"].startswith("pulumi:providers:"))


def stack_files(project: Path, workspaces: int) -> list[str]:
    text = (ROOT / "stacks" / "Pulumi.local.yaml").read_text()
    doc = yaml.safe_load("\n".join(line for line in text.splitlines() if not line.startswith("encryptionsalt:")))
    (project / "stacks" / "Pulumi.local.yaml").write_text(yaml.safe_dump(doc))
    bench = copy.deepcopy(doc)
    [first] = bench["config"]["zenml-platform:workspaces"][:1]
    bench["config"]["zenml-platform:workspaces"] = [{**copy.deepcopy(first), "name": f"ws{i:02d}"} for i in range(workspaces)]
    (project / "stacks" / "Pulumi.bench.yaml").write_text(yaml.safe_dump(bench))
    return ["local", "bench"]


def floor_project(base: Path, name: str) -> Path:
    project = base / f"floor-{name}"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(yaml.safe_dump({
        "name": f"floor-{name}", "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}},
    }))
    (project / "__main__.py").write_text(FLOOR_MAIN)
    os.symlink(ROOT / ".venv", project / ".venv")
    return project


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--stacks", default="local,bench")
    parser.add_argument("--toolchain", type=Path, default=ROOT,
                        help="checkout whose toolchain/env.sh names the built toolchain (its cache key follows "
                             "that checkout's toolchain/ files)")
    parser.add_argument("--toolchain-home", type=Path, help="a toolchain cache directory (…/toolchain/KEY) instead")
    opts = parser.parse_args()
    env = toolchain_env(opts.toolchain, opts.toolchain_home)
    from tests.e2e.harness import copy_project
    from toolchain import localcluster

    wanted = opts.stacks.split(",")
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        base = Path(tmp)
        try:
            info = localcluster.up(base / "cluster", bin_dir=env["TOOLCHAIN_BIN"])
        except localcluster.ClusterError as exc:
            raise SystemExit(f"toolchain not ready or cluster failed: {exc}; nothing measured") from None
        try:
            (base / "state").mkdir()
            env = {**env, "KUBECONFIG": str(info.kubeconfig), "PULUMI_BACKEND_URL": f"file://{base / 'state'}",
                   "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24)}
            env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
            project = copy_project(base / "project")
            stacks = [s for s in stack_files(project, opts.workspaces) if s in wanted]
            print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; median of {opts.repeat}; "
                  f"`bench` = local with {opts.workspaces} workspaces")
            print(f"{'':<28} {'ours':>9} {'floor':>9}  ours/floor")
            ok = True
            for stack in stacks:
                pulumi(project, env, "stack", "init", stack)
                first_up, _ = pulumi(project, env, "up", "--stack", stack, "--yes", "--skip-preview", "--diff=false")
                count = resource_count(project, env, stack)
                floor = floor_project(base, stack)
                pulumi(floor, env, "stack", "init", "floor")
                pulumi(floor, env, "config", "set", "count", str(count), "--stack", "floor")
                floor_up, _ = pulumi(floor, env, "up", "--stack", "floor", "--yes", "--skip-preview", "--diff=false")
                print(f"{stack}: {count} resources; first up {first_up:.1f} s (floor {floor_up:.1f} s), not compared")
                times: dict[str, list[float]] = {"ours preview": [], "floor preview": [], "ours up": [], "floor up": []}
                for _ in range(opts.repeat):
                    for who, proj, name in (("ours", project, stack), ("floor", floor, "floor")):
                        times[f"{who} preview"].append(pulumi(proj, env, "preview", "--stack", name, "--expect-no-changes", "--diff=false")[0])
                    for who, proj, name in (("ours", project, stack), ("floor", floor, "floor")):
                        times[f"{who} up"].append(pulumi(proj, env, "up", "--stack", name, "--yes", "--skip-preview", "--expect-no-changes", "--diff=false")[0])
                for op in ("preview", "up"):
                    o, f = median(times[f"ours {op}"]), median(times[f"floor {op}"])
                    line = f"  no-op {op:<20} {o:>7.2f} s {f:>7.2f} s  x{o / f:.2f}"
                    if op == "preview":
                        ok &= o / f <= PREVIEW_GOAL
                        line += f"   goal <= {PREVIEW_GOAL}  {'ok' if o / f <= PREVIEW_GOAL else 'MISSED'}"
                    print(line)
        finally:
            localcluster.down(base / "cluster")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
