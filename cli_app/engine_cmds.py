"""Engine commands: preview, up, destroy, refresh, drift, outputs (Pulumi Automation API over this project).

Config is validated before the engine starts (exit 2 with key paths). Progress goes to stderr, `--json` to stdout.
Exit codes: 0 success, 1 operation failed, 2 invalid input/config, 3 changes found where none were expected,
4 the stack is locked by another operation (cli_app/recovery.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from cli_app import options
from cli_app.common import (
    EXIT_CHANGES,
    EXIT_FAILED,
    EXIT_INVALID,
    die,
    emit_json,
    err,
    is_interactive,
    stack_name_only,
)


class Session:
    """Everything an engine command needs, resolved (and validated) before the engine starts."""

    def __init__(self, stack: Optional[str], backend: Optional[str], create: bool = True):
        from cli_app.engine import backend_url, engine_env, require_pulumi
        from cli_app.stack_files import load

        self.name = stack_name_only(stack)
        self.name, self.path, self.cfg = load(self.name, None)
        self.cli = require_pulumi()
        self.backend, self.backend_source = backend_url(backend)
        self.env = engine_env(self.cli, self.backend, self.path)
        self._stack = None
        self.create = create

    @property
    def stack(self):
        if self._stack is None:
            from pulumi.automation.errors import StackNotFoundError

            from cli_app.engine import classify_error, error_lines, open_stack

            try:
                self._stack = open_stack(self.name, self.cli, self.env, create=self.create)
            except StackNotFoundError:
                die(f"stack {self.name} has no state in {self.backend}: deploy it first (`zenml-platform up -s {self.name}`), "
                    "or pass the --backend where it lives")
            except Exception as exc:  # CommandError and friends: login, lock, passphrase
                lines = error_lines(exc)
                code, hint = classify_error("\n".join(lines))
                die("\n".join([f"cannot open stack {self.name} on {self.backend}:"] + [f"  {ln}" for ln in lines] + ([hint] if hint else [])), code)
        return self._stack


def _policy_packs(packs: Optional[list[Path]]) -> list[str]:
    out = []
    for p in packs or []:
        if not p.is_dir():
            die(f"--policy-pack: {p} is not a directory")
        out.append(str(p.resolve()))
    return out


def refuse_downgrade(session: Session, allow: bool) -> None:
    """Exit 2 before the engine runs when a workspace would go to a lower zenmlVersion than the one deployed."""
    from cli_app.downgrade import downgrade_problems, running_versions
    from cli_app.recovery import export

    problems = downgrade_problems(session.cfg, running_versions(export(session, "the deployed versions")), allow)
    if problems:
        die("\n".join([f"{session.name}: refusing a downgrade; nothing changed:"] + [f"  {p}" for p in problems]))


def execute(session: Session, operation: str, call: Callable[..., Any], as_json: bool, **kwargs: Any):
    """Run one engine operation with live progress; returns (tracker, result or None, exit code)."""
    from pulumi.automation import errors

    from cli_app.engine import classify_error, error_lines
    from cli_app.events import Tracker
    from cli_app.progress import Progress

    tracker = Tracker(operation)
    result, code = None, 0
    with Progress(tracker) as progress:
        try:
            result = call(on_event=progress, color="never", suppress_progress=True, **kwargs)
        except errors.CommandError as exc:
            raw = error_lines(exc)
            # The engine's error diagnostics are the clean version of what the CLI output repeats.
            lines = list(dict.fromkeys(tracker.errors or raw))
            code, hint = classify_error("\n".join(lines + raw))
            from cli_app.recovery import is_lock_error, lock_message, locks_from_error

            text = "\n".join(lines + raw)
            if is_lock_error(text):  # the engine refused: another operation took the lock after our own check
                err(lock_message(session.name, session.backend, locks_from_error(str(exc) + "\n" + text)))
                return tracker, None, code
            err(f"{operation} {session.name} failed:")
            for line in lines[-20:]:
                err(f"  {line}")
            if hint:
                err(hint)
    return tracker, result, code


def _summary_path(summary_md: Optional[Path]) -> Optional[Path]:
    """--summary-md checked before the engine starts: a bad path is exit 2, not a traceback after the run."""
    if summary_md is None:
        return None
    from cli_app.common import output_file

    return output_file(str(summary_md), "--summary-md")


def _finish(session: Session, tracker, code: int, as_json: bool, summary_md: Optional[Path] = None, extra: Optional[dict] = None,
            title: Optional[str] = None) -> None:
    from cli_app.summary import render_markdown, render_terminal

    if summary_md is not None:
        from cli_app.common import write_text

        try:
            summary_md.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            die(f"--summary-md: cannot create {summary_md.parent}: {exc.strerror or type(exc).__name__}")
        write_text(summary_md, render_markdown(tracker, session.name, title=title, failed=code == EXIT_FAILED), "summary")
    if as_json:
        emit_json({"stack": session.name, "backend": session.backend, "exitCode": code, **tracker.as_dict(), **(extra or {})})
    elif tracker.changes or code == 0:  # after a failure with no step, a "no changes" line would mislead
        for line in render_terminal(tracker, session.name):
            err(line)
        if summary_md is not None:
            err(f"wrote {summary_md}")
    if code:
        raise typer.Exit(code)


def _confirm(session: Session, question: str, yes: bool, preview: Callable[[], Any]) -> None:
    if yes:
        return
    if not is_interactive():
        die(f"{question.rstrip('?')}: not confirmed; pass --yes to run without a terminal")
    tracker, _, code = preview()
    from cli_app.summary import render_terminal

    for line in render_terminal(tracker, session.name):
        err(line)
    if code:
        raise typer.Exit(code)
    if not tracker.has_changes() and "destroy" not in question:
        err("no changes")
        raise typer.Exit(0)
    if not typer.confirm(question, default=False, err=True):
        err("cancelled; nothing changed")
        raise typer.Exit(EXIT_FAILED)


def preview(
    stack: options.Stack = None,
    backend: options.Backend = None,
    summary_md: options.SummaryMd = None,
    expect_no_changes: bool = typer.Option(False, "--expect-no-changes", help="Exit 3 if anything would change."),
    policy_pack: options.PolicyPack = None,
    parallel: options.Parallel = None,
    allow_downgrade: options.AllowDowngrade = False,
    as_json: options.Json = False,
) -> None:
    """Show what `up` would change (creates, updates, replaces, deletes; stateful ones flagged)."""
    summary_md = _summary_path(summary_md)
    packs = _policy_packs(policy_pack)
    s = Session(stack, backend)
    refuse_downgrade(s, allow_downgrade)
    tracker, _, code = execute(s, "preview", s.stack.preview, as_json, policy_packs=packs or None, parallel=parallel)
    if code == 0 and expect_no_changes and tracker.has_changes():
        code = EXIT_CHANGES
        err("changes found where none were expected (--expect-no-changes)")
    _finish(s, tracker, code, as_json, summary_md)


def up(
    stack: options.Stack = None,
    backend: options.Backend = None,
    yes: options.Yes = False,
    policy_pack: options.PolicyPack = None,
    parallel: options.Parallel = None,
    allow_downgrade: options.AllowDowngrade = False,
    as_json: options.Json = False,
) -> None:
    """Deploy or update the stack (refuses a lower zenmlVersion than the deployed one unless allowed)."""
    from cli_app.recovery import adopt_retained, refuse_if_locked, resolve_pending

    packs = _policy_packs(policy_pack)
    s = Session(stack, backend)
    refuse_if_locked(s.name, s.backend)
    refuse_downgrade(s, allow_downgrade)
    if not yes and not is_interactive():
        die(f"apply these changes to {s.name}: not confirmed; pass --yes to run without a terminal")
    # Before the preview too: a pending create would be planned as a second create of an object that exists.
    resolve_pending(s, ask=not yes)
    # Also before the preview: without the retained values the plan would generate new ones (docs/operations.md).
    adopt_retained(s, ask=not yes)
    _confirm(s, f"apply these changes to {s.name}?", yes,
             lambda: execute(s, "preview", s.stack.preview, False, policy_packs=packs or None, parallel=parallel))
    tracker, result, code = execute(s, "up", s.stack.up, as_json, policy_packs=packs or None, parallel=parallel)
    job_log = _failed_job_log(s, tracker) if code == EXIT_FAILED else []
    outputs = _masked(result.outputs) if result is not None else {}
    if not as_json and code == 0:
        for step in outputs.get("nextSteps") or []:
            err(f"next: {step}")
    _finish(s, tracker, code, as_json, extra={"outputs": outputs, **({"jobLog": job_log} if job_log else {})})


def _failed_job_log(session: Session, tracker) -> list[str]:
    """After an `up` that failed at a Job (a migration): the tail of the Job's pod log, printed on stderr."""
    from cli_app import job_logs

    if not job_logs.involves_job(tracker.failed, tracker.errors):
        return []
    lines = job_logs.for_stack(session.cfg, "\n".join(tracker.errors))
    for line in lines:
        err(line)
    return lines


def destroy(
    stack: options.Stack = None,
    backend: options.Backend = None,
    yes: options.Yes = False,
    keep_data: bool = typer.Option(
        False, "--keep-data",
        help="Destroy everything but the protected resources (data, credentials, keys) and what they need; a later "
        "`up` re-attaches to them.",
    ),
    as_json: options.Json = False,
) -> None:
    """Delete every resource of the stack; refused while protected resources (production data) are in the state."""
    from cli_app.recovery import export, protected_message, protected_resources, refuse_if_locked, short

    s = Session(stack, backend, create=False)
    refuse_if_locked(s.name, s.backend)
    protected = protected_resources(export(s))
    if protected and not keep_data:
        die(protected_message(s.name, protected))
    if keep_data:
        err(f"{s.name}: keeping {len(protected)} protected resource(s) and what they depend on (--keep-data)")
    kwargs = {"exclude_protected": True} if keep_data else {}
    _confirm(s, f"destroy every {'unprotected ' if keep_data else ''}resource of {s.name}?", yes,
             lambda: execute(s, "preview", s.stack.destroy, False, preview_only=True, **kwargs))
    tracker, _, code = execute(s, "destroy", s.stack.destroy, as_json, **kwargs)
    retained = [c for c in tracker.changes.values() if c.op == "delete" and c.retain_on_delete and c.status == "done"]
    if retained and not as_json:
        err(f"{s.name}: {len(retained)} resource(s) left the state but stay in the cluster (retainOnDelete):")
        for c in retained:
            err(f"  {short(c.type, c.urn)}")
    _finish(s, tracker, code, as_json, extra={"keptProtected": [p.urn for p in protected] if keep_data else []})


def refresh(
    stack: options.Stack = None,
    backend: options.Backend = None,
    yes: options.Yes = False,
    as_json: options.Json = False,
) -> None:
    """Read the real state of every resource into the stack's state (changes no resource)."""
    from cli_app.recovery import refuse_if_locked

    s = Session(stack, backend, create=False)
    refuse_if_locked(s.name, s.backend)
    _confirm(s, f"write the refreshed state of {s.name}?", yes, lambda: execute(s, "drift", s.stack.preview_refresh, False))
    tracker, _, code = execute(s, "refresh", s.stack.refresh, as_json)
    _finish(s, tracker, code, as_json)


def drift(
    stack: options.Stack = None,
    backend: options.Backend = None,
    summary_md: options.SummaryMd = None,
    as_json: options.Json = False,
) -> None:
    """Compare the real resources with the state without writing anything; exit 3 when they drifted."""
    summary_md = _summary_path(summary_md)
    s = Session(stack, backend, create=False)
    tracker, _, code = execute(s, "drift", s.stack.preview_refresh, as_json)
    if code == 0 and tracker.has_changes():
        code = EXIT_CHANGES
        err(f"drift: {s.name} differs from its state (`zenml-platform refresh -s {s.name}` accepts it, `up` reverts it)")
    _finish(s, tracker, code, as_json, summary_md, title="zenml-platform drift")


def outputs(
    name: Optional[str] = typer.Argument(None, help="One output (e.g. caBundle); default: all."),
    stack: options.Stack = None,
    backend: options.Backend = None,
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print secret outputs in clear."),
    as_json: options.Json = False,
) -> None:
    """Print the stack's outputs (secrets masked unless --show-secrets)."""
    from cli_app.engine import classify_error, error_lines

    s = Session(stack, backend, create=False)
    try:
        raw = s.stack.outputs()
    except Exception as exc:
        lines = error_lines(exc)
        code, hint = classify_error("\n".join(lines))
        die("\n".join(lines + ([hint] if hint else [])), code)
    values = {k: v.value for k, v in raw.items()} if show_secrets else _masked(raw)
    if name is not None:
        if name not in values:
            die(f"{name}: no such output (outputs: {', '.join(sorted(values)) or 'none; run up first'})")
        value = values[name]
        if as_json:
            emit_json(value)
        else:
            typer.echo(value if isinstance(value, str) else _dump(value))
        return
    if as_json:
        emit_json(values)
    else:
        if not values:
            err(f"{s.name} has no outputs yet (`zenml-platform up -s {s.name}` sets them)")
        for key in sorted(values):
            value = values[key]
            typer.echo(f"{key}: {value if isinstance(value, str) else _dump(value)}")


def _masked(raw: Any) -> dict[str, Any]:
    return {k: ("[secret]" if getattr(v, "secret", False) else getattr(v, "value", v)) for k, v in (raw or {}).items()}


def _dump(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, default=str)


__all__ = ["preview", "up", "destroy", "refresh", "drift", "outputs", "EXIT_INVALID"]
