#!/usr/bin/env python3
"""No-op `pulumi preview` and `pulumi up` with the real engine on the local cluster, against a floor program.

    python benchmarks/engine_benchmark.py [--repeat 3] [--workspaces 10] [--stacks local,bench] [--against main]
                                          [--profile]

Needs the toolchain (`toolchain/build.sh` done; this script never builds it) and starts its own throw-away local
cluster (toolchain/localcluster.py) on loopback, a file state backend and a copy of the project in a temporary
directory; everything is stopped and removed at the end. For each stack (`local`, and `bench`: the local stack
with `--workspaces` workspaces) it deploys once (not timed), then times no-op previews and ups, interleaved
with a floor program of the same resource count under the same engine and provider: plain ConfigMaps, default
provider, no options. It prints ours / floor in wall and CPU seconds (goal for the no-op preview: <= 1.2 wall).

CPU is the sum over the engine, the language host, our program and the providers (children of `pulumi`); on a
busy machine it moves much less than wall time. `--against REF` also times the program of git revision REF
(its Pulumi.yaml, __main__.py, stack_config/, components/, scenarios/) against the same stack state in the same
rounds, so a change is measured before and after in one run; REF must register the same resources (its no-op
preview is checked like ours). `--profile` prints where the CPU of the previews went, per process.

Bytecode: the copies are run without PYTHONDONTWRITEBYTECODE, so the first (untimed) `up` writes `__pycache__`
as a user's first run would, and the timed runs do not compile our modules again.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
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
    elapsed, _, out = timed(project, env, *args, timeout=timeout)
    return elapsed, out


CLK_TCK = os.sysconf("SC_CLK_TCK")
# What each process of a run is, by its command name (/proc/PID/comm, 15 characters at most).
ROLES = (("pulumi-language", "language host"), ("pulumi-resource", "providers"), ("pulumi", "engine"),
         ("python", "program (python)"))


def _children_cpu(root: int) -> dict[int, tuple[str, float]]:
    """{pid: (comm, CPU seconds so far)} of every descendant of `root` (from /proc; Linux only)."""
    parent_of, info = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        close = stat.rfind(")")
        fields = stat[close + 2:].split()
        pid = int(entry)
        parent_of[pid] = int(fields[1])
        info[pid] = (stat[stat.find("(") + 1:close], (int(fields[11]) + int(fields[12])) / CLK_TCK)
    found = {}
    for pid in info:
        p, hops = parent_of.get(pid), 0
        while p is not None and p > 1 and hops < 64:
            if p == root:
                found[pid] = info[pid]
                break
            p, hops = parent_of.get(p), hops + 1
    return found


def timed(project: Path, env: dict[str, str], *args: str, timeout: float = 1800,
          profile: Optional[dict[str, float]] = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (pulumi and every child it waited for) and stdout of one `pulumi ARGS` run.
    With `profile`, adds each process's CPU to its role (sampled from /proc every 20 ms while it runs)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(["pulumi", *args, "--non-interactive"], cwd=project, env=env, stdout=out, stderr=err)
        seen: dict[int, tuple[str, float]] = {}
        deadline = start + timeout
        while proc.poll() is None:
            if time.perf_counter() > deadline:
                proc.kill()
                proc.wait()
                raise SystemExit(f"pulumi {' '.join(args)} in {project.name}: no result in {timeout:.0f} s")
            if profile is not None:
                seen.update(_children_cpu(proc.pid))
            time.sleep(0.02 if profile is not None else 0.005)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"pulumi {' '.join(args)} in {project.name} failed ({proc.returncode}):\n{stdout[-3000:]}\n{stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if profile is not None:
        children = 0.0
        for comm, seconds in seen.values():
            role = next((r for prefix, r in ROLES if comm.startswith(prefix)), f"other ({comm})")
            profile[role] = profile.get(role, 0.0) + seconds
            children += seconds
        # The `pulumi` process itself is not its own child: what is left of its waited-for CPU is the engine.
        profile["engine"] = profile.get("engine", 0.0) + max(0.0, cpu - children)
    return elapsed, cpu, stdout


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


PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt", "stack_config", "components", "scenarios")


def program_at(ref: str, project: Path, dest: Path) -> Path:
    """A copy of `project` whose program files are those of git revision `ref` (same project name, same stacks)."""
    shutil.copytree(project, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", *PROGRAM_FILES))
    archive = subprocess.run(["git", "archive", "--format=tar", ref, *PROGRAM_FILES], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"--against {ref}: git archive failed: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--stacks", default="local,bench")
    parser.add_argument("--toolchain", type=Path, default=ROOT,
                        help="checkout whose toolchain/env.sh names the built toolchain (its cache key follows "
                             "that checkout's toolchain/ files)")
    parser.add_argument("--toolchain-home", type=Path, help="a toolchain cache directory (…/toolchain/KEY) instead")
    parser.add_argument("--against", metavar="REF", help="also time the program of this git revision (before/after)")
    parser.add_argument("--profile", action="store_true", help="print the previews' CPU per process role")
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
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            project = copy_project(base / "project")
            stacks = [s for s in stack_files(project, opts.workspaces) if s in wanted]
            ref_project = program_at(opts.against, project, base / "project-ref") if opts.against else None
            who_all = ["ours", *(["ref"] if ref_project else []), "floor"]
            print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; median of {opts.repeat}; "
                  f"`bench` = local with {opts.workspaces} workspaces"
                  + (f"; ref = the program at {opts.against}" if opts.against else ""))
            print(f"{'':<26} " + " ".join(f"{w:>15}" for w in who_all) + "  ours/floor (wall, cpu)"
                  + ("  ref/floor" if ref_project else ""))
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
                runs = [("ours", project, stack), *([("ref", ref_project, stack)] if ref_project else []), ("floor", floor, "floor")]
                if ref_project:  # untimed: writes the ref copy's bytecode, as the first up did for ours
                    pulumi(ref_project, env, "preview", "--stack", stack, "--expect-no-changes", "--diff=false")
                wall: dict[str, list[float]] = {f"{w} {op}": [] for w, _, _ in runs for op in ("preview", "up")}
                cpu: dict[str, list[float]] = {k: [] for k in wall}
                profiles: dict[str, dict[str, float]] = {w: {} for w, _, _ in runs}
                for _ in range(opts.repeat):
                    for who, proj, name in runs:
                        w, c, _ = timed(proj, env, "preview", "--stack", name, "--expect-no-changes", "--diff=false",
                                        profile=profiles[who] if opts.profile else None)
                        wall[f"{who} preview"].append(w)
                        cpu[f"{who} preview"].append(c)
                    for who, proj, name in runs:
                        w, c, _ = timed(proj, env, "up", "--stack", name, "--yes", "--skip-preview", "--expect-no-changes", "--diff=false")
                        wall[f"{who} up"].append(w)
                        cpu[f"{who} up"].append(c)
                for op in ("preview", "up"):
                    m = {w: (median(wall[f"{w} {op}"]), median(cpu[f"{w} {op}"])) for w, _, _ in runs}
                    ratio, ratio_cpu = m["ours"][0] / m["floor"][0], m["ours"][1] / m["floor"][1]
                    line = f"  no-op {op:<18} " + " ".join(f"{m[w][0]:>6.2f}s/{m[w][1]:>5.2f}c" for w, _, _ in runs)
                    line += f"  x{ratio:.2f}, x{ratio_cpu:.2f}"
                    if ref_project:
                        line += f"  x{m['ref'][0] / m['floor'][0]:.2f}, x{m['ref'][1] / m['floor'][1]:.2f}"
                    if op == "preview":
                        ok &= ratio <= PREVIEW_GOAL
                        line += f"   goal <= {PREVIEW_GOAL}  {'ok' if ratio <= PREVIEW_GOAL else 'MISSED'}"
                    print(line)
                if opts.profile:
                    print(f"  CPU of one no-op preview by process (mean of {opts.repeat}; s):")
                    roles = sorted({r for p in profiles.values() for r in p}, key=lambda r: -profiles["ours"].get(r, 0.0))
                    for role in roles:
                        print(f"    {role:<24} " + " ".join(f"{profiles[w].get(role, 0.0) / opts.repeat:>8.2f}" for w, _, _ in runs)
                              + "   (" + ", ".join(w for w, _, _ in runs) + ")")
        finally:
            localcluster.down(base / "cluster")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
