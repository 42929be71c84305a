"""Day-two database commands for an in-cluster database, a workspace's (`-w NAME`) or the control plane's
(`--control-plane`): `backup` runs the backup CronJob now and waits for its dump; `restore` loads a dump from the
backup volume into the database (its consumers scaled to 0 meanwhile: a workspace's server, the control plane's
Deployments).

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

from cli_app import options
from cli_app.common import EXIT_FAILED, die, emit_json, err, is_interactive, stack_name_only

DUMP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.(sql\.gz|dump)$")
# How each engine's backup names its dumps (components/database_engines.py): gzipped SQL, pg_dump's custom format.
SUFFIX = {"mysql": ".sql.gz", "mariadb": ".sql.gz", "postgres": ".dump"}
# The control plane's database as scenarios/kubernetes_platform.py names it (the CLI tests plan it and compare).
CONTROL_PLANE_DB = "control-plane-postgres"
# Where the database CA is mounted: components/database_engines.BACKUP_CA_DIR, as in the backup CronJob the
# restore Job is made from (a literal here: the CLI does not import Pulumi for `backup`; a test compares the two).
CA_DIR = "/etc/zenml-db-ca"

# The engine's client for a restore: drop the database, then load the dump (its CREATE DATABASE/USE recreate it).
# The dump is checked whole (gunzip -t) before anything is dropped. The password comes from MYSQL_PWD.
CLIENTS = {
    "mysql": ("mysql", f"--ssl-mode=VERIFY_IDENTITY --ssl-ca={CA_DIR}/ca.crt"),
    "mariadb": ("mariadb", f"--ssl --ssl-ca={CA_DIR}/ca.crt --ssl-verify-server-cert"),
}
# PostgreSQL's clients take TLS from libpq's environment: verify the server's name and certificate against the CA.
PG_TLS = f"PGSSLMODE=verify-full; PGSSLROOTCERT={CA_DIR}/ca.crt; export PGSSLMODE PGSSLROOTCERT"


@dataclass
class Target:
    """One in-cluster database, named as the components name it: a workspace's, or (workspace None) the control
    plane's."""

    stack: str
    workspace: Optional[str]
    index: int
    namespace: str
    engine: str  # mysql | mariadb | postgres
    tls: bool

    @property
    def control_plane(self) -> bool:
        return self.workspace is None

    @property
    def base(self) -> str:
        return CONTROL_PLANE_DB if self.control_plane else f"{self.workspace}-{self.engine}"

    @property
    def what(self) -> str:
        return "the control plane" if self.control_plane else f"workspace {self.workspace}"

    @property
    def cronjob(self) -> str:
        return f"{self.base}-backup"

    @property
    def ca_secret(self) -> str:
        return f"{self.base}-ca"

    server_deployment = "zenml-server"


def resolve_target(stack: Optional[str], workspace: Optional[str], control_plane: bool = False) -> tuple[Target, Any]:
    """Validate the stack and the database before anything touches the cluster (exit 2 otherwise)."""
    from cli_app.stack_files import load
    from stack_config.model import DatabaseMode

    if control_plane and workspace is not None:
        die("--workspace and --control-plane: give one of them (a workspace's database or the control plane's)")
    if not control_plane and workspace is None:
        die("--workspace: give a workspace name (workspaces[].name), or --control-plane for the control plane's database")
    name, _, cfg = load(stack_name_only(stack), None)
    if control_plane:
        return _control_plane_target(name, cfg), cfg
    names = [w.name for w in cfg.workspaces]
    if workspace not in names:
        die(f"--workspace: {name} has no workspace {workspace!r} (workspaces: {', '.join(names) or 'none'})")
    i = names.index(workspace)
    ws = cfg.workspaces[i]
    if ws.database.mode is not DatabaseMode.in_cluster:
        die(f"workspaces[{i}].database: workspace {workspace} uses a {ws.database.mode.value} database; back it up and "
            "restore it with its provider's tools (these commands cover in-cluster databases)")
    settings = ws.database.in_cluster
    enabled = settings.backup.enabled_under(cfg.defaults)
    if not enabled:
        die(f"workspaces[{i}].database.inCluster.backup.enabled: backups are off for workspace {workspace} (profile "
            f"{cfg.profile.value}); set it to true and run `up` to create the backup CronJob and volume")
    return Target(name, workspace, i, cfg.namespace_of(ws), settings.engine or "mysql", bool(settings.tls)), cfg


def _control_plane_target(name: str, cfg: Any) -> Target:
    from stack_config.model import DatabaseMode

    cp = cfg.control_plane
    if not cp.enabled:
        die(f"controlPlane.enabled: {name} deploys no control plane (scenario {cfg.scenario.value}); --control-plane "
            "covers a control plane this stack runs with its database in the cluster")
    if cp.database.mode is not DatabaseMode.in_cluster:
        die(f"controlPlane.database.mode: the control plane's database is {cp.database.mode.value}, not in the cluster; "
            "back it up and restore it with its provider's tools (these commands cover in-cluster databases)")
    settings = cp.database.in_cluster
    enabled = settings.backup.enabled_under(cfg.defaults)
    if not enabled:
        die(f"controlPlane.database.inCluster.backup.enabled: backups are off for the control plane (profile "
            f"{cfg.profile.value}); set it to true and run `up` to create the backup CronJob and volume")
    return Target(name, None, -1, cfg.control_plane_namespace, "postgres", bool(settings.tls))


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


def newest_dump(logs: str, suffix: str = ".sql.gz") -> Optional[str]:
    names = re.findall(rf"(\S+{re.escape(suffix)})\s*$", logs, flags=re.MULTILINE)
    return max(names) if names else None  # names carry a sortable UTC timestamp


def backup(
    stack: options.Stack = None,
    workspace: options.Workspace = None,
    control_plane: options.ControlPlane = False,
    timeout: options.Timeout = 900,
    as_json: options.Json = False,
) -> None:
    """Run the database's backup CronJob now (like `kubectl create job --from=cronjob/...`) and wait."""
    t, cfg = resolve_target(stack, workspace, control_plane)
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
    dump = newest_dump(logs, SUFFIX[t.engine])
    if as_json:
        emit_json({"stack": t.stack, "workspace": t.workspace, "controlPlane": t.control_plane, "namespace": t.namespace,
                   "job": job, "dump": dump, "seconds": seconds})
    else:
        err(f"backup: done in {seconds}s: {dump} in volume {t.base}-backups")
        typer.echo(dump or "")


def _mysql_script(t: Target, check_only: bool) -> str:
    """Drop the database, then load the dump (its CREATE DATABASE/USE recreate it); the dump is checked whole
    (gunzip -t) before anything is dropped. The password comes from MYSQL_PWD."""
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
        return check
    flags = tls_flags if t.tls else ""
    run = f'{client} --host="$DB_HOST" --user=root {flags}'.rstrip()
    # A new pod's egress may be admitted by the NetworkPolicy a moment after it starts: bounded retries.
    reach = (f'i=0; until {run} -e "SELECT 1" >/dev/null 2>&1; do i=$((i+1)); '
             f'if [ "$i" -ge 30 ]; then echo "cannot reach the database at $DB_HOST:"; {run} -e "SELECT 1"; exit 4; fi; '
             'sleep 2; done')
    return (
        f'{check}; {reach}; {run} -e "DROP DATABASE IF EXISTS \\`$DB_NAME\\`"; '
        f'gunzip -c "$f" | {run}; '
        f'{run} -N -B -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema=\'$DB_NAME\'" | '
        'sed "s/^/TABLES /"'
    )


def _postgres_script(t: Target, check_only: bool) -> str:
    """pg_dump's custom format: the archive's table of contents must list a table and the whole archive must read
    back (pg_restore to /dev/null) before anything is dropped. Then DROP DATABASE ... WITH (FORCE) from the
    maintenance database and pg_restore --create, which recreates it as dumped. The password comes from
    PGPASSWORD, host, user and database from PGHOST/PGUSER/PGDATABASE (the backup CronJob's environment)."""
    check = (
        'set -eu; cd /backups; f="$DUMP"; '
        'if [ "$f" = latest ]; then f=""; for d in *.dump; do [ -f "$d" ] && f="$d"; done; fi; '
        'if [ -z "$f" ] || [ ! -f "$f" ]; then echo "no dump ${f:-(none)} in the backup volume; it holds:"; ls -l; exit 3; fi; '
        'if ! pg_restore --list "$f" > /tmp/toc 2>&1; then echo "dump $f is not a readable pg_dump archive:"; cat /tmp/toc; exit 3; fi; '
        'if ! grep -q " TABLE " /tmp/toc; then echo "dump $f holds no table; not restoring it"; exit 3; fi; '
        'pg_restore --file=/dev/null "$f"; '
        'echo "DUMP $f"'
    )
    if check_only:
        return check
    tls = PG_TLS if t.tls else "PGSSLMODE=prefer; export PGSSLMODE"
    psql = 'psql -X -q -v ON_ERROR_STOP=1'
    reach = (f'i=0; until {psql} -d postgres -c "SELECT 1" >/dev/null 2>&1; do i=$((i+1)); '
             f'if [ "$i" -ge 30 ]; then echo "cannot reach the database at $PGHOST:"; {psql} -d postgres -c "SELECT 1"; exit 4; fi; '
             'sleep 2; done')
    return (
        f'{check}; {tls}; {reach}; '
        # :"db" is psql's quoted-identifier interpolation.
        f'printf "%s\\n" \'DROP DATABASE IF EXISTS :"db" WITH (FORCE);\' | {psql} -d postgres -v db="$PGDATABASE"; '
        'pg_restore --create --exit-on-error --dbname=postgres "$f"; '
        f'{psql} -At -d "$PGDATABASE" -c "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN '
        '(\'pg_catalog\', \'information_schema\')" | sed "s/^/TABLES /"'
    )


def restore_job(cron: dict[str, Any], t: Target, name: str, dump: str, check_only: bool) -> dict[str, Any]:
    """The restore (or dump-check) Job: the backup CronJob's pod template with the client's script."""
    spec = json.loads(json.dumps(cron["spec"]["jobTemplate"]["spec"]))
    spec["backoffLimit"] = 0
    pod = spec["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == "backup"]
    container["name"] = "check" if check_only else "restore"
    env = [e for e in container.get("env", []) if e["name"] != "RETENTION_DAYS"]
    container["env"] = [*env, {"name": "DUMP", "value": dump}]
    script = _postgres_script(t, check_only) if t.engine == "postgres" else _mysql_script(t, check_only)
    container["command"] = ["sh", "-c", script]
    # The backup CronJob mounts the database CA itself (stacks deployed before it did, do not): add it only then.
    if t.tls and not check_only and not any(v.get("name") == "db-ca" for v in pod.get("volumes") or []):
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


@dataclass
class Consumer:
    """A Deployment that uses the database: scaled to 0 for the restore, back to `replicas` afterwards."""

    name: str
    replicas: int
    selector: dict[str, str]


def _consumers(kube: Kubectl, t: Target) -> list[Consumer]:
    """A workspace's server; for the control plane every Deployment in its namespace (the vendor chart's, whose
    names are the chart's business; the database itself is a StatefulSet). The test stack without the chart has
    none."""
    if not t.control_plane:
        deploy = kube.get("deployment", t.server_deployment)
        return [Consumer(t.server_deployment, int(deploy["spec"].get("replicas") or 1),
                         deploy["spec"]["selector"]["matchLabels"])]
    items = json.loads(kube.run("get", "deployments", "-o", "json").stdout).get("items") or []
    out = []
    for d in items:
        replicas = d["spec"].get("replicas")
        out.append(Consumer(d["metadata"]["name"], 1 if replicas is None else int(replicas),
                            d["spec"]["selector"].get("matchLabels") or {}))
    return out


def _scale_back_hint(t: Target, consumers: list[Consumer]) -> str:
    return " && ".join(f"kubectl -n {t.namespace} scale deployment/{c.name} --replicas={c.replicas}" for c in consumers)


SUSPENDED_BY_RESTORE = "zenml-platform.io/suspended-by-restore"


class BackupSchedule:
    """The backup CronJob held still during a restore: suspended, its running Job (if any) waited for, and resumed
    afterwards. After a failed restore it stays suspended (the server is down too), marked with an annotation, so
    that the next successful restore resumes it; a schedule someone else suspended stays suspended."""

    def __init__(self, kube: Kubectl, t: Target, cron: dict[str, Any]):
        self.kube, self.t = kube, t
        ours = ((cron.get("metadata") or {}).get("annotations") or {}).get(SUSPENDED_BY_RESTORE) == "true"
        self.held_by_others = bool((cron.get("spec") or {}).get("suspend")) and not ours

    def _set(self, suspended: bool) -> None:
        patch = {"metadata": {"annotations": {SUSPENDED_BY_RESTORE: "true" if suspended else None}},
                 "spec": {"suspend": suspended}}
        self.kube.run("patch", "cronjob", self.t.cronjob, "--type=merge", "-p", json.dumps(patch))

    def suspend(self, timeout: float) -> None:
        if not self.held_by_others:
            self._set(True)
        deadline = time.monotonic() + timeout
        while active := (self.kube.get("cronjob", self.t.cronjob).get("status") or {}).get("active") or []:
            if time.monotonic() > deadline:
                self.resume()
                names = ", ".join(str(a.get("name")) for a in active)
                die(f"a backup Job ({names}) was still running {timeout:.0f}s after the schedule was suspended; "
                    "nothing restored. Run restore again when it has finished", EXIT_FAILED)
            time.sleep(2)
        if not self.held_by_others:
            err(f"restore: cronjob/{self.t.cronjob} suspended until the restore is done")

    def resume(self) -> None:
        if not self.held_by_others:
            self._set(False)

    def held_hint(self) -> str:
        if self.held_by_others:
            return f"cronjob/{self.t.cronjob} was suspended before this restore and stays so"
        return ("Scheduled backups stay suspended too (a backup of a partial database would become the latest); the "
                "next successful restore resumes them, or `kubectl -n "
                f"{self.t.namespace} patch cronjob {self.t.cronjob} --type=merge -p "
                """'{"spec":{"suspend":false}}'`""")


def restore(
    stack: options.Stack = None,
    workspace: options.Workspace = None,
    control_plane: options.ControlPlane = False,
    dump: str = typer.Option(..., "--dump", help="A dump file name in the backup volume (as `backup` prints it), or latest."),
    yes: options.Yes = False,
    timeout: options.Timeout = 900,
    as_json: options.Json = False,
) -> None:
    """Replace the database with a dump: its consumers to 0 replicas, restore Job, consumers back, wait Ready."""
    if dump != "latest" and not DUMP_NAME.match(dump):
        die(f"--dump: {dump!r} is not a dump file name such as default-20261201T080000.sql.gz or "
            "zenml_pro-20261201T080000.dump (or latest)")
    t, cfg = resolve_target(stack, workspace, control_plane)
    if dump != "latest" and not dump.endswith(SUFFIX[t.engine]):
        die(f"--dump: {dump} is not a dump of {t.what}'s {t.engine} database (its dumps end in {SUFFIX[t.engine]})")
    if not yes:
        if not is_interactive():
            die(f"restore {dump} into {t.what}: not confirmed; pass --yes to run without a terminal")
        if not typer.confirm(f"replace the database of {t.what} with {dump}? Its consumers are down meanwhile",
                             default=False, err=True):
            err("cancelled; nothing changed")
            raise typer.Exit(EXIT_FAILED)
    kube = Kubectl(cfg, t.namespace)
    cron = kube.get("cronjob", t.cronjob)
    consumers = _consumers(kube, t)
    timings: dict[str, float] = {}
    start = time.monotonic()

    # 1. The dump exists and is whole: checked before anything changes.
    stamp = _stamp()
    ok, logs = _run_job(kube, restore_job(cron, t, f"{t.base}-rcheck-{stamp}", dump, True), timeout)
    found = re.findall(r"^DUMP (\S+)$", logs, flags=re.MULTILINE)
    if not ok or not found:
        die(f"--dump: cannot restore {dump} into {t.what}; nothing changed:\n{logs.strip()[-2000:]}")
    chosen = found[-1]
    timings["check"] = round(time.monotonic() - start, 1)
    err(f"restore: {chosen} checked in {timings['check']}s")

    # 2. No scheduled backup starts meanwhile (it would dump a half-restored database that `--dump latest` would
    # pick next time), none is running, and nothing writes.
    mark = time.monotonic()
    schedule = BackupSchedule(kube, t, cron)
    schedule.suspend(timeout)
    for c in consumers:
        kube.run("scale", f"deployment/{c.name}", "--replicas=0")
    deadline = time.monotonic() + timeout
    for c in consumers:
        while _server_pods(kube, c.selector):
            if time.monotonic() > deadline:
                schedule.resume()
                die(f"deployment/{c.name} pods still running {timeout}s after scaling to 0; nothing restored. Scale "
                    f"back with `{_scale_back_hint(t, consumers)}`", EXIT_FAILED)
            time.sleep(2)
    timings["scaleDown"] = round(time.monotonic() - mark, 1)
    if consumers:
        err(f"restore: {', '.join('deployment/' + c.name for c in consumers)} scaled to 0 in {timings['scaleDown']}s")
    else:
        err(f"restore: no Deployment in {t.namespace} uses the database; nothing to scale")

    # 3. Restore.
    mark = time.monotonic()
    ok, logs = _run_job(kube, restore_job(cron, t, f"{t.base}-restore-{stamp}", chosen, False), timeout)
    timings["restore"] = round(time.monotonic() - mark, 1)
    if not ok:
        down = (f"the {'server stays' if not t.control_plane else 'Deployments stay'} at 0 replicas so "
                f"{'it cannot' if not t.control_plane else 'they cannot'} run on a partial database. Fix the cause and "
                f"run restore again, or scale back with `{_scale_back_hint(t, consumers)}`") if consumers else \
            "Fix the cause and run restore again (it starts with a drop)"
        die(f"restore job failed after {timings['restore']}s; {down}. {schedule.held_hint()}:\n"
            f"{logs.strip()[-2000:]}", EXIT_FAILED)
    tables = re.findall(r"^TABLES (\d+)$", logs, flags=re.MULTILINE)
    err(f"restore: {chosen} loaded in {timings['restore']}s ({tables[-1] if tables else '?'} tables)")

    # 4. Consumers back, Ready by their own probes.
    mark = time.monotonic()
    for c in consumers:
        kube.run("scale", f"deployment/{c.name}", f"--replicas={c.replicas}")
    for c in consumers:
        kube.run("rollout", "status", f"deployment/{c.name}", f"--timeout={timeout}s", timeout=timeout + 30)
    timings["scaleUp"] = round(time.monotonic() - mark, 1)
    schedule.resume()
    timings["total"] = round(time.monotonic() - start, 1)
    back = ", ".join(f"deployment/{c.name} ({c.replicas} replicas)" for c in consumers) or "nothing to scale back"
    err(f"restore: {back} Ready in {timings['scaleUp']}s; total {timings['total']}s")
    if as_json:
        out: dict[str, Any] = {"stack": t.stack, "workspace": t.workspace, "controlPlane": t.control_plane,
                               "namespace": t.namespace, "dump": chosen,
                               "tables": int(tables[-1]) if tables else None, "seconds": timings}
        if t.control_plane:
            out["deployments"] = {c.name: c.replicas for c in consumers}
        else:
            out["replicas"] = consumers[0].replicas
        emit_json(out)


__all__ = ["backup", "restore"]
