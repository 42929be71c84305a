"""Engine commands: preview, up, destroy, refresh, drift, outputs (Pulumi Automation API over this project).

Config is validated before the engine starts (exit 2 with key paths). Progress goes to stderr, `--json` to stdout.
Exit codes: 0 success, 1 operation failed, 2 invalid input/config, 3 changes found where none were expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import typer

from cli_app.common import (
    EXIT_CHANGES,
    EXIT_FAILED,
    EXIT_INVALID,
    JsonOpt,
    StackOpt,
    die,
    emit_json,
    err,
    is_interactive,
    stack_name_only,
)

BackendOpt = typer.Option(
    None, "--backend", help="State backend URL (default: PULUMI_BACKEND_URL, else file://<project>/.pulumi-state)."
)
YesOpt = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (required when stdin is not a terminal).")
ParallelOpt = typer.Option(None, "--parallel", "-p", min=1, help="Resource operations in parallel (engine default: 4 x CPUs).")
PolicyOpt = typer.Option(None, "--policy-pack", help="Run a policy pack directory (repeatable).", exists=False)
AllowDowngradeOpt = typer.Option(
    False, "--allow-downgrade",
    help="Deploy a zenmlVersion lower than the deployed one (only to restore a backup taken with it; docs/operations.md).",
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
            from cli_app.engine import classify_error, error_lines, open_stack

            from pulumi.automation.errors import StackNotFoundError

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
    from cli_app.downgrade import deployed_versions, downgrade_problems
    from cli_app.engine import classify_error, error_lines

    try:
        raw = session.stack.outputs()
    except Exception as exc:
        lines = error_lines(exc)
        code, hint = classify_error("\n".join(lines))
        die("\n".join([f"cannot read the deployed versions of {session.name}:"] + [f"  {ln}" for ln in lines]
                       + ([hint] if hint else [])), code)
    problems = downgrade_problems(session.cfg, deployed_versions(raw or {}), allow)
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
    stack: Optional[str] = StackOpt,
    backend: Optional[str] = BackendOpt,
    summary_md: Optional[Path] = typer.Option(None, "--summary-md", help="Write a Markdown change summary (for PR comments).", dir_okay=False),
    expect_no_changes: bool = typer.Option(False, "--expect-no-changes", help="Exit 3 if anything would change."),
    policy_pack: Optional[list[Path]] = PolicyOpt,
    parallel: Optional[int] = ParallelOpt,
    allow_downgrade: bool = AllowDowngradeOpt,
    as_json: bool = JsonOpt,
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
    stack: Optional[str] = StackOpt,
    backend: Optional[str] = BackendOpt,
    yes: bool = YesOpt,
    policy_pack: Optional[list[Path]] = PolicyOpt,
    parallel: Optional[int] = ParallelOpt,
    allow_downgrade: bool = AllowDowngradeOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Deploy or update the stack (refuses a lower zenmlVersion than the deployed one unless allowed)."""
    packs = _policy_packs(policy_pack)
    s = Session(stack, backend)
    refuse_downgrade(s, allow_downgrade)
    _confirm(s, f"apply these changes to {s.name}?", yes,
             lambda: execute(s, "preview", s.stack.preview, False, policy_packs=packs or None, parallel=parallel))
    tracker, result, code = execute(s, "up", s.stack.up, as_json, policy_packs=packs or None, parallel=parallel)
    outputs = _masked(result.outputs) if result is not None else {}
    if not as_json and code == 0:
        for step in outputs.get("nextSteps") or []:
            err(f"next: {step}")
    _finish(s, tracker, code, as_json, extra={"outputs": outputs})


def destroy(
    stack: Optional[str] = StackOpt,
    backend: Optional[str] = BackendOpt,
    yes: bool = YesOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Delete every resource of the stack (production stacks keep protected data: see the message)."""
    s = Session(stack, backend, create=False)
    if s.cfg.defaults.protect_data:
        err(
            f"{s.name} uses the production profile: databases, volumes, namespaces and keys are protected, so destroy "
            "stops at them; retained resources stay in the cluster. Unprotect deliberately with "
            f"`pulumi state unprotect -s {s.name} <urn>` first."
        )
    _confirm(s, f"destroy every resource of {s.name}?", yes,
             lambda: execute(s, "preview", s.stack.destroy, False, preview_only=True))
    tracker, _, code = execute(s, "destroy", s.stack.destroy, as_json)
    _finish(s, tracker, code, as_json)


def refresh(
    stack: Optional[str] = StackOpt,
    backend: Optional[str] = BackendOpt,
    yes: bool = YesOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Read the real state of every resource into the stack's state (changes no resource)."""
    s = Session(stack, backend, create=False)
    _confirm(s, f"write the refreshed state of {s.name}?", yes, lambda: execute(s, "drift", s.stack.preview_refresh, False))
    tracker, _, code = execute(s, "refresh", s.stack.refresh, as_json)
    _finish(s, tracker, code, as_json)


def drift(
    stack: Optional[str] = StackOpt,
    backend: Optional[str] = BackendOpt,
    summary_md: Optional[Path] = typer.Option(None, "--summary-md", help="Write a Markdown drift summary.", dir_okay=False),
    as_json: bool = JsonOpt,
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
    stack: Optional[str] = StackOpt,
    backend: Optional[str] = BackendOpt,
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print secret outputs in clear."),
    as_json: bool = JsonOpt,
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
