"""When `up` fails at a Kubernetes Job (the workspace's migration Job above all), say why in the Job's own words.

The engine reports only that the Job failed ("reached the specified backoff limit"); the reason (a migration
error, a database that refused a statement) is in the log of the Job's pod. After a failed `up` this module lists
the failed Jobs in the stack's workspace namespaces, keeps those the engine's error names (all of them when it
names none), and prints the tail of each one's newest pod log, read through the Kubernetes API with bounded size
(`tailLines`, `limitBytes`), per-line length and time. Nothing is masked: the Jobs this stack runs log no secret
(the migration Job gets its credentials from Secrets through the environment, which ZenML does not log; the
real-node upgrade test checks the excerpt against the generated passwords and keys).

Reading the log must never hide the engine's error: every problem here becomes one line of the excerpt.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Optional, Protocol
from urllib.parse import quote

TAIL_LINES = 40  # lines asked from the API per pod
LIMIT_BYTES = 16384  # bytes asked from the API per pod (the API cuts the tail at this size)
LINE_CHARS = 400  # a longer line (a traceback's SQL statement) is cut
MAX_JOBS = 3
API_TIMEOUT = 20.0  # seconds per API request
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
JOB_TYPE = "kubernetes:batch/v1:Job"


class ApiError(Exception):
    pass


class RawApi(Protocol):
    def get(self, path: str) -> str:
        """The body of GET `path` on the API server (raises ApiError)."""


class KubectlRaw:
    """GET requests to the API server through `kubectl get --raw` with the stack's kubeconfig and context."""

    def __init__(self, exe: str, kubeconfig: Path, context: Optional[str] = None, timeout: float = API_TIMEOUT):
        self.base = [exe, f"--kubeconfig={kubeconfig}", *([f"--context={context}"] if context else [])]
        self.timeout = timeout

    def get(self, path: str) -> str:
        try:
            proc = subprocess.run([*self.base, "get", "--raw", path], capture_output=True, text=True,
                                  timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise ApiError(f"the API server did not answer within {self.timeout:.0f}s") from None
        except OSError as exc:
            raise ApiError(f"cannot run kubectl: {exc.strerror or type(exc).__name__}") from None
        if proc.returncode != 0:
            raise ApiError((proc.stderr.strip().splitlines() or [f"kubectl exited {proc.returncode}"])[-1][:300])
        return proc.stdout


def _json(api: RawApi, path: str) -> dict[str, Any]:
    try:
        return json.loads(api.get(path))
    except ValueError:
        raise ApiError(f"GET {path.split('?', 1)[0]}: not JSON") from None


def _failed(job: dict[str, Any]) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Failed" and c.get("status") == "True" for c in conditions)


def failed_jobs(api: RawApi, namespaces: Iterable[str], error_text: str) -> list[tuple[str, str]]:
    """(namespace, name) of the failed Jobs in `namespaces`; only those `error_text` names when it names any."""
    found: list[tuple[str, str, str]] = []
    for ns in dict.fromkeys(namespaces):
        try:
            items = _json(api, f"/apis/batch/v1/namespaces/{quote(ns)}/jobs").get("items") or []
        except ApiError:
            continue  # a namespace not created yet, or not readable: no Job of ours failed there
        for job in items:
            md = job.get("metadata") or {}
            if md.get("name") and _failed(job):
                found.append((md.get("creationTimestamp") or "", ns, md["name"]))
    found.sort(reverse=True)  # newest first
    named = [(ns, name) for _, ns, name in found if name in error_text]
    return (named or [(ns, name) for _, ns, name in found])[:MAX_JOBS]


def _clean(line: str) -> str:
    line = _ANSI.sub("", line).rstrip()
    return line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + " [...]"


def job_log_tail(api: RawApi, namespace: str, job: str) -> list[str]:
    """The last lines of the newest pod of `job` (bounded by TAIL_LINES and LIMIT_BYTES)."""
    selector = quote(f"job-name={job}")
    pods = _json(api, f"/api/v1/namespaces/{quote(namespace)}/pods?labelSelector={selector}").get("items") or []
    if not pods:
        return ["(the Job has no pod left to read a log from)"]
    pod = max(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")
    name = pod["metadata"]["name"]
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name")]
    query = f"tailLines={TAIL_LINES}&limitBytes={LIMIT_BYTES}"
    if containers:
        query += f"&container={quote(containers[0])}"
    text = api.get(f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}/log?{query}")
    lines = [_clean(ln) for ln in text.splitlines() if ln.strip()]
    return lines[-TAIL_LINES:] or ["(the Job's pod wrote no log)"]


def excerpts(api: RawApi, namespaces: Iterable[str], error_text: str) -> list[str]:
    """Lines to print after the engine's error: a header and the indented log tail for each failed Job."""
    try:
        jobs = failed_jobs(api, namespaces, error_text)
    except ApiError as exc:
        return [f"could not list the failed Jobs: {exc}"]
    out: list[str] = []
    for ns, name in jobs:
        try:
            lines = job_log_tail(api, ns, name)
        except ApiError as exc:
            out.append(f"could not read the log of Job {ns}/{name}: {exc} (`kubectl -n {ns} logs job/{name}`)")
            continue
        out.append(f"log of Job {ns}/{name} (last {len(lines)} lines; `kubectl -n {ns} logs job/{name}` for all):")
        out += [f"  | {ln}" for ln in lines]
    return out


def involves_job(failed_urns: Iterable[str], error_lines: Iterable[str]) -> bool:
    """Whether the failed operation failed at a Job (a failed Job resource, or an error about one)."""
    return any(f"::{JOB_TYPE}::" in u or f"${JOB_TYPE}::" in u for u in failed_urns) or any(
        JOB_TYPE in ln for ln in error_lines)


def for_stack(cfg: Any, error_text: str, environ: Optional[Mapping[str, str]] = None,
              api: Optional[RawApi] = None) -> list[str]:
    """The excerpt for a failed `up` of the stack `cfg`: never raises, never exits."""
    environ = os.environ if environ is None else environ
    if api is None:
        try:
            from cli_app.backups import find_kubectl
            from cli_app.doctor import kubeconfig_path

            path, _ = kubeconfig_path(cfg, environ)
            api = KubectlRaw(find_kubectl(), path, cfg.kubernetes.context)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - typer.Exit from find_kubectl included
            return [f"could not read the failed Job's log: no kubectl or kubeconfig ({type(exc).__name__})"]
    namespaces = [cfg.namespace_of(ws) for ws in cfg.workspaces]
    return excerpts(api, namespaces, error_text)
