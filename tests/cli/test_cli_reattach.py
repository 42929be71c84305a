"""`up` of a production stack whose state lost its generated passwords and keys (after `pulumi state unprotect
--all` + `destroy`) while the cluster kept their Secrets: which Secrets it adopts, which it refuses (not made by
the stack, a missing key), the terminal rule, and that no value is ever printed. Then the components under the
recording mocks: an adopted value is read from the retained Secret instead of generated."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
import typer
from typer.testing import CliRunner

from cli_app import recovery
from cli_app.main import app
from scenarios import retained
from tests.cli.test_cli_engine import fake  # noqa: F401 - fake is a fixture
from tests.conftest import config, plan

runner = CliRunner()
VALUE = "retained-password-value-0123456789"  # what the retained Secrets hold: never in any output
ENCODED = base64.b64encode(VALUE.encode()).decode()
STACK = "urn:pulumi:local::zenml-platform::"
RANDOM = recovery.RANDOM_PASSWORD


def _production():
    return config(profile="production")


def _secret(c: retained.RetainedValue, keys=None, labels=None, manager="pulumi-kubernetes-abc") -> dict:
    return {"metadata": {"name": c.secret, "namespace": c.namespace,
                         "labels": dict(c.labels) if labels is None else labels,
                         "managedFields": [{"manager": manager, "operation": "Apply"}]},
            "data": {k: ENCODED for k in (keys if keys is not None else [c.key])}}


class Cluster:
    """Secrets by (namespace, name) as kubectl returns them; records lookups."""

    def __init__(self, secrets: dict):
        self.secrets, self.asked = secrets, []

    def __call__(self, namespace, name):
        self.asked.append(f"{namespace}/{name}")
        return self.secrets.get((namespace, name))


def _all_retained(cands, **kw) -> Cluster:
    by_secret: dict = {}
    for c in cands:
        by_secret.setdefault((c.namespace, c.secret), []).append(c)
    return Cluster({k: _secret(v[0], keys=[x.key for x in v], **kw) for k, v in by_secret.items()})


def test_the_retained_values_of_a_production_workspace_are_named_exactly():
    cands = retained.retained_secrets(_production())
    got = {(c.generated, c.secret_id, c.key) for c in cands}
    ns = cands[0].namespace
    assert got == {
        ("alpha-mysql-password", f"{ns}/alpha-mysql-credentials", "password"),
        ("alpha-mysql-root-password", f"{ns}/alpha-mysql-credentials", "root-password"),
        ("alpha-secrets-encryption-key", f"{ns}/alpha-secrets-encryption-key", "encryption-key"),
        ("alpha-server-jwt-secret", f"{ns}/zenml-server-jwt", "jwt-secret-key"),
        ("alpha-server-admin-password", f"{ns}/zenml-server-admin", "password"),
    }  # the names the components give them (the component tests below check the program against them)
    assert retained.retained_secrets(config(profile="dev")) == []  # nothing is retained outside production


def test_an_empty_state_adopts_every_retained_secret_of_the_stack():
    cands = retained.retained_secrets(_production())
    cluster = _all_retained(cands)
    plan_ = recovery.plan_adoption({"resources": []}, cands, cluster)
    assert {c.generated for c in plan_.adopt} == {c.generated for c in cands} and plan_.already == []
    assert sorted(set(cluster.asked)) == sorted(cluster.asked)  # each Secret looked up once


def test_values_still_in_the_state_are_not_looked_up():
    cands = retained.retained_secrets(_production())
    state = {"resources": [{"urn": f"{STACK}x${RANDOM}::{c.generated}", "type": RANDOM} for c in cands]}
    cluster = _all_retained(cands)
    plan_ = recovery.plan_adoption(state, cands, cluster)
    assert plan_.adopt == [] and plan_.already == [] and cluster.asked == []


def test_a_new_stack_generates_when_no_secret_is_there():
    cands = retained.retained_secrets(_production())
    plan_ = recovery.plan_adoption({"resources": []}, cands, Cluster({}))
    assert plan_.adopt == [] and plan_.already == []


def test_an_earlier_adoption_is_kept_without_asking_the_cluster():
    cands = retained.retained_secrets(_production())
    state = {"resources": [{"urn": f"{STACK}x$kubernetes:core/v1:Secret::{c.generated}{retained.RETAINED_SUFFIX}",
                            "type": "kubernetes:core/v1:Secret"} for c in cands]}
    cluster = Cluster({})
    plan_ = recovery.plan_adoption(state, cands, cluster)
    assert len(plan_.already) == len(cands) and plan_.adopt == [] and cluster.asked == []


@pytest.mark.parametrize("kw,why", [
    ({"labels": {"app.kubernetes.io/name": "mariadb"}}, "are not the ones this stack gives it"),
    ({"manager": "kubectl-client-side-apply"}, "it was not written by Pulumi's Kubernetes provider"),
    ({"keys": ["username"]}, "it has no key"),
])
def test_a_secret_the_stack_cannot_reuse_stops_up_with_its_name(kw, why, capsys):
    cands = retained.retained_secrets(_production())
    [creds] = [c for c in cands if c.generated.endswith("-mysql-password")]
    secrets = _all_retained(cands).secrets
    secrets[(creds.namespace, creds.secret)] = _secret(creds, **kw)
    with pytest.raises(typer.Exit) as exc:
        recovery.plan_adoption({"resources": []}, cands, Cluster(secrets))
    out = capsys.readouterr()
    assert exc.value.exit_code == 2
    line = [ln for ln in out.err.splitlines() if f"Secret {creds.secret_id} (for {creds.generated}): " in ln]
    assert len(line) == 1 and why in line[0] and "nothing changed" in out.err
    assert VALUE not in out.out + out.err and ENCODED not in out.out + out.err


def test_the_program_gets_names_only():
    cands = retained.retained_secrets(_production())
    raw = retained.encode(cands)
    assert VALUE not in raw and ENCODED not in raw
    assert retained.decode({retained.ADOPT_ENV: raw}) == {c.generated: (c.secret_id, c.key) for c in cands}
    assert retained.decode({}) == {}


# --- through `up` ----------------------------------------------------------------------------------------------


@pytest.fixture
def production(fake, monkeypatch):  # noqa: F811 - the fake fixture
    """`up -s local` with a production config and retained Secrets in the cluster."""
    cfg = _production()
    cands = retained.retained_secrets(cfg)
    cluster = _all_retained(cands)
    [sts] = retained.retained_workloads(cfg)
    workloads = Cluster({(sts.namespace, sts.name): {"metadata": {
        "name": sts.name, "labels": dict(sts.labels), "managedFields": [{"manager": "pulumi-kubernetes-1234"}]}}})
    deleted: list = []
    monkeypatch.setattr(retained, "retained_secrets", lambda c: cands)
    monkeypatch.setattr(retained, "retained_workloads", lambda c: [sts])
    monkeypatch.setattr(recovery, "kubectl_secret", lambda c, kind="secret": cluster if kind == "secret" else workloads)
    monkeypatch.setattr(recovery, "ClusterObjects", lambda c: SimpleNamespace(delete=lambda t, i, cascade="orphan": deleted.append((t, i, cascade))))
    fake["stack"].workspace = SimpleNamespace(env_vars={})
    fake.update(cluster=cluster, cands=cands, workloads=workloads, sts=sts, deleted=deleted)
    return fake


def test_up_with_yes_adopts_and_prints_names_never_values(production):
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 0, result.output
    for c in production["cands"]:
        assert f"{c.generated}: reused from Secret {c.secret_id} (key {c.key})" in result.stderr
    assert "adopted " in result.stderr
    passed = json.loads(production["stack"].workspace.env_vars[retained.ADOPT_ENV])
    assert set(passed) == {c.generated for c in production["cands"]}
    assert VALUE not in result.output and ENCODED not in result.output
    assert [c[0] for c in production["stack"].calls] == ["up"]
    # The retained StatefulSet is deleted with its pods (its claims stay), so `up` creates it again on the volume.
    sts = production["sts"]
    assert production["deleted"] == [("kubernetes:apps/v1:StatefulSet", sts.ident, "foreground")]
    assert f"StatefulSet {sts.ident}: retained; deleted with its pods (its volume claims stay" in result.stderr


def test_a_retry_after_a_failed_reattach_recreates_the_statefulset_without_adopting_again(production):
    cands, sts = production["cands"], production["sts"]
    production["stack"].deployment = {"resources": [
        {"urn": f"{STACK}x$kubernetes:core/v1:Secret::{c.generated}{retained.RETAINED_SUFFIX}", "type": "kubernetes:core/v1:Secret"}
        for c in cands]}
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 0, result.output
    assert production["cluster"].asked == [] and "adopted " not in result.stderr
    assert production["deleted"] == [("kubernetes:apps/v1:StatefulSet", sts.ident, "foreground")]
    assert set(json.loads(production["stack"].workspace.env_vars[retained.ADOPT_ENV])) == {c.generated for c in cands}


def test_a_statefulset_the_stack_did_not_make_stops_up(production):
    sts = production["sts"]
    production["workloads"].secrets[(sts.namespace, sts.name)]["metadata"]["managedFields"] = [{"manager": "helm"}]
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 2, result.output
    assert f"StatefulSet {sts.ident}: it was not written by Pulumi's Kubernetes provider" in result.stderr
    assert production["deleted"] == [] and production["stack"].calls == []


def test_up_on_a_terminal_asks_and_a_no_changes_nothing(production, monkeypatch):
    import cli_app.engine_cmds as engine_cmds

    monkeypatch.setattr(engine_cmds, "is_interactive", lambda: True)
    result = runner.invoke(app, ["up", "-s", "local"], input="n\n")
    assert result.exit_code == 1 and "cancelled; nothing changed" in result.stderr
    assert "reuse 4 retained Secret(s) and re-create 1 StatefulSet(s)" in result.stderr
    assert production["stack"].calls == [] and production["deleted"] == [] and retained.ADOPT_ENV not in production["stack"].workspace.env_vars
    assert VALUE not in result.output and ENCODED not in result.output


def test_up_without_a_terminal_and_without_yes_is_refused_before_the_cluster_is_asked(production):
    result = runner.invoke(app, ["up", "-s", "local"])
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert production["cluster"].asked == [] and production["stack"].calls == []


def test_up_stops_on_a_foreign_secret_before_the_engine(production):
    cands = production["cands"]
    [key] = [c for c in cands if c.key == "encryption-key"]
    production["cluster"].secrets[(key.namespace, key.secret)] = _secret(key, manager="helm")
    result = runner.invoke(app, ["up", "--yes", "-s", "local"])
    assert result.exit_code == 2, result.output
    assert f"Secret {key.secret_id}" in result.stderr and "Traceback" not in result.output
    assert production["stack"].calls == [] and VALUE not in result.output and ENCODED not in result.output


# --- the components ----------------------------------------------------------------------------------------------


def test_adopted_values_are_read_from_the_retained_secrets_not_generated(monkeypatch, preview):
    from planning import recording_mocks

    cfg = _production()
    cands = retained.retained_secrets(cfg)
    reads = []
    original = recording_mocks.RecordingMocks.new_resource

    def new_resource(self, args):
        if args.resource_id:  # a read (Secret.get): what the retained Secret holds
            reads.append((args.name, args.resource_id))
            [c] = [c for c in cands if f"{c.generated}{retained.RETAINED_SUFFIX}" == args.name]
            return args.resource_id, {"data": {c.key: ENCODED}}
        return original(self, args)

    monkeypatch.setattr(recording_mocks.RecordingMocks, "new_resource", new_resource)
    monkeypatch.setenv(retained.ADOPT_ENV, retained.encode(cands))
    result = plan(cfg, preview)
    assert result.of_type(RANDOM) == []
    assert sorted(reads) == sorted((f"{c.generated}{retained.RETAINED_SUFFIX}", c.secret_id) for c in cands)
    secrets = {r.name: r for r in result.of_type("kubernetes:core/v1:Secret")}
    for name in ("alpha-mysql-credentials", "alpha-secrets-encryption-key", "alpha-server-jwt", "alpha-server-admin"):
        assert secrets[name].protect and secrets[name].retain_on_delete, name
    assert VALUE not in json.dumps([r.inputs for r in result.registrations], default=str)


def test_without_adoption_the_values_are_generated_and_the_server_secrets_retained(monkeypatch):
    monkeypatch.delenv(retained.ADOPT_ENV, raising=False)
    result = plan(_production())
    assert {r.name for r in result.of_type(RANDOM)} == {c.generated for c in retained.retained_secrets(_production())}
    secrets = {r.name: r for r in result.of_type("kubernetes:core/v1:Secret")}
    assert secrets["alpha-server-jwt"].retain_on_delete and secrets["alpha-server-admin"].retain_on_delete


def test_the_cluster_lookup_asks_kubectl_for_the_managed_fields(monkeypatch):
    import subprocess

    import cli_app.backups as backups

    calls = []
    answers = {"found": (0, json.dumps({"metadata": {"name": "found"}}), ""),
               "absent": (1, "", 'Error from server (NotFound): secrets "absent" not found'),
               "broken": (1, "", "Unable to connect to the server: connection refused")}

    class Kubectl:
        def __init__(self, cfg, namespace):
            pass

        def run(self, *args, check=True, **kw):
            calls.append(args)
            rc, out, err = answers[args[2]]
            return subprocess.CompletedProcess(args, rc, out, err)

    monkeypatch.setattr(backups, "Kubectl", Kubectl)
    get = recovery.kubectl_secret(None)
    assert get("ns", "found") == {"metadata": {"name": "found"}}
    # kubectl leaves managedFields out unless asked: without them no Secret would look written by the stack.
    assert "--show-managed-fields" in calls[0] and "--namespace=ns" in calls[0]
    assert get("ns", "absent") is None
    with pytest.raises(typer.Exit) as exc:
        get("ns", "broken")
    assert exc.value.exit_code == 1
