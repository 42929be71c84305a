"""`workspace add | remove | list`: edit a stack file in place (comments and key order kept), validate, show the change.

Nothing is written unless the edited file validates. What `up` would change is computed offline by planning the
stack before and after under recording mocks and comparing URNs (and inputs of the URNs both plans share).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Optional

import typer

from cli_app import options
from cli_app.common import EXIT_INVALID, die, emit_json, err, plain_table

app = typer.Typer(help="Add, remove and list the workspaces of a stack file.", no_args_is_help=True)
KEY = "zenml-platform:workspaces"


# --- the stack file, round-trip ----------------------------------------------------------------------------


def yaml_rt(indent: tuple[int, int, int] = (2, 4, 2)):
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    mapping, sequence, offset = indent
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    return y


class StackText:
    """A stack file's text and how it is written (line endings, indentation), so an edit keeps both."""

    def __init__(self, path: Path):
        from stack_config.yamlfile import StackFileError, read_text

        try:
            raw = read_text(path)
        except StackFileError as exc:
            die(f"{path.name}: {exc.reason}")
        self.path = path
        self.crlf = "\r\n" in raw
        self.text = raw.replace("\r\n", "\n")
        self.indent = guess_indent(self.text)

    def finish(self, text: str) -> str:
        """Text in the file's own line endings."""
        text = text.replace("\r\n", "\n")
        return text.replace("\n", "\r\n") if self.crlf else text


def guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel takes them, from the first nested mapping and block sequence."""
    mapping = sequence = offset = None
    previous: Optional[tuple[int, str]] = None
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        col = len(line) - len(stripped)
        if previous is not None:
            pcol, ptext = previous
            opens = ptext.rstrip().endswith(":") and not ptext.startswith("- ")
            if opens and stripped.startswith("- ") and sequence is None and col >= pcol:
                rest = stripped[1:]
                content = col + 1 + (len(rest) - len(rest.lstrip(" ")))
                offset, sequence = col - pcol, content - pcol
            elif opens and not stripped.startswith("- ") and mapping is None and col > pcol:
                mapping = col - pcol
        previous = (col, stripped)
        if mapping is not None and sequence is not None:
            break
    mapping = mapping or 2
    if sequence is None:
        sequence, offset = mapping + 2, mapping
    return mapping, max(sequence, (offset or 0) + 2), offset or 0


def read_rt(path: Path, source: Optional[StackText] = None):
    source = source or StackText(path)
    y = yaml_rt(source.indent)
    try:
        doc = y.load(source.text)
    except Exception:  # ruamel refuses what the bounded loader let through (it was validated just before)
        die(f"{path.name}: cannot be edited in place (not readable as round-trip YAML); nothing written")
    if doc is None or not hasattr(doc, "get"):
        die(f"{path.name}: not a stack file (a mapping with a `config:` key)")
    if doc.get("config") is None:
        from ruamel.yaml.comments import CommentedMap

        doc["config"] = CommentedMap()
    return doc


def dump_rt(doc: Any, indent: tuple[int, int, int] = (2, 4, 2)) -> str:
    buf = io.StringIO()
    yaml_rt(indent).dump(doc, buf)
    return buf.getvalue()


def write_stack(path: Path, text: str) -> None:
    """Write the edited file in place (its mode kept), or exit 2 with one line; never a traceback."""
    import os

    from cli_app.common import write_text

    if not os.access(path, os.W_OK):
        die(f"{path}: the file is not writable; nothing written")
    write_text(path, text, "stack file")


def validate_text(text: str, path: Path, flags: Optional[dict[str, str]] = None):
    """The edited document as a `StackConfig`, or exit 2 naming key paths (the file is left untouched)."""
    from stack_config import ConfigError, load_from_mapping
    from stack_config.yamlfile import StackFileError, parse

    try:
        doc = parse(text, path.name) or {}
    except StackFileError as exc:  # pragma: no cover - the text was written by the YAML library
        die(f"{path.name}: the edited file would not be readable ({exc.reason}); nothing written")
    try:
        return load_from_mapping(doc.get("config") or {})
    except ConfigError as exc:
        hint = lambda p: next((f" (flag {f})" for suffix, f in (flags or {}).items() if p.path.endswith(suffix)), "")  # noqa: E731
        lines = [f"{path.name}: the edited file would be invalid; nothing written"] + [str(p) + hint(p) for p in exc.problems]
        die("\n".join(lines), EXIT_INVALID)


def secret_ref(value: Optional[str], flag: str) -> Optional[dict]:
    """`NAME:KEY` -> `{secretKeyRef: {name, key}}` (an existing Kubernetes Secret; the value never enters a file).

    What was given is never echoed and never written unless it has the shape of a Secret name and key: a
    password typed here by mistake (even one holding a `:`) is refused without showing it.
    """
    if value is None:
        return None
    from stack_config.secrets import secret_key_problem, secret_name_problem

    name, sep, key = value.partition(":")
    if not sep or secret_name_problem(name) or secret_key_problem(key):
        die(
            f"{flag}: give SECRET_NAME:KEY of an existing Kubernetes Secret (a Secret name, lower-case DNS subdomain, "
            "and one of its keys); what was given is not that, so it was not written or shown. "
            "Never pass the secret value itself here"
        )
    return {"secretKeyRef": {"name": name, "key": key}}


def build_workspace(
    name: str,
    *,
    edition: Optional[str] = None,
    host: Optional[str] = None,
    zenml_version: Optional[str] = None,
    replicas: Optional[int] = None,
    database: str = "in-cluster",
    storage_size: Optional[str] = None,
    db_host: Optional[str] = None,
    db_port: Optional[int] = None,
    db_name: Optional[str] = None,
    db_user: Optional[str] = None,
    db_password_secret: Optional[str] = None,
    db_ca_certificate: Optional[str] = None,
    db_verify: Optional[bool] = None,
    secret_store: str = "sql",
    vault_address: Optional[str] = None,
    vault_token_secret: Optional[str] = None,
    pro_organization_id: Optional[str] = None,
    pro_workspace_id: Optional[str] = None,
    enrollment_key_secret: Optional[str] = None,
    runner: Optional[bool] = None,
) -> dict[str, Any]:
    """A workspace entry in stack-file form (camelCase), holding only what was given; the model fills defaults."""
    ws: dict[str, Any] = {"name": name}
    if edition:
        ws["edition"] = edition
    if host:
        ws["host"] = host
    if zenml_version:
        ws["zenmlVersion"] = zenml_version
    if replicas is not None:
        ws["replicas"] = replicas
    db: dict[str, Any] = {}
    if database == "managed":
        db["mode"] = database
    elif database != "in-cluster":
        db["mode"] = database
        ext: dict[str, Any] = {}
        for key, value in (("host", db_host), ("port", db_port), ("database", db_name), ("username", db_user)):
            if value is not None:
                ext[key] = value
        ref = secret_ref(db_password_secret, "--db-password-secret")
        if ref:
            ext["password"] = ref
        if db_ca_certificate is not None:
            ext["caCertificate"] = db_ca_certificate
        if db_verify is not None:
            ext["verifyServerCertificate"] = db_verify
        db["external"] = ext
    elif storage_size:
        db["inCluster"] = {"storageSize": storage_size}
    if db:
        ws["database"] = db
    if secret_store != "sql":
        store: dict[str, Any] = {"type": secret_store}
        if secret_store == "hashicorp":
            store["vault"] = {}
        if vault_address:
            store.setdefault("vault", {})["address"] = vault_address
        token = secret_ref(vault_token_secret, "--vault-token-secret")
        if token:
            store.setdefault("vault", {})["token"] = token
        ws["secretStore"] = store
    if pro_organization_id or pro_workspace_id or enrollment_key_secret:
        pro: dict[str, Any] = {}
        if pro_organization_id:
            pro["organizationId"] = pro_organization_id
        if pro_workspace_id:
            pro["workspaceId"] = pro_workspace_id
        pro["enrollmentKey"] = secret_ref(enrollment_key_secret or f"zenml-pro-enrollment:{name}", "--enrollment-key-secret")
        ws["pro"] = pro
    if runner is not None:
        ws["runner"] = {"enabled": runner}
    return ws


def _parsed_config(text: str, path: Path) -> Any:
    from stack_config.yamlfile import StackFileError, parse

    try:
        return (parse(text, path.name) or {}).get("config")
    except StackFileError:
        return None


def remove_item_lines(source: StackText, doc: Any, idx: int) -> Optional[str]:
    """The text without workspace `idx`: its lines and the comment lines right above it (they describe it) are
    deleted; every other byte stays, so the next workspace keeps its comments and the file its layout.
    None when the layout is not one this handles (flow style, dash on its own line): the caller falls back."""
    config = doc["config"]
    seq = config[KEY]
    if getattr(seq.fa, "flow_style", lambda: False)() or not hasattr(seq, "lc"):
        return None
    lines = source.text.split("\n")
    key_line, key_col = config.lc.key(KEY)

    def is_comment(i: int) -> bool:
        return lines[i].lstrip(" ").startswith("#")

    def is_blank(i: int) -> bool:
        return not lines[i].strip()

    def block_start(i: int) -> Optional[int]:
        line = seq.lc.item(i)[0]
        if not lines[line].lstrip(" ").startswith("-"):
            return None
        while line - 1 > key_line and is_comment(line - 1):
            line -= 1
        return line

    start = block_start(idx)
    if start is None:
        return None
    if idx + 1 < len(seq):
        end = block_start(idx + 1)
        if end is None:
            return None
    else:
        end = _last_item_end(lines, seq, key_col)
    kept = lines[:start] + lines[end:]
    if len(seq) == 1:
        if not kept[key_line].rstrip().endswith(":"):
            return None
        kept[key_line] = kept[key_line].rstrip() + " []"
    return "\n".join(kept)


def _last_item_end(lines: list[str], seq: Any, key_col: int) -> int:
    """The line after the last item's content: comment and blank lines after it belong to what follows."""
    first = seq.lc.item(len(seq) - 1)[0]
    end = first + 1

    def loose(i: int) -> bool:
        return not lines[i].strip() or lines[i].lstrip(" ").startswith("#")

    while end < len(lines) and (loose(end) or len(lines[end]) - len(lines[end].lstrip(" ")) > key_col):
        end += 1
    while end - 1 > first and loose(end - 1):
        end -= 1
    return end


def append_item_lines(source: StackText, doc: Any, entry: dict) -> Optional[str]:
    """The text with `entry` added after the last workspace, in the list's own indentation, so the comments that
    follow the list stay before what they describe. None when the list is missing, empty or in flow style."""
    from ruamel.yaml.comments import CommentedSeq

    config = doc["config"]
    seq = config.get(KEY)
    if not isinstance(seq, CommentedSeq) or not len(seq) or getattr(seq.fa, "flow_style", lambda: False)():
        return None
    lines = source.text.split("\n")
    key_col = config.lc.key(KEY)[1]
    item_col = seq.lc.item(0)[1]
    block = dump_rt(CommentedSeq([_to_rt(entry)]), source.indent).rstrip("\n").split("\n")
    dash_col = len(block[0]) - len(block[0].lstrip(" "))
    shift = key_col + source.indent[2] - dash_col
    if shift < 0 or item_col != key_col + source.indent[1]:
        return None
    end = _last_item_end(lines, seq, key_col)
    return "\n".join(lines[:end] + [" " * shift + line if line else line for line in block] + lines[end:])


def _to_rt(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _to_rt(v)
        return m
    if isinstance(value, list):
        return CommentedSeq([_to_rt(v) for v in value])
    if isinstance(value, str) and "\n" in value:
        from ruamel.yaml.scalarstring import LiteralScalarString

        return LiteralScalarString(value)  # a PEM block, written as `|` so it stays readable
    return value


# --- what `up` would change ---------------------------------------------------------------------------------


def plan_diff(before_cfg, after_cfg, stack: str):
    """A Tracker whose changes are the URN difference (and changed inputs) between two offline plans."""
    from cli_app.events import Change, Tracker, is_stateful
    from planning.run import run_program

    before = {r.urn: r for r in run_program(before_cfg, stack, preview=False).registrations} if before_cfg else {}
    after = {r.urn: r for r in run_program(after_cfg, stack, preview=False).registrations} if after_cfg else {}
    tracker = Tracker("plan")
    for urn, r in after.items():
        if urn not in before:
            op = "create"
        elif before[urn].inputs != r.inputs:
            op = "update"
        else:
            continue
        keys = sorted(k for k in set(r.inputs) | set(before.get(urn, r).inputs) if op == "update" and before[urn].inputs.get(k) != r.inputs.get(k))
        tracker.changes[urn] = Change(urn, r.type, op, is_stateful(r.type, r.name, r.protect, r.retain_on_delete), r.protect, r.retain_on_delete, diff_keys=keys)
    for urn, r in before.items():
        if urn not in after:
            tracker.changes[urn] = Change(urn, r.type, "delete", is_stateful(r.type, r.name, r.protect, r.retain_on_delete), r.protect, r.retain_on_delete)
    return tracker


def _show_diff(tracker, stack: str, as_json: bool, extra: dict) -> None:
    from cli_app.summary import render_terminal

    if as_json:
        emit_json({**extra, "upWouldChange": tracker.counts(), "resources": [c.as_dict() for c in tracker.planned()]})
        return
    lines = render_terminal(tracker, stack)
    err("what `up` would change (offline plan):")
    for line in lines:
        err("  " + line)


def _load_target(stack: Optional[str], config_file: Optional[Path]):
    from cli_app.stack_files import load, stack_path

    name, path = stack_path(stack, config_file)
    return name, path, load(stack, config_file)[2]


# --- commands -----------------------------------------------------------------------------------------------


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Workspace name (DNS label): names its namespace, host and database."),
    stack: options.Stack = None,
    config_file: options.ConfigFile = None,
    edition: Optional[str] = typer.Option(None, help="pro or oss (default: pro with a control plane, else oss)."),
    host: Optional[str] = typer.Option(None, help="Host name (default: NAME.<domain>)."),
    zenml_version: Optional[str] = typer.Option(None, help="Server version (default: the stack's zenmlVersion)."),
    replicas: Optional[int] = typer.Option(None, min=1, help="Server replicas (default: from the profile)."),
    database: str = typer.Option("in-cluster", help="in-cluster, external, or managed (RDS/Cloud SQL on aws/gcp targets)."),
    storage_size: Optional[str] = typer.Option(None, help="In-cluster database volume size, e.g. 20Gi."),
    db_host: Optional[str] = typer.Option(None, help="External database host."),
    db_port: Optional[int] = typer.Option(None, help="External database port."),
    db_name: Optional[str] = typer.Option(None, help="External database name."),
    db_user: Optional[str] = typer.Option(None, help="External database user."),
    db_password_secret: Optional[str] = typer.Option(None, help="SECRET:KEY of an existing Kubernetes Secret with the password."),
    db_ca_file: Optional[Path] = typer.Option(None, "--db-ca-file", help="PEM file of the CA that signed the external database's certificate.", dir_okay=False),
    db_verify: Optional[bool] = typer.Option(None, "--db-verify/--no-db-verify", help="Verify the external database's certificate (default: on; needs --db-ca-file)."),
    secret_store: str = typer.Option("sql", help="sql, hashicorp, aws or gcp (cloud stores on their targets)."),
    vault_address: Optional[str] = typer.Option(None, help="Vault address (secret store hashicorp)."),
    vault_token_secret: Optional[str] = typer.Option(None, help="SECRET:KEY holding the Vault token."),
    pro_organization_id: options.ProOrganizationId = None,
    pro_workspace_id: options.ProWorkspaceId = None,
    enrollment_key_secret: options.EnrollmentKeySecret = None,
    runner: Optional[bool] = typer.Option(None, "--runner/--no-runner", help="Runner namespace for pipelines started from the UI."),
    dry_run: options.DryRun = False,
    as_json: options.Json = False,
) -> None:
    """Add a workspace to the stack file, validate it, and show what `up` would create."""
    stack_name, path, before = _load_target(stack, config_file)
    if database != "external" and (db_ca_file is not None or db_verify is not None):
        die("--db-ca-file and --db-verify/--no-db-verify apply to --database external")
    ca_pem = _read_pem(db_ca_file, "--db-ca-file") if db_ca_file is not None else None
    if any(ws.name == name for ws in before.workspaces):
        die(f"{KEY.split(':', 1)[1]}: a workspace named {name!r} already exists in {path.name}")
    entry = build_workspace(
        name, edition=edition, host=host, zenml_version=zenml_version, replicas=replicas, database=database,
        storage_size=storage_size, db_host=db_host, db_port=db_port, db_name=db_name, db_user=db_user,
        db_password_secret=db_password_secret, db_ca_certificate=ca_pem, db_verify=db_verify, secret_store=secret_store, vault_address=vault_address,
        vault_token_secret=vault_token_secret, pro_organization_id=pro_organization_id,
        pro_workspace_id=pro_workspace_id, enrollment_key_secret=enrollment_key_secret, runner=runner,
    )
    source = StackText(path)
    doc = read_rt(path, source)
    from ruamel.yaml.comments import CommentedSeq

    expected = _parsed_config(source.text, path) or {}
    expected[KEY] = [*(expected.get(KEY) or []), entry]
    text = append_item_lines(source, doc, entry)
    if text is None or _parsed_config(text, path) != expected:
        if doc["config"].get(KEY) is None:
            doc["config"][KEY] = CommentedSeq()
        doc["config"][KEY].append(_to_rt(entry))
        text = dump_rt(doc, source.indent)
    text = source.finish(text)
    after = validate_text(text, path, flags=ADD_FLAGS)
    if _parsed_config(text, path) != expected:  # defence in depth: the edit changes exactly one thing
        die(f"{path.name}: the edit would change more than the new workspace; nothing written (edit the file by hand)")
    tracker = plan_diff(before, after, stack_name)
    if not dry_run:
        write_stack(path, text)
    if not as_json:
        err(f"{'would add' if dry_run else 'added'} workspace {name} to {path.name} ({after.url_of(after.workspaces[-1])})")
    _show_diff(tracker, stack_name, as_json, {"workspace": name, "file": str(path), "written": not dry_run})


# Key paths `workspace add` can set -> the flag that sets them (named next to a validation problem).
ADD_FLAGS = {
    ".database.external.caCertificate": "--db-ca-file, or --no-db-verify to accept an unverified certificate",
    ".database.external.verifyServerCertificate": "--db-verify",
    ".database.external.host": "--db-host",
    ".database.external.database": "--db-name",
    ".database.external.username": "--db-user",
    ".database.external.password": "--db-password-secret",
    ".database.external.port": "--db-port",
    ".secretStore.vault.address": "--vault-address",
    ".secretStore.vault.token": "--vault-token-secret",
    ".host": "--host",
    ".zenmlVersion": "--zenml-version",
    ".database.inCluster.storageSize": "--storage-size",
}


def _read_pem(path: Path, flag: str) -> str:
    """The CA file's text (a certificate is public, so it may be written into the stack file), bounded and UTF-8."""
    from stack_config.yamlfile import StackFileError, read_text

    try:
        if path.stat().st_size > 256 * 1024:
            die(f"{flag}: {path} is larger than 256 KiB; a CA bundle is a few KiB")
        text = read_text(path)
    except FileNotFoundError:
        die(f"{flag}: {path} does not exist")
    except StackFileError as exc:
        die(f"{flag}: {exc.reason}")
    except OSError as exc:
        die(f"{flag}: {path} cannot be read: {exc.strerror or type(exc).__name__}")
    if "PRIVATE KEY" in text:
        die(f"{flag}: {path} holds a private key; give only the CA certificate (nothing was written or shown)")
    from stack_config.pem import check_certificates

    text = text.replace("\r\n", "\n").strip() + "\n"
    try:
        check_certificates(text)
    except ValueError as exc:
        die(f"{flag}: {path}: {exc}")
    return text


def _data_held(cfg, ws) -> list[str]:
    from stack_config.model import DatabaseMode, SecretStoreType

    held = []
    if ws.database.mode is DatabaseMode.in_cluster:
        held.append(f"in-cluster database (StatefulSet volume in namespace {cfg.namespace_of(ws)}): pipeline metadata")
    elif ws.database.mode is DatabaseMode.managed:
        held.append(f"managed database ({'RDS' if cfg.target.value == 'aws' else 'Cloud SQL'}, {ws.database.managed.instance}): pipeline metadata")
    else:
        ext = ws.database.external
        held.append(f"external database {ext.host}/{ext.database}: pipeline metadata (not deleted by this stack)")
    if ws.secret_store.type is SecretStoreType.sql:
        held.append("sql secret store: secrets in that database, readable only with the generated encryption key")
    elif ws.secret_store.type.value in ("aws", "gcp"):
        held.append(f"{ws.secret_store.type.value} secrets store: the secrets ZenML wrote stay in the cloud store (not created by this stack)")
    if cfg.target.value != "kubernetes" and cfg.artifact_mode_of(ws) == "bucket":
        held.append("artifact store bucket: pipeline artifacts")
    return held


@app.command("remove")
def remove(
    name: str = typer.Argument(..., help="Workspace to remove."),
    stack: options.Stack = None,
    config_file: options.ConfigFile = None,
    force: bool = typer.Option(False, "--force", help="Remove even though the workspace holds data."),
    dry_run: options.DryRun = False,
    as_json: options.Json = False,
) -> None:
    """Remove a workspace from the stack file; needs --force when it holds data, and says what is retained."""
    stack_name, path, before = _load_target(stack, config_file)
    names = [ws.name for ws in before.workspaces]
    if name not in names:
        die(f"workspaces: no workspace named {name!r} in {path.name} (workspaces: {', '.join(names) or 'none'})")
    idx = names.index(name)
    ws = before.workspaces[idx]
    source = StackText(path)
    doc = read_rt(path, source)
    expected = _parsed_config(source.text, path) or {}
    expected[KEY] = [w for i, w in enumerate(expected.get(KEY) or []) if i != idx]
    text = remove_item_lines(source, doc, idx)
    if text is None or _parsed_config(text, path) != expected:
        del doc["config"][KEY][idx]
        text = dump_rt(doc, source.indent)
    text = source.finish(text)
    after = validate_text(text, path)
    if _parsed_config(text, path) != expected:
        die(f"{path.name}: the edit would change more than the removed workspace; nothing written (edit the file by hand)")
    tracker = plan_diff(before, after, stack_name)
    held = _data_held(before, ws)
    removed = tracker.planned()
    retained = [c for c in removed if c.op == "delete" and c.retain_on_delete]
    protected = [c for c in removed if c.op == "delete" and c.protect]
    from cli_app.events import short_type

    notes = [f"workspaces[{idx}] ({name}) holds data:"] + [f"  - {h}" for h in held]
    if retained:
        notes.append(f"profile {before.profile.value}: retained in the cluster/account after `up` (delete them by hand when no longer needed):")
        notes += [f"  - {short_type(c.type)} {c.name}" for c in retained]
    lost = [c for c in removed if c.op == "delete" and c.stateful and not c.retain_on_delete]
    if not retained:
        notes.append(f"profile {before.profile.value}: nothing is retained; `up` deletes these stateful resources:")
    elif lost:
        notes.append("deleted by `up`:")
    notes += [f"  - {short_type(c.type)} {c.name}" for c in lost]
    if protected:
        notes.append("protected: `up` stops at these until you run `pulumi state unprotect -s "
                     f"{stack_name} <urn>` for each (deliberately, once the data is backed up):")
        notes += [f"  - {c.urn}" for c in protected]
    if not force:
        die("\n".join(notes + [f"refusing to remove {name!r} without --force; nothing written"]))
    if not dry_run:
        write_stack(path, text)
    if not as_json:
        err("\n".join(notes))
        err(f"{'would remove' if dry_run else 'removed'} workspace {name} from {path.name}")
    _show_diff(tracker, stack_name, as_json, {
        "workspace": name, "file": str(path), "written": not dry_run, "dataHeld": held,
        "retained": [c.urn for c in retained], "protected": [c.urn for c in protected],
    })


@app.command("list")
def list_(stack: options.Stack = None, config_file: options.ConfigFile = None, as_json: options.Json = False) -> None:
    """List the stack's workspaces: edition, URL, namespace, database, secret store, runner."""
    _, _, cfg = _load_target(stack, config_file)
    rows = []
    for ws in cfg.workspaces:
        rows.append({
            "name": ws.name,
            "edition": cfg.edition_of(ws).value,
            "version": cfg.version_of(ws),
            "url": cfg.url_of(ws),
            "namespace": cfg.namespace_of(ws),
            "database": ws.database.mode.value,
            "secretStore": ws.secret_store.type.value,
            "runnerNamespace": cfg.runner_namespace_of(ws) if cfg.runner_enabled(ws) else None,
        })
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("no workspaces")
        return
    headers = list(rows[0])
    typer.echo(plain_table(headers, [[r[h] if r[h] is not None else "-" for h in headers] for r in rows]))
