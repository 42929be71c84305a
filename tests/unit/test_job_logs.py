"""The Job-log excerpt a failed `up` prints (cli_app/job_logs.py), under a fake Kubernetes API."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from cli_app import job_logs
from cli_app.job_logs import ApiError

NS = "zenml-default"
MIGRATION_URN = ("urn:pulumi:local::zenml-platform::zenml-platform:platform:Workspace$zenml-platform:kubernetes:"
                 "WorkspaceServer$kubernetes:batch/v1:Job::default-server-migrate")


def job(name: str, failed: bool, created: str = "2026-12-01T10:00:00Z") -> dict:
    conditions = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}] if failed else [
        {"type": "Complete", "status": "True"}]
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": {"conditions": conditions}}


def pod(name: str, created: str, container: str = "migrate") -> dict:
    return {"metadata": {"name": name, "creationTimestamp": created}, "spec": {"containers": [{"name": container}]}}


class FakeApi:
    """Answers GET paths like the API server; records every path asked."""

    def __init__(self, jobs: dict[str, list[dict]], pods: dict[str, list[dict]], logs: dict[str, str],
                 broken: tuple[str, ...] = ()):
        self.jobs, self.pods, self.logs, self.broken = jobs, pods, logs, broken
        self.calls: list[str] = []

    def get(self, path: str) -> str:
        self.calls.append(path)
        url = urlparse(path)
        parts = url.path.strip("/").split("/")
        if any(b in path for b in self.broken):
            raise ApiError("forbidden: the fake says no")
        if url.path.endswith("/jobs"):
            ns = parts[4]
            if ns not in self.jobs:
                raise ApiError(f'namespaces "{ns}" not found')
            return json.dumps({"items": self.jobs[ns]})
        if url.path.endswith("/pods"):
            selector = unquote(parse_qs(url.query)["labelSelector"][0])
            return json.dumps({"items": self.pods.get(selector.split("=", 1)[1], [])})
        if url.path.endswith("/log"):
            return self.logs[parts[5]]
        raise AssertionError(f"unexpected path {path}")


LOG = "\n".join([f"line {i}" for i in range(100)] + [
    "Backing up the database before migration to `memory`.",
    "\x1b[31mRuntimeError: The database migration failed: (1142, \"ALTER command denied to user 'zenml'\")\x1b[0m",
    "x" * 1000,
])


def api_with_failed_migration(**kw) -> FakeApi:
    return FakeApi(
        jobs={NS: [job("zenml-migrate-0-97-0-aaaaaa", failed=False), job("zenml-migrate-0-98-0-bbbbbb", failed=True)]},
        pods={"zenml-migrate-0-98-0-bbbbbb": [pod("zenml-migrate-0-98-0-bbbbbb-old", "2026-12-01T10:00:01Z"),
                                              pod("zenml-migrate-0-98-0-bbbbbb-new", "2026-12-01T10:05:00Z")]},
        logs={"zenml-migrate-0-98-0-bbbbbb-new": LOG, "zenml-migrate-0-98-0-bbbbbb-old": "old pod\n"},
        **kw,
    )


def test_the_failed_jobs_newest_pod_log_tail_is_shown_bounded_and_clean():
    api = api_with_failed_migration()
    lines = job_logs.excerpts(api, [NS, "zenml-second"], "Job 'zenml-migrate-0-98-0-bbbbbb' failed")
    assert lines[0].startswith(f"log of Job {NS}/zenml-migrate-0-98-0-bbbbbb (last {job_logs.TAIL_LINES} lines;")
    body = lines[1:]
    assert len(body) == job_logs.TAIL_LINES and all(ln.startswith("  | ") for ln in body)
    assert any("ALTER command denied" in ln for ln in body)
    assert not any("\x1b" in ln for ln in body)  # colour codes stripped
    assert max(len(ln) for ln in body) <= job_logs.LINE_CHARS + len("  | ") + len(" [...]")
    assert "old pod" not in "\n".join(body)  # the newest pod's log, not an earlier attempt's
    [log_call] = [c for c in api.calls if c.split("?", 1)[0].endswith("/log")]
    query = parse_qs(urlparse(log_call).query)
    assert query["tailLines"] == [str(job_logs.TAIL_LINES)] and query["limitBytes"] == [str(job_logs.LIMIT_BYTES)]
    assert query["container"] == ["migrate"]
    # A namespace that does not exist (yet) is skipped, not an error; the succeeded Job is not read.
    assert not any("0-97-0" in c for c in api.calls if "/pods" in c)


def test_jobs_the_error_names_are_preferred_else_every_failed_one():
    api = FakeApi(jobs={NS: [job("a-failed", True, "2026-12-01T10:00:00Z"), job("b-failed", True, "2026-12-01T11:00:00Z")]},
                  pods={}, logs={})
    assert job_logs.failed_jobs(api, [NS], "error: Job a-failed failed") == [(NS, "a-failed")]
    assert job_logs.failed_jobs(api, [NS], "some other error") == [(NS, "b-failed"), (NS, "a-failed")]  # newest first
    assert job_logs.failed_jobs(FakeApi({NS: [job("ok", False)]}, {}, {}), [NS], "x") == []


def test_api_problems_become_a_line_of_the_excerpt_never_an_exception():
    broken_log = api_with_failed_migration(broken=("/log",))
    lines = job_logs.excerpts(broken_log, [NS], "")
    assert lines == [f"could not read the log of Job {NS}/zenml-migrate-0-98-0-bbbbbb: forbidden: the fake says no "
                     f"(`kubectl -n {NS} logs job/zenml-migrate-0-98-0-bbbbbb`)"]
    no_pod = FakeApi(jobs={NS: [job("j", True)]}, pods={}, logs={})
    assert job_logs.excerpts(no_pod, [NS], "")[1:] == ["  | (the Job has no pod left to read a log from)"]

    class NotJson(FakeApi):
        def get(self, path: str) -> str:
            return "<html>proxy error</html>"

    assert job_logs.failed_jobs(NotJson({}, {}, {}), [NS], "") == []


def test_only_a_failure_at_a_job_asks_for_a_log():
    assert job_logs.involves_job([MIGRATION_URN], [])
    assert job_logs.involves_job([], ["kubernetes:batch/v1:Job (zenml-default/zenml-migrate-0-98-0-bb) failed"])
    assert not job_logs.involves_job(["urn:pulumi:local::p::kubernetes:apps/v1:Deployment::d"], ["timeout"])


def test_for_stack_reads_the_workspace_namespaces_and_survives_a_missing_kubectl(monkeypatch):
    cfg = SimpleNamespace(workspaces=[SimpleNamespace(name="default"), SimpleNamespace(name="second")],
                          namespace_of=lambda ws: f"zenml-{ws.name}", kubernetes=SimpleNamespace(context=None, kubeconfig=None))
    api = api_with_failed_migration()
    lines = job_logs.for_stack(cfg, "", api=api)
    assert lines and lines[0].startswith(f"log of Job {NS}/")
    assert {c.split("/")[5] for c in api.calls if c.endswith("/jobs")} == {"zenml-default", "zenml-second"}

    import cli_app.backups

    def no_kubectl():
        raise SystemExit(2)

    monkeypatch.setattr(cli_app.backups, "find_kubectl", no_kubectl)
    assert job_logs.for_stack(cfg, "", environ={}) == [
        "could not read the failed Job's log: no kubectl or kubeconfig (SystemExit)"]


def test_kubectl_raw_bounds_time_and_reports_failures(tmp_path):
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\nfor a; do last=$a; done\ncase $last in\n  /ok) echo '{\"items\": []}';;\n"
                    "  /slow) sleep 5;;\n  *) echo 'Error from server (Forbidden): pods is forbidden' >&2; exit 1;;\nesac\n")
    fake.chmod(0o755)
    api = job_logs.KubectlRaw(str(fake), tmp_path / "kubeconfig", "ctx", timeout=1)
    assert json.loads(api.get("/ok")) == {"items": []}
    with pytest.raises(ApiError, match="Forbidden"):
        api.get("/nope")
    with pytest.raises(ApiError, match="did not answer within 1s"):
        api.get("/slow")
    with pytest.raises(ApiError, match="cannot run kubectl"):
        job_logs.KubectlRaw(str(tmp_path / "missing"), tmp_path / "kubeconfig").get("/ok")


def test_a_failed_up_at_a_job_prints_the_excerpt(monkeypatch, capsys):
    from cli_app import engine_cmds

    seen = {}

    def fake_for_stack(cfg, error_text):
        seen["text"] = error_text
        return ["log of Job zenml-default/j (last 1 lines; ...):", "  | ALTER command denied"]

    monkeypatch.setattr(job_logs, "for_stack", fake_for_stack)
    tracker = SimpleNamespace(failed=[MIGRATION_URN], errors=["Job zenml-default/j failed"])
    lines = engine_cmds._failed_job_log(SimpleNamespace(cfg=object()), tracker)
    assert lines[-1] == "  | ALTER command denied" and seen["text"] == "Job zenml-default/j failed"
    assert "ALTER command denied" in capsys.readouterr().err
    # A failure elsewhere (a Deployment's rollout) asks the cluster for nothing.
    seen.clear()
    other = SimpleNamespace(failed=["urn:pulumi:local::p::kubernetes:apps/v1:Deployment::d"], errors=["timeout"])
    assert engine_cmds._failed_job_log(SimpleNamespace(cfg=object()), other) == [] and not seen
