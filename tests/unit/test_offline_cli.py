"""`validate`, `plan` and `schema` through the CLI: exit codes, one line per problem, no traceback, masking."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from cli_app.main import app

runner = CliRunner()


def write_stack(tmp_path, config: dict, name: str = "Pulumi.t.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def test_validate_valid_stack():
    result = runner.invoke(app, ["validate", "--stack", "local"])
    assert result.exit_code == 0, result.output
    assert "Pulumi.local.yaml: valid" in result.output


def test_validate_reports_every_problem_with_exit_2_and_no_traceback(tmp_path):
    path = write_stack(tmp_path, {
        "zenml-platform:scenario": "self-hosted",
        "zenml-platform:domain": "zenml.example.com",
        "zenml-platform:workspaces": [{"name": "a", "replicas": "two", "databse": {}}],
        "zenml-platform:registryMirror": {"registry": "r.internal", "pullSecret": "plain-secret-value"},
    })
    result = runner.invoke(app, ["validate", "--config-file", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Pulumi.t.yaml: invalid configuration"
    assert "workspaces[0].databse: unknown key (did you mean 'database'?)" in lines
    assert any(line.startswith("workspaces[0].replicas: ") for line in lines)
    assert any(line.startswith("registryMirror.pullSecret: a secret must not be given as a plain value") for line in lines)
    assert "Traceback" not in result.output and "plain-secret-value" not in result.output


def test_validate_needs_exactly_one_source(tmp_path):
    assert runner.invoke(app, ["validate"]).exit_code == 2
    assert runner.invoke(app, ["validate", "--stack", "no-such-stack"]).exit_code == 2
    assert runner.invoke(app, ["validate", "--config-file", str(tmp_path / "missing.yaml")]).exit_code == 2


def test_validate_rejects_broken_yaml(tmp_path):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text("config:\n  zenml-platform:scenario: [unclosed\n")
    result = runner.invoke(app, ["validate", "--config-file", str(path)])
    assert result.exit_code == 2 and "not valid YAML" in result.stderr


def test_plan_prints_counts_and_writes_masked_files(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["plan", "--stack", "airgapped-kubernetes", "--out", str(out), "--update"])
    assert result.exit_code == 0, result.output
    assert "kubernetes:apps/v1:Deployment" in result.output and "total" in result.output
    plan = json.loads((out / "plan.json").read_text())
    assert {"urn", "type", "name", "parent", "inputs"} <= set(plan[0])
    manifests = list(yaml.safe_load_all((out / "manifests.yaml").read_text()))
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "StatefulSet", "Job", "NetworkPolicy", "Ingress", "Secret", "Role"} <= kinds
    text = (out / "plan.json").read_text() + (out / "manifests.yaml").read_text()
    for leaked in ("generated-", "example-enrollment-key", "example-oidc-client-secret", "PRIVATE KEY"):
        assert leaked not in text
    for m in manifests:
        if m["kind"] == "Secret":
            data = m.get("stringData")
            assert data == "[secret]" or set(data.values()) == {"[secret]"}


def test_plan_json_output():
    result = runner.invoke(app, ["plan", "--stack", "local", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["stack"] == "local" and doc["total"] == sum(doc["byType"].values())


def test_plan_invalid_config_exits_2(tmp_path):
    path = write_stack(tmp_path, {"zenml-platform:scenario": "nowhere", "zenml-platform:domain": "zenml.example.com"})
    result = runner.invoke(app, ["plan", "--config-file", str(path)])
    assert result.exit_code == 2 and result.stderr.splitlines()[1].startswith("scenario: ")


def test_schema_check_passes_when_current():
    assert runner.invoke(app, ["schema", "--check"]).exit_code == 0
