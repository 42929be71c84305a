"""After an interrupted or concurrent operation, and before a destroy of protected data: what the state says.

- **Locks.** The file backend (`file://...`) keeps one lock file per running update under
  `.pulumi/locks/<org>/<project>/<stack>/`; an engine killed with SIGKILL leaves its lock behind. `up`, `destroy`
  and `refresh` look for it before the engine starts and exit 4 (EXIT_LOCKED) naming who holds it, whether that
  process still runs (same host only) and what to run if it is stale (`pulumi cancel`). The engine's own lock
  error (any backend, or a race) is turned into the same message.
- **Pending operations.** An engine killed mid-update leaves `pending_operations` in the state: creates it sent
  but never recorded. The next update would drop them and create the objects again, which the API server refuses
  (server-side apply conflict with the dead engine's field manager). `up` resolves them first: each Kubernetes
  object (its `namespace/name` is in the recorded inputs) that exists is removed with `--cascade=orphan`, then
  `pulumi refresh --clear-pending-creates` clears the pending creates and `up` creates the objects again from the
  state (see resolve_pending).
- **Protected resources.** `destroy` lists them from the state and refuses before the engine runs.

The decisions are pure functions over the exported deployment and the lock files; the engine (`_run`) and the
cluster (`ClusterObjects`, kubectl) are passed in or replaced in the unit tests. No property value is ever
printed: only URNs, types, names and namespaces.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from cli_app.common import EXIT_FAILED, EXIT_LOCKED, ROOT, die, err

PROJECT = "zenml-platform"  # Pulumi.yaml `name`: the lock and stack files live under it


# --- locks ---------------------------------------------------------------------------------------------------


@dataclass
class Lock:
    user: str
    host: str
    pid: Optional[int]
    since: str
    path: str = ""

    def running(self) -> Optional[bool]:
        """True/False when the lock was taken on this host (its process runs or not); None when unknowable."""
        if self.pid is None or self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        who = f"{self.user or '?'}@{self.host or '?'}" + (f" (pid {self.pid})" if self.pid is not None else "")
        state = {True: "that process still runs: wait for it to finish",
                 False: "that process is gone: the lock is stale",
                 None: "on another machine: check there whether it still runs"}[self.running()]
        return f"{who} since {self.since or '?'}; {state}"


def file_backend_locks(backend: str, stack: str) -> list[Lock]:
    """The lock files of `stack` in a file:// backend (none for other backends: they lock server-side)."""
    if not backend.startswith("file://"):
        return []
    root = Path(backend[len("file://"):]).expanduser() / ".pulumi" / "locks"
    # Project-scoped layout (<org>/<project>/<stack>) and the legacy one (<stack>).
    paths = sorted(root.glob(f"*/{PROJECT}/{stack}/*.json")) + sorted(root.glob(f"{stack}/*.json"))
    locks = []
    for path in paths:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        pid = doc.get("pid")
        locks.append(Lock(str(doc.get("username") or ""), str(doc.get("hostname") or ""),
                          pid if isinstance(pid, int) else None, str(doc.get("timestamp") or ""), str(path)))
    return locks


_LOCK_LINE = re.compile(r"created by (?P<user>[^@\s]*)@(?P<host>\S*) \(pid (?P<pid>\d+)\) at (?P<since>\S+)")


def locks_from_error(text: str) -> list[Lock]:
    """The holders the engine names in its "the stack is currently locked" error."""
    return [Lock(m["user"], m["host"], int(m["pid"]), m["since"]) for m in _LOCK_LINE.finditer(text)]


def is_lock_error(text: str) -> bool:
    low = text.lower()
    return "the stack is currently locked" in low or "conflict: another update" in low or "concurrent update" in low


def lock_message(stack: str, backend: str, locks: list[Lock]) -> str:
    lines = [f"{stack} is locked by another operation on {backend}; nothing changed:"]
    lines += [f"  held by {lock.describe()}" for lock in locks] or ["  (the engine did not say by whom)"]
    env = f"PULUMI_BACKEND_URL={shlex.quote(backend)} " if backend else ""
    lines.append(
        "Wait for it to finish and run the command again. If that operation died (killed, machine lost), the lock is "
        f"stale: remove it with `{env}pulumi cancel -s {stack} --yes` from the project directory, then run `up` "
        "again (it resolves what the dead operation left pending; docs/operations.md, Recovery)."
    )
    return "\n".join(lines)


def refuse_if_locked(stack: str, backend: str) -> None:
    locks = file_backend_locks(backend, stack)
    if locks:
        die(lock_message(stack, backend, locks), EXIT_LOCKED)


# --- state -----------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Optional[str]:
    """A string input as recorded (a secret input is an encrypted object: unusable, and never shown)."""
    return value if isinstance(value, str) and value else None


def kubernetes_id(type_token: str, inputs: Any) -> Optional[str]:
    """The provider ID a Kubernetes object gets (`namespace/name`, or `name` when cluster-scoped) from its inputs."""
    if not type_token.startswith("kubernetes:") or not isinstance(inputs, dict):
        return None
    if type_token.startswith("kubernetes:helm.sh/"):
        name, namespace = _plain(inputs.get("name")), _plain(inputs.get("namespace"))
    else:
        meta = inputs.get("metadata")
        if not isinstance(meta, dict):
            return None
        name, namespace = _plain(meta.get("name")), _plain(meta.get("namespace"))
    if name is None:
        return None
    return f"{namespace}/{name}" if namespace else name


def short(type_token: str, urn: str) -> str:
    from cli_app.events import name_of, short_type

    return f"{short_type(type_token)} {name_of(urn)}"


@dataclass
class Pending:
    urn: str
    type: str
    op: str  # creating | updating | deleting | reading | importing
    import_id: Optional[str]
    custom: bool = True

    @property
    def external(self) -> bool:
        """Whether an object outside the state may exist (a Kubernetes object; not a generated password or key,
        not a component, which is only a name in the state)."""
        return self.custom and self.type.startswith("kubernetes:")

    @property
    def why_nothing(self) -> str:
        return "a component, only a name in the state" if not self.custom else "nothing outside the state"


def pending_operations(deployment: dict[str, Any]) -> list[Pending]:
    out = []
    for op in deployment.get("pending_operations") or []:
        res = op.get("resource") or {}
        type_token = str(res.get("type") or "")
        ident = _plain(res.get("id")) or kubernetes_id(type_token, res.get("inputs"))
        out.append(Pending(str(res.get("urn") or ""), type_token, str(op.get("type") or ""), ident,
                           bool(res.get("custom", True))))
    return out


@dataclass
class Protected:
    urn: str
    type: str
    retain: bool


def protected_resources(deployment: dict[str, Any]) -> list[Protected]:
    return [Protected(r["urn"], r.get("type", ""), bool(r.get("retainOnDelete")))
            for r in deployment.get("resources") or [] if r.get("protect")]


def export(session, purpose: str = "the state") -> dict[str, Any]:
    """The stack's deployment (`pulumi stack export`, secrets stay encrypted), read once per command: the checks
    before `up` (downgrade, pending operations, retained data) share it until `forget_state` says it changed."""
    from cli_app.engine import classify_error, error_lines

    cached = getattr(session, "_exported", None)
    if cached is not None:
        return cached
    try:
        deployment = session.stack.export_stack().deployment or {}
    except Exception as exc:  # CommandError: lock, passphrase, backend
        lines = error_lines(exc)
        text = "\n".join(lines)
        if is_lock_error(text):
            die(lock_message(session.name, session.backend, locks_from_error(text)), EXIT_LOCKED)
        code, hint = classify_error(text)
        die("\n".join([f"cannot read {purpose} of {session.name}:"] + [f"  {ln}" for ln in lines] + ([hint] if hint else [])), code)
    session._exported = deployment
    return deployment


def forget_state(session) -> None:
    """After a command changed the state behind the engine (a refresh): the next `export` reads it again."""
    session._exported = None


# --- resolving pending operations --------------------------------------------------------------------------------


def refresh_command(stack: str) -> list[str]:
    return ["pulumi", "refresh", "--stack", stack, "--yes", "--skip-preview", "--non-interactive", "--color=never",
            "--clear-pending-creates"]


def _run(session, cmd: list[str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run([session.cli.path, *cmd[1:]], cwd=ROOT, env={**os.environ, **session.env},
                          capture_output=True, text=True, timeout=timeout)


def _shown(cmd: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)


def kubectl_kind(type_token: str) -> str:
    """`kubernetes:apps/v1:StatefulSet` -> `StatefulSet.v1.apps`; core kinds by their kind alone."""
    _, group_version, kind = type_token.split(":")
    group, _, version = group_version.rpartition("/")
    return kind if group in ("core", "") else f"{kind}.{version}.{group}"


class ClusterObjects:
    """Looks up and deletes an object by kind and ID (kubectl, the stack's kube context)."""

    def __init__(self, cfg: Any):
        from cli_app.backups import Kubectl

        self.kube = Kubectl(cfg, "default")

    def _where(self, ident: str) -> list[str]:
        namespace, _, name = ident.rpartition("/")
        return [f"--namespace={namespace}", name] if namespace else [name]

    def exists(self, type_token: str, ident: str) -> bool:
        proc = self.kube.run("get", kubectl_kind(type_token), *self._where(ident), "-o", "name", check=False)
        if proc.returncode == 0:
            return True
        if "notfound" in proc.stderr.replace(" ", "").lower():
            return False
        die(f"kubectl get {kubectl_kind(type_token)} {ident} failed: {proc.stderr.strip()[-1000:]}", EXIT_FAILED)
        return False

    def delete(self, type_token: str, ident: str, cascade: str = "orphan") -> None:
        self.kube.run("delete", kubectl_kind(type_token), *self._where(ident), f"--cascade={cascade}", "--wait=true",
                      "--timeout=180s", "--ignore-not-found", timeout=240)


def resolve_pending(session, run=None, cluster=None, ask: bool = False) -> list[Pending]:
    """Resolve what an interrupted operation left pending, before `up` runs; returns what was resolved.

    A pending create is a request the dead engine sent and never recorded. For a Kubernetes object the cluster
    may hold it: then `up` would create it again, and the API server refuses that server-side apply because the
    dead engine's field manager owns the fields (a conflict on defaulted fields such as a StatefulSet's
    volumeClaimTemplates). So each such object that exists is deleted with --cascade=orphan (its pods, ReplicaSets
    and volume claims stay and are adopted again by the new object; the object itself is seconds old and holds
    nothing the state cannot make again), the pending creates are cleared (`pulumi refresh
    --clear-pending-creates`) and `up` creates the objects from the state (same generated passwords and keys).
    Pending creates of generated passwords, keys and components exist only in the state: cleared and made again.
    A Kubernetes object whose name is not in the state stops here with what to check (exit 1), before any change.
    (`refresh --import-pending-creates` would be the engine's own way; with pulumi v3.259.0 and the file backend
    the refresh dropped the imported operations without recording the objects, so `up` still conflicted.)
    """
    from cli_app.engine import classify_error

    run = run or _run
    pending = pending_operations(export(session))
    if not pending:
        return []
    creates = [p for p in pending if p.op == "creating"]
    unknown = [p for p in creates if p.external and not p.import_id]
    objects = [p for p in creates if p.external and p.import_id]
    clears = [p for p in creates if not p.external]
    others = [p for p in pending if p.op != "creating"]
    err(f"{session.name}: the last operation was interrupted and left {len(pending)} operation(s) pending in the state "
        "(`pulumi stack export`, pending_operations):")
    if unknown:
        lines = [f"  creating {short(p.type, p.urn)}: its object name is not in the state" for p in unknown]
        die("\n".join([f"{session.name}: cannot tell which objects these pending creates made; nothing changed:", *lines,
                       "Delete each such object from the cluster if it exists (it was never recorded), then run:",
                       "  " + _shown(refresh_command(session.name))]), EXIT_FAILED)
    if ask:
        import typer

        err("  " + "\n  ".join(f"creating {short(p.type, p.urn)}: object {p.import_id} (deleted with --cascade=orphan if "
                                 "it exists)" for p in objects) if objects else "  nothing in the cluster to remove")
        if not typer.confirm("resolve them before up?", default=False, err=True):
            die("cancelled; nothing changed", EXIT_FAILED)
    cluster = cluster or (ClusterObjects(session.cfg) if objects else None)
    removed = 0
    for p in objects:
        if not cluster.exists(p.type, p.import_id):
            err(f"  creating {short(p.type, p.urn)}: object {p.import_id} is not in the cluster; `up` creates it")
            continue
        cluster.delete(p.type, p.import_id)
        removed += 1
        err(f"  creating {short(p.type, p.urn)}: object {p.import_id} was created but never recorded; removed "
            "(what it owns is kept: --cascade=orphan), `up` creates it again from the state")
    for p in clears:
        err(f"  creating {short(p.type, p.urn)}: {p.why_nothing}; dropped, `up` creates it again")
    for p in others:
        err(f"  {p.op} {short(p.type, p.urn)}: read back from the cluster by the refresh")
    cmd = refresh_command(session.name)
    err(f"running: {_shown(cmd)}")
    proc = run(session, cmd)
    forget_state(session)
    if proc.returncode != 0:
        text = (proc.stderr or "") + "\n" + (proc.stdout or "")
        lines = [ln.rstrip() for ln in text.splitlines() if "error" in ln.lower()][-15:]
        if is_lock_error(text):
            die(lock_message(session.name, session.backend, locks_from_error(text)), EXIT_LOCKED)
        code, hint = classify_error("\n".join(lines))
        die("\n".join([f"{session.name}: clearing the pending operations failed; run it yourself once the cause is fixed, "
                       "then `up` again:", f"  {_shown(cmd)}", *[f"  {ln}" for ln in lines], *([hint] if hint else [])]),
            EXIT_FAILED)
    left = [p for p in pending_operations(export(session)) if p.op == "creating"]
    if left:
        die("\n".join([f"{session.name}: {len(left)} pending create(s) are still in the state after the refresh:",
                       *[f"  {short(p.type, p.urn)}" for p in left], f"Run `{_shown(cmd)}` and `up` again."]), EXIT_FAILED)
    err(f"{session.name}: resolved {len(pending)} pending operation(s) ({removed} unrecorded object(s) removed, "
        f"{len(creates)} create(s) to redo, {len(others)} read back); continuing")
    return pending


# --- destroy of protected data -----------------------------------------------------------------------------------


def protected_message(stack: str, protected: list[Protected]) -> str:
    lines = [f"{stack}: refusing to destroy: {len(protected)} resource(s) are protected (profile production); nothing changed:"]
    lines += [f"  {short(p.type, p.urn)}" + ("  (retained in the cluster when deleted)" if p.retain else "") for p in protected]
    lines += [
        "To remove everything else and keep the data, its credentials and keys (in the cluster and in the state, so a "
        f"later `up` re-attaches to them): `zenml-platform destroy -s {stack} --keep-data`.",
        f"To delete them from the state too: `pulumi state unprotect -s {stack} --all --yes`, then destroy again; "
        "retained objects stay in the cluster (the database and the Secrets with its passwords and keys) and a later "
        "`up` of this stack asks to reuse those Secrets (docs/operations.md, Recovery).",
    ]
    return "\n".join(lines)


# --- re-attaching to retained Secrets after the state lost the generated values ----------------------------------


RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def made_by_stack(secret: dict[str, Any], expected_labels: dict[str, str]) -> Optional[str]:
    """None when `secret` (kubectl JSON) carries every label the component gives it and was written by the
    Kubernetes provider (a `pulumi-kubernetes` field manager); otherwise why not (names, never values)."""
    meta = secret.get("metadata") or {}
    have = meta.get("labels") or {}
    wrong = sorted(k for k, v in expected_labels.items() if have.get(k) != v)
    if wrong:
        return f"its labels {', '.join(wrong)} are not the ones this stack gives it"
    managers = [str(m.get("manager") or "") for m in meta.get("managedFields") or []]
    if not any(m.startswith("pulumi-kubernetes") for m in managers):
        return "it was not written by Pulumi's Kubernetes provider"
    return None


@dataclass
class Adoption:
    adopt: list[Any]  # RetainedValue: found in the cluster, to reuse
    already: list[Any]  # RetainedValue: reused by an earlier `up` (its read resource is in the state)


def plan_adoption(deployment: dict[str, Any], candidates: list[Any], get_secret) -> Adoption:
    """Which retained values `up` must reuse. A value whose RandomPassword is in the state is generated as before;
    one adopted by an earlier `up` is adopted again; otherwise its Secret is looked up (`get_secret(namespace, name)`
    -> kubectl JSON or None): absent, the value is generated (a new stack); present, it must be the Secret this stack
    made, with the key, or `up` stops before anything changes (exit 2)."""
    from cli_app.events import name_of
    from scenarios.retained import RETAINED_SUFFIX

    resources = deployment.get("resources") or []
    generated = {name_of(r.get("urn", "")) for r in resources if r.get("type") == RANDOM_PASSWORD}
    reads = {name_of(r.get("urn", "")) for r in resources if r.get("type") == "kubernetes:core/v1:Secret"}
    adopt, already, problems = [], [], []
    secrets: dict[str, Optional[dict[str, Any]]] = {}
    for c in candidates:
        if c.generated in generated:
            continue
        if f"{c.generated}{RETAINED_SUFFIX}" in reads:
            already.append(c)
            continue
        if c.secret_id not in secrets:
            secrets[c.secret_id] = get_secret(c.namespace, c.secret)
        found = secrets[c.secret_id]
        if found is None:
            continue
        why = made_by_stack(found, dict(c.labels))
        if why is None and c.key not in (found.get("data") or {}):
            why = f"it has no key {c.key!r}"
        if why:
            problems.append(f"  Secret {c.secret_id} (for {c.generated}): {why}")
        else:
            adopt.append(c)
    if problems:
        die("\n".join([
            "the state has no generated value for these, and the cluster holds a Secret of that name this stack cannot "
            "reuse; nothing changed:", *problems,
            "Delete or rename that Secret if it is not this stack's data, or restore the state it belongs to "
            "(docs/operations.md, Recovery)."]))
    return Adoption(adopt, already)


def kubectl_secret(cfg: Any, kind: str = "secret"):
    """get_secret for plan_adoption: the object as kubectl JSON (held in memory only), None when absent."""
    from cli_app.backups import Kubectl

    kube = Kubectl(cfg, "default")

    def get(namespace: str, name: str) -> Optional[dict[str, Any]]:
        # managedFields are left out of kubectl's output unless asked for: they say who wrote the object.
        proc = kube.run("get", kind, name, f"--namespace={namespace}", "-o", "json", "--show-managed-fields",
                        check=False)
        if proc.returncode == 0:
            return json.loads(proc.stdout)
        if "notfound" in proc.stderr.replace(" ", "").lower():
            return None
        die(f"kubectl get {kind} {namespace}/{name} failed: {proc.stderr.strip()[-1000:]}", EXIT_FAILED)
        return None

    return get


def retained_workloads_to_recreate(deployment: dict[str, Any], workloads: list[Any], get_object) -> list[Any]:
    """The retained StatefulSets of the stack that are in the cluster but not in the state (exit 2 on one of that
    name the stack did not make)."""
    from cli_app.events import name_of

    in_state = {name_of(r.get("urn", "")) for r in deployment.get("resources") or [] if r.get("type") == "kubernetes:apps/v1:StatefulSet"}
    out, problems = [], []
    for w in workloads:
        if w.resource in in_state:
            continue
        found = get_object(w.namespace, w.name)
        if found is None:
            continue
        why = made_by_stack(found, dict(w.labels))
        if why:
            problems.append(f"  StatefulSet {w.ident}: {why}")
        else:
            out.append(w)
    if problems:
        die("\n".join(["the cluster holds a StatefulSet of the name this stack's database gets that this stack cannot "
                       "re-attach to; nothing changed:", *problems]))
    return out


def adopt_retained(session, ask: bool, get_secret=None, get_workload=None, cluster=None) -> list[Any]:
    """Before `up`: reuse the retained Secrets whose generated values left the state (production profile, after
    `pulumi state unprotect --all` + `destroy`), so the servers re-attach to the retained database and keys.

    A retained StatefulSet is deleted first, with its pods: a new object of its name conflicts with the old one's
    field owner (.spec.volumeClaimTemplates), and its running pod serves the certificate of the lost internal
    database CA (the new `up` issues a new one; its clients verify against it). Its volume claims stay
    (persistentVolumeClaimRetentionPolicy Retain): the new StatefulSet's pod starts on the same volume.
    Asks on a terminal (`ask`), refuses without one; prints only object names. Sets ADOPT_ENV for the program.
    """
    from scenarios.retained import ADOPT_ENV, encode, retained_secrets

    candidates = retained_secrets(session.cfg)
    if not candidates:
        return []
    from cli_app.events import name_of

    deployment = export(session)
    generated = {name_of(r.get("urn", "")) for r in deployment.get("resources") or [] if r.get("type") == RANDOM_PASSWORD}
    if all(c.generated in generated for c in candidates):
        return []
    plan = plan_adoption(deployment, candidates, get_secret or kubectl_secret(session.cfg))
    from scenarios.retained import retained_workloads

    # Also when an earlier re-attaching `up` adopted the Secrets and failed before it made the StatefulSet.
    recreate = retained_workloads_to_recreate(deployment, retained_workloads(session.cfg),
                                              get_workload or kubectl_secret(session.cfg, "statefulset")) \
        if plan.adopt or plan.already else []
    if plan.adopt or recreate:
        names = sorted({c.secret_id for c in plan.adopt})
        err(f"{session.name}: the state has no generated values for {len(plan.adopt) + len(plan.already)} password(s)/key(s) "
            "whose retained Secret(s) are in the cluster (left by a destroy of the production profile):")
        for c in plan.adopt:
            err(f"  {c.generated}: reused from Secret {c.secret_id} (key {c.key})")
        for w in recreate:
            err(f"  StatefulSet {w.ident}: retained; deleted with its pods (its volume claims stay: retention policy "
                "Retain) and created again by `up`, so the database restarts on its volume with this `up`'s TLS certificate")
        if ask:
            import typer

            if not typer.confirm(f"reuse {len(names)} retained Secret(s) and re-create {len(recreate)} StatefulSet(s) so the "
                                 "servers re-attach to the retained data?", default=False, err=True):
                die("cancelled; nothing changed", EXIT_FAILED)
        if names:
            err(f"{session.name}: adopted {', '.join(names)} (values stay in the cluster and in encrypted state)")
        if recreate:
            cluster = cluster or ClusterObjects(session.cfg)
            for w in recreate:
                cluster.delete(w.type, w.ident, cascade="foreground")
            err(f"{session.name}: deleted StatefulSet(s) {', '.join(w.ident for w in recreate)} and their pods "
                "(volume claims kept)")
    chosen = plan.adopt + plan.already
    if chosen:
        session.env[ADOPT_ENV] = encode(chosen)
        session.stack.workspace.env_vars[ADOPT_ENV] = session.env[ADOPT_ENV]
    return chosen
