"""Day-two database commands for a workspace's in-cluster database: `backup` runs the backup CronJob now and waits
for its dump; `restore` loads a dump from the backup volume into the database (server scaled to 0 meanwhile).

Both talk to the cluster with kubectl (the toolchain's, else the one on PATH) and the stack's kubeconfig/context,
and derive every object name from the config the same way components/in_cluster_database.py names them. The
restore Job is the backup CronJob's own pod template (image, credentials Secret, network-policy client labels,
security context, backup volume) with the engine's client in place of its dump command, over TLS verified
against the database's CA when the database serves TLS. No password is ever on a command line or in the output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from cli_app.common import EXIT_FAILED, JsonOpt, StackOpt, die, emit_json, err, is_interactive, stack_name_only

WorkspaceOpt = typer.Option(..., "--workspace", "-w", help="Workspace name (workspaces[].name).")
TimeoutOpt = typer.Option(900, "--timeout", min=10, help="Seconds to wait for each step (Job, scale-down, rollout).")
DUMP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.sql\.gz$")
CA_DIR = "/etc/zenml-db-ca"

# The engine's client for a restore: drop the database, then load the dump (its CREATE DATABASE/USE recreate it).
# The dump is checked whole (gunzip -t) before anything is dropped. The password comes from MYSQL_PWD.
CLIENTS = {
    "mysql": ("mysql", f"--ssl-mode=VERIFY_IDENTITY --ssl-ca={CA_DIR}/ca.crt"),
    "mariadb": ("mariadb", f"--ssl --ssl-ca={CA_DIR}/ca.crt --ssl-verify-server-cert"),
}


@dataclass
class Target:
    """One workspace's in-cluster database, named as the components name it."""

    stack: str
    workspace: str
    index: int
    namespace: str
    engine: str  # mysql | mariadb
    tls: bool

    @property
    def base(self) -> str:
        return f"{self.workspace}-{self.engine}"

    @property
    def cronjob(self) -> str:
        return f"{self.base}-backup"

    @property
    def ca_secret(self) -> str:
        return f"{self.base}-ca"

    server_deployment = "zenml-server"


def resolve_target(stack: Optional[str], workspace: str) -> tuple[Target, Any]:
    """Validate the stack and the workspace's database before anything touches the cluster (exit 2 otherwise)."""
    from cli_app.stack_files import load
    from stack_config.model import DatabaseMode

    name, _, cfg = load(stack_name_only(stack), None)
    names = [w.name for w in cfg.workspaces]
    if workspace not in names:
        die(f"--workspace: {name} has no workspace {workspace!r} (workspaces: {', '.join(names) or 'none'})")
    i = names.index(workspace)
    ws = cfg.workspaces[i]
    if ws.database.mode is not DatabaseMode.in_cluster:
        die(f"workspaces[{i}].database: workspace {workspace} uses a {ws.database.mode.value} database; back it up and "
            "restore it with its provider's tools (these commands cover in-cluster databases)")
    settings = ws.database.in_cluster
    enabled = settings.backup.enabled if settings.backup.enabled is not None else cfg.defaults.backup_enabled
    if not enabled:
        die(f"workspaces[{i}].database.inCluster.backup.enabled: backups are off for workspace {workspace} (profile "
            f"{cfg.profile.value}); set it to true and run `up` to create the backup CronJob and volume")
    return Target(name, workspace, i, cfg.namespace_of(ws), settings.engine or "mysql", bool(settings.tls)), cfg


class Kubectl:
    def __init__(self, cfg: Any, namespace: str):
        from cli_app.doctor import kubeconfig_path

        self.exe = find_kubectl()
        path, source = kubeconfig_path(cfg, os.environ)
        if not path.is_file():
            die(f"no kubeconfig at {path} (from {source}): export KUBECONFIG or set zenml-platform:kubernetes.kubeconfig")
        self.namespace = namespace
        self.base = [self.exe, f"--kubeconfig={path}", f"--namespace={namespace}"]
        if cfg.kubernetes.context:
            self.base.append(f"--context={cfg.kubernetes.context}")

    def run(self, *args: str, stdin: Optional[str] = None, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run([*self.base, *args], capture_output=True, text=True, input=stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            die(f"kubectl {args[0]} did not answer within {timeout:.0f}s", EXIT_FAILED)
        if check and proc.returncode != 0:
            die(f"kubectl {' '.join(args[:3])} failed: {proc.stderr.strip()[-2000:]}", EXIT_FAILED)
        return proc

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return json.loads(self.run("get", kind, name, "-o", "json").stdout)


def find_kubectl() -> str:
    cands = []
    if os.environ.get("TOOLCHAIN_BIN"):
        cands.append(Path(os.environ["TOOLCHAIN_BIN"]) / "kubectl")
    try:
        from toolchain.localcluster import default_bin_dir

        if (d := default_bin_dir()) is not None:
            cands.append(d / "kubectl")
    except Exception:  # noqa: BLE001 - the toolchain package is optional here
        pass
    for c in cands:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which("kubectl")
    if not found:
        die("kubectl not found: build the toolchain (`toolchain/build.sh`) or put kubectl on PATH")
    return str(found)


def _stamp() -> str:
    # Unix seconds: with the longest base (30-character workspace + -mariadb) every Job name stays within 63.
    return str(int(time.time()))


def wait_job(kube: Kubectl, name: str, timeout: float) -> tuple[bool, str]:
    """Poll the Job until it completes or fails (bounded by timeout); return (succeeded, its logs)."""
    deadline = time.monotonic() + timeout
    ok: Optional[bool] = None
    while time.monotonic() < deadline:
        job = kube.get("job", name)
        conds = {c["type"]: c["status"] for c in job.get("status", {}).get("conditions") or []}
        if conds.get("Complete") == "True":
            ok = True
            break
        if conds.get("Failed") == "True":
            ok = False
            break
        time.sleep(2)
    logs = kube.run("logs", f"job/{name}", "--all-containers", "--tail=200", check=False).stdout
    if ok is None:
        die(f"job {name} did not finish within {timeout:.0f}s (`kubectl -n {kube.namespace} describe job {name}`)",
            EXIT_FAILED)
    return bool(ok), logs


def newest_dump(logs: str) -> Optional[str]:
    names = re.findall(r"(\S+\.sql\.gz)\s*$", logs, flags=re.MULTILINE)
    return max(names) if names else None  # names carry a sortable UTC timestamp


def backup(
    stack: Optional[str] = StackOpt,
    workspace: str = WorkspaceOpt,
    timeout: int = TimeoutOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run the workspace's database backup CronJob now (like `kubectl create job --from=cronjob/...`) and wait."""
    t, cfg = resolve_target(stack, workspace)
    kube = Kubectl(cfg, t.namespace)
    kube.run("get", "cronjob", t.cronjob, "-o", "name")
    job = f"{t.cronjob}-now-{_stamp()}"
    start = time.monotonic()
    kube.run("create", "job", f"--from=cronjob/{t.cronjob}", job)
    err(f"backup: job {job} started in {t.namespace}")
    ok, logs = wait_job(kube, job, timeout)
    seconds = round(time.monotonic() - start, 1)
    if not ok:
        die(f"backup job {job} failed after {seconds}s:\n{logs.strip()[-2000:]}", EXIT_FAILED)
    dump = newest_dump(logs)
    if as_json:
        emit_json({"stack": t.stack, "workspace": t.workspace, "namespace": t.namespace, "job": job, "dump": dump,
                   "seconds": seconds})
    else:
        err(f"backup: done in {seconds}s: {dump} in volume {t.base}-backups")
        typer.echo(dump or "")


def restore_job(cron: dict[str, Any], t: Target, name: str, dump: str, check_only: bool) -> dict[str, Any]:
    """The restore (or dump-check) Job: the backup CronJob's pod template with the client's script."""
    spec = json.loads(json.dumps(cron["spec"]["jobTemplate"]["spec"]))
    spec["backoffLimit"] = 0
    pod = spec["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == "backup"]
    container["name"] = "check" if check_only else "restore"
    env = [e for e in container.get("env", []) if e["name"] != "RETENTION_DAYS"]
    container["env"] = [*env, {"name": "DUMP", "value": dump}]
    client, tls_flags = CLIENTS[t.engine]
    check = (
        'set -eu; cd /backups; f="$DUMP"; '
        'if [ "$f" = latest ]; then f=""; for d in *.sql.gz; do [ -f "$d" ] && f="$d"; done; fi; '
        'if [ -z "$f" ] || [ ! -f "$f" ]; then echo "no dump ${f:-(none)} in the backup volume; it holds:"; ls -l; exit 3; fi; '
        'gunzip -t "$f"; '
        # An empty dump would drop the database and load nothing: refuse it before anything changes.
        'if ! gunzip -c "$f" | grep -q "^CREATE TABLE"; then echo "dump $f holds no table; not restoring it"; exit 3; fi; '
        'echo "DUMP $f"'
    )
    if check_only:
        script = check
    else:
        flags = tls_flags if t.tls else ""
        run = f'{client} --host="$DB_HOST" --user=root {flags}'.rstrip()
        # A new pod's egress may be admitted by the NetworkPolicy a moment after it starts: bounded retries.
        reach = (f'i=0; until {run} -e "SELECT 1" >/dev/null 2>&1; do i=$((i+1)); '
                 f'if [ "$i" -ge 30 ]; then echo "cannot reach the database at $DB_HOST:"; {run} -e "SELECT 1"; exit 4; fi; '
                 'sleep 2; done')
        script = (
            f'{check}; {reach}; {run} -e "DROP DATABASE IF EXISTS \\`$DB_NAME\\`"; '
            f'gunzip -c "$f" | {run}; '
            f'{run} -N -B -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema=\'$DB_NAME\'" | '
            'sed "s/^/TABLES /"'
        )
    container["command"] = ["sh", "-c", script]
    if t.tls and not check_only:
        container.setdefault("volumeMounts", []).append({"name": "db-ca", "mountPath": CA_DIR, "readOnly": True})
        pod.setdefault("volumes", []).append({"name": "db-ca", "secret": {"secretName": t.ca_secret, "defaultMode": 0o444}})
    meta_labels = dict(cron["metadata"].get("labels") or {})
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": t.namespace, "labels": meta_labels}, "spec": spec}


def _run_job(kube: Kubectl, manifest: dict[str, Any], timeout: float) -> tuple[bool, str]:
    kube.run("create", "-f", "-", stdin=json.dumps(manifest))
    return wait_job(kube, manifest["metadata"]["name"], timeout)


def _server_pods(kube: Kubectl, selector: dict[str, str]) -> list[str]:
    """Pods of the server's selector that still run. The finished migration Job's pod carries the same labels."""
    sel = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    out = kube.run("get", "pods", "-l", sel, "--field-selector=status.phase!=Succeeded,status.phase!=Failed",
                   "-o", "name").stdout
    return [ln for ln in out.splitlines() if ln.strip()]


def restore(
    stack: Optional[str] = StackOpt,
    workspace: str = WorkspaceOpt,
    dump: str = typer.Option(..., "--dump", help="A dump file name in the backup volume (as `backup` prints it), or latest."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (required when stdin is not a terminal)."),
    timeout: int = TimeoutOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Replace the workspace's database with a dump: server to 0 replicas, restore Job, server back, wait Ready."""
    if dump != "latest" and not DUMP_NAME.match(dump):
        die(f"--dump: {dump!r} is not a dump file name such as default-20261201T080000.sql.gz (or latest)")
    t, cfg = resolve_target(stack, workspace)
    if not yes:
        if not is_interactive():
            die(f"restore {dump} into workspace {workspace}: not confirmed; pass --yes to run without a terminal")
        if not typer.confirm(f"replace the database of workspace {workspace} with {dump}? The server is down meanwhile",
                             default=False, err=True):
            err("cancelled; nothing changed")
            raise typer.Exit(EXIT_FAILED)
    kube = Kubectl(cfg, t.namespace)
    cron = kube.get("cronjob", t.cronjob)
    deploy = kube.get("deployment", t.server_deployment)
    replicas = int(deploy["spec"].get("replicas") or 1)
    selector = deploy["spec"]["selector"]["matchLabels"]
    timings: dict[str, float] = {}
    start = time.monotonic()

    # 1. The dump exists and is whole: checked before anything changes.
    stamp = _stamp()
    ok, logs = _run_job(kube, restore_job(cron, t, f"{t.base}-rcheck-{stamp}", dump, True), timeout)
    found = re.findall(r"^DUMP (\S+)$", logs, flags=re.MULTILINE)
    if not ok or not found:
        die(f"--dump: cannot restore {dump} into workspace {workspace}; nothing changed:\n{logs.strip()[-2000:]}")
    chosen = found[-1]
    timings["check"] = round(time.monotonic() - start, 1)
    err(f"restore: {chosen} checked in {timings['check']}s")

    # 2. No server writes meanwhile.
    mark = time.monotonic()
    kube.run("scale", f"deployment/{t.server_deployment}", "--replicas=0")
    deadline = time.monotonic() + timeout
    while _server_pods(kube, selector):
        if time.monotonic() > deadline:
            die(f"server pods still running {timeout}s after scaling to 0; nothing restored. Scale back with "
                f"`kubectl -n {t.namespace} scale deployment/{t.server_deployment} --replicas={replicas}`", EXIT_FAILED)
        time.sleep(2)
    timings["scaleDown"] = round(time.monotonic() - mark, 1)
    err(f"restore: server scaled to 0 in {timings['scaleDown']}s")

    # 3. Restore.
    mark = time.monotonic()
    ok, logs = _run_job(kube, restore_job(cron, t, f"{t.base}-restore-{stamp}", chosen, False), timeout)
    timings["restore"] = round(time.monotonic() - mark, 1)
    if not ok:
        die(f"restore job failed after {timings['restore']}s; the server stays at 0 replicas so it cannot run on a "
            f"partial database. Fix the cause and run restore again, or scale back with `kubectl -n {t.namespace} "
            f"scale deployment/{t.server_deployment} --replicas={replicas}`:\n{logs.strip()[-2000:]}", EXIT_FAILED)
    tables = re.findall(r"^TABLES (\d+)$", logs, flags=re.MULTILINE)
    err(f"restore: {chosen} loaded in {timings['restore']}s ({tables[-1] if tables else '?'} tables)")

    # 4. Server back, Ready by its own probes.
    mark = time.monotonic()
    kube.run("scale", f"deployment/{t.server_deployment}", f"--replicas={replicas}")
    kube.run("rollout", "status", f"deployment/{t.server_deployment}", f"--timeout={timeout}s", timeout=timeout + 30)
    timings["scaleUp"] = round(time.monotonic() - mark, 1)
    timings["total"] = round(time.monotonic() - start, 1)
    err(f"restore: server Ready ({replicas} replicas) in {timings['scaleUp']}s; total {timings['total']}s")
    if as_json:
        emit_json({"stack": t.stack, "workspace": t.workspace, "namespace": t.namespace, "dump": chosen,
                   "tables": int(tables[-1]) if tables else None, "replicas": replicas, "seconds": timings})


__all__ = ["backup", "restore"]
