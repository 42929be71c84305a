"""Offline commands through typer's runner: images, residency, workspace add/remove/list, init.

Every command runs on every example stack; bad input exits 2 naming the key path or flag, with no traceback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli_app.main import app
from tests.conftest import EXAMPLE_CA

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
runner = CliRunner()
PRO = {
    "organizationId": "0b6e5c7e-6f41-4a55-9d3c-1d1f8a1e0001",
    "workspaceId": "0b6e5c7e-6f41-4a55-9d3c-1d1f8a1e0002",
}


def name_of(path: Path) -> str:
    return path.name[len("Pulumi."):-len(".yaml")]


def invoke(*args: str):
    return runner.invoke(app, list(args))


def assert_invalid(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    for n in needles:
        assert n in result.stderr, result.stderr


@pytest.fixture
def local_copy(tmp_path) -> Path:
    dest = tmp_path / "Pulumi.copy.yaml"
    shutil.copy2(ROOT / "stacks" / "Pulumi.local.yaml", dest)
    return dest


# --- images ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=name_of)
def test_images_on_every_example_stack(path):
    result = invoke("images", "-s", name_of(path), "--json")
    assert result.exit_code == 0, result.output
    images = json.loads(result.stdout)
    assert images and all(i["image"] and i["mirrored"] for i in images)
    cfg = yaml.safe_load(path.read_text())["config"]
    mirror = (cfg.get("zenml-platform:registryMirror") or {}).get("registry")
    if mirror:
        assert all(i["mirrored"].startswith(mirror + "/") for i in images)


def test_images_with_an_other_mirror_keeps_path_and_tag():
    result = invoke("images", "-s", "local", "--mirror", "registry.corp.internal:5000/zenml", "--format", "pairs")
    assert result.exit_code == 0, result.output
    pairs = dict(line.split(" ") for line in result.stdout.splitlines())
    assert pairs["zenmldocker/zenml-server:0.98.0"] == "registry.corp.internal:5000/zenml/zenmldocker/zenml-server:0.98.0"
    skopeo = invoke("images", "-s", "local", "--mirror", "r.internal", "--format", "skopeo").stdout
    assert "skopeo copy --all docker://mariadb:10.11 docker://r.internal/mariadb:10.11" in skopeo  # engine mariadb


def test_images_bad_input():
    assert_invalid(invoke("images", "-s", "local", "--mirror", "https://r.internal/"), "--mirror")
    assert_invalid(invoke("images", "-s", "local", "--format", "xml"), "--format")
    assert_invalid(invoke("images", "-s", "nope"), "--stack: no stack file")


# --- residency ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=name_of)
def test_residency_on_every_example_stack(path):
    result = invoke("residency", "-s", name_of(path))
    assert result.exit_code == 0, result.output
    for kind in ("Pipeline Metadata", "Artifacts", "Container Images", "Logs", "Secrets", "User/Org Data"):
        assert f"| **{kind}** |" in result.stdout
    assert "| Data Type | Description | Location |" in result.stdout


def test_residency_follows_the_config(tmp_path):
    hybrid = tmp_path / "Pulumi.h.yaml"
    hybrid.write_text(yaml.safe_dump({"config": {
        "zenml-platform:scenario": "hybrid",
        "zenml-platform:domain": "zenml.example.com",
        "zenml-platform:workspaces": [{
            "name": "a", "pro": {**PRO, "enrollmentKey": {"secretKeyRef": {"name": "e", "key": "a"}}},
            "database": {"mode": "external", "external": {"host": "db.corp", "database": "zenml", "username": "z",
                                                          "password": {"secretKeyRef": {"name": "db", "key": "pw"}},
                                                          "caCertificate": EXAMPLE_CA}},
            "secretStore": {"type": "hashicorp", "vault": {"address": "https://vault.corp:8200",
                                                            "token": {"secretKeyRef": {"name": "v", "key": "t"}}}},
        }],
    }}))
    data = json.loads(invoke("residency", "-f", str(hybrid), "--json").stdout)
    where = {row["dataType"]: " ".join(row["location"]) for row in data["data"]}
    assert "external database `db.corp/zenml`" in where["Pipeline Metadata"]
    assert "HashiCorp Vault at `https://vault.corp:8200`" in where["Secrets"]
    assert "ZenML-hosted control plane `https://cloudapi.zenml.io`" in where["User/Org Data"]
    assert "public registries" in where["Container Images"]
    assert "authentication/authorization" in data["dataMovement"]
    local = json.loads(invoke("residency", "-s", "local", "--json").stdout)
    where = {row["dataType"]: " ".join(row["location"]) for row in local["data"]}
    assert "in-cluster MariaDB in namespace `zenml-default`" in where["Pipeline Metadata"]
    assert "mirror `127.0.0.1:5000`" in where["Container Images"]
    assert "each OSS workspace's own database" in where["User/Org Data"]


def test_residency_bad_config(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  zenml-platform:scenario: airgaped\n  zenml-platform:domain: x.example.com\n")
    assert_invalid(invoke("residency", "-f", str(bad)), "scenario:")


# --- workspace ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=name_of)
def test_workspace_list_on_every_example_stack(path):
    result = invoke("workspace", "list", "-s", name_of(path), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    cfg = yaml.safe_load(path.read_text())["config"]
    assert [r["name"] for r in rows] == [w["name"] for w in cfg.get("zenml-platform:workspaces") or []]


def test_workspace_add_keeps_comments_and_order_and_shows_only_creates(local_copy):
    before = local_copy.read_text()
    result = invoke("workspace", "add", "team-b", "-f", str(local_copy), "--storage-size", "5Gi", "--json")
    assert result.exit_code == 0, result.output
    after = local_copy.read_text()
    # Every line (comments included) kept in order; only the new entry's lines were added.
    import difflib

    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [d for d in diff if d.startswith("- ")]
    added = [d[2:] for d in diff if d.startswith("+ ")]
    assert added == ["    - name: team-b", "      database:", "        inCluster:", "          storageSize: 5Gi"]
    assert yaml.safe_load(after)["config"]["zenml-platform:workspaces"][-1] == {
        "name": "team-b", "database": {"inCluster": {"storageSize": "5Gi"}}}
    change = json.loads(result.stdout)
    assert set(change["upWouldChange"]) == {"create"}
    assert all("team-b" in r["urn"] for r in change["resources"])
    assert any(r["type"] == "kubernetes:apps/v1:StatefulSet" for r in change["resources"])
    assert invoke("validate", "-f", str(local_copy)).exit_code == 0


def test_workspace_add_invalid_writes_nothing(local_copy):
    before = local_copy.read_text()
    assert_invalid(invoke("workspace", "add", "Bad_Name", "-f", str(local_copy)), "workspaces[1].name: must be a DNS label", "nothing written")
    assert_invalid(invoke("workspace", "add", "default", "-f", str(local_copy)), "already exists")
    assert_invalid(invoke("workspace", "add", "ext", "-f", str(local_copy), "--database", "external", "--db-host", "db.corp"),
                   "workspaces[1].database.external.database: is required")
    assert_invalid(invoke("workspace", "add", "ext", "-f", str(local_copy), "--database", "external", "--db-password-secret", "nokey"),
                   "--db-password-secret")
    assert local_copy.read_text() == before


def test_workspace_add_dry_run(local_copy):
    before = local_copy.read_text()
    result = invoke("workspace", "add", "team-c", "-f", str(local_copy), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would add workspace team-c" in result.stderr and "+40 to create" in result.stderr  # 40: the migration Job has its own ServiceAccount; the generated admin password and its Secret
    assert local_copy.read_text() == before


def test_workspace_remove_needs_force_and_says_what_is_deleted(local_copy):
    invoke("workspace", "add", "team-b", "-f", str(local_copy))
    before = local_copy.read_text()
    result = invoke("workspace", "remove", "default", "-f", str(local_copy))
    assert_invalid(result, "holds data", "in-cluster database", "sql secret store", "nothing is retained", "--force")
    assert local_copy.read_text() == before
    result = invoke("workspace", "remove", "default", "-f", str(local_copy), "--force", "--json")
    assert result.exit_code == 0, result.output
    change = json.loads(result.stdout)
    assert set(change["upWouldChange"]) == {"delete"}
    assert all("::default" in r["urn"] or "$" in r["urn"] for r in change["resources"])
    assert not any("team-b" in r["urn"] for r in change["resources"])  # removing one never touches another
    assert "# The `local` stack" in local_copy.read_text()  # comments kept
    assert [w["name"] for w in yaml.safe_load(local_copy.read_text())["config"]["zenml-platform:workspaces"]] == ["team-b"]


def test_workspace_remove_in_production_lists_retained_and_protected(tmp_path):
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(
        "# production stack\nconfig:\n  zenml-platform:scenario: self-hosted\n  zenml-platform:profile: production\n"
        "  zenml-platform:domain: zenml.example.com\n  zenml-platform:registryMirror:\n    registry: r.internal\n"
        "  zenml-platform:workspaces:\n    - name: a  # first\n    - name: b\n"
    )
    result = invoke("workspace", "remove", "a", "-f", str(path))
    assert_invalid(result, "retained in the cluster/account after `up`", "Namespace a-ns", "StatefulSet a-mysql", "protected:", "pulumi state unprotect")
    result = invoke("workspace", "remove", "a", "-f", str(path), "--force")
    assert result.exit_code == 0, result.output
    assert "retained in the cluster" in result.stderr
    assert "# production stack" in path.read_text()


def test_workspace_remove_unknown_and_last_workspace(local_copy):
    assert_invalid(invoke("workspace", "remove", "nope", "-f", str(local_copy)), "no workspace named 'nope'", "default")
    # The local stack has no control plane: removing its only workspace would leave an empty stack.
    assert_invalid(invoke("workspace", "remove", "default", "-f", str(local_copy), "--force"), "workspaces: the stack deploys nothing")


# --- init ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--layout", "self-hosted", "--domain", "zenml.corp.example"],
    ["--layout", "self-hosted", "--air-gap", "--domain", "zenml.corp.example", "--mirror", "r.corp:5000"],
    ["--layout", "self-hosted", "--air-gap", "--domain", "zenml.corp.example", "--mirror", "r.corp:5000", "--control-plane",
     "--chart-archive", "charts/zenml-pro-0.13.12.tgz", "--profile", "production"],
    ["--layout", "self-hosted", "--domain", "zenml.corp.example", "--control-plane", "--tls", "cert-manager",
     "--issuer", "letsencrypt"],
    ["--layout", "hybrid", "--domain", "zenml.corp.example", "--pro-organization-id", PRO["organizationId"],
     "--pro-workspace-id", PRO["workspaceId"], "--tls", "cert-manager", "--issuer", "letsencrypt"],
    ["--layout", "saas", "--domain", "zenml.corp.example", "--kube-context", "prod"],
], ids=["self-hosted", "air-gapped", "air-gapped-cp", "self-hosted-cp-public", "hybrid", "saas"])
def test_init_writes_a_valid_commented_stack_for_every_layout(tmp_path, args):
    out = tmp_path / "Pulumi.new.yaml"
    result = invoke("init", "-o", str(out), *args)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# Stack `new`: the ")
    assert text.count("\n  #") >= 3
    assert invoke("validate", "-f", str(out)).exit_code == 0
    assert invoke("plan", "-f", str(out), "--json").exit_code == 0


def test_init_without_terminal_names_missing_flags_and_writes_nothing(tmp_path):
    out = tmp_path / "Pulumi.n.yaml"
    assert_invalid(invoke("init", "-o", str(out), "--layout", "self-hosted", "--air-gap"), "missing --domain, --mirror")
    assert_invalid(invoke("init", "-o", str(out), "--layout", "hybrid", "--domain", "z.example.com"), "--pro-organization-id")
    assert_invalid(invoke("init", "-o", str(out), "--layout", "cloud", "--domain", "z.example.com"), "--layout")
    assert_invalid(invoke("init", "-o", str(out), "--layout", "self-hosted", "--domain", "BAD"), "domain:", "(flag --domain)")
    assert_invalid(invoke("init", "-o", str(out), "--layout", "self-hosted", "--air-gap", "--domain", "z.example.com", "--mirror", "r.corp:5000",
                          "--control-plane"), "controlPlane.chart.archive", "(flag --chart-archive)")
    assert_invalid(invoke("init", "-o", str(out), "--layout", "hybrid", "--air-gap", "--domain", "z.example.com", "--mirror", "r.corp:5000",
                          "--pro-organization-id", PRO["organizationId"], "--pro-workspace-id", PRO["workspaceId"]),
                   "airGap.enabled", "(flag --air-gap)")
    assert not out.exists()


def test_init_writes_the_layout_and_the_air_gap_apart(tmp_path):
    out = tmp_path / "Pulumi.s.yaml"
    assert invoke("init", "-o", str(out), "--layout", "self-hosted", "--domain", "z.example.com").exit_code == 0
    cfg = yaml.safe_load(out.read_text())["config"]
    assert cfg["zenml-platform:scenario"] == "self-hosted"
    assert "zenml-platform:airGap" not in cfg and "zenml-platform:registryMirror" not in cfg


def test_init_reads_the_deprecated_airgapped_layout_with_a_warning(tmp_path):
    out = tmp_path / "Pulumi.old.yaml"
    result = invoke("init", "-o", str(out), "--layout", "airgapped", "--domain", "z.example.com", "--mirror", "r.corp:5000")
    assert result.exit_code == 0, result.output
    assert "warning: --layout airgapped is deprecated: use --layout self-hosted --air-gap" in result.stderr
    cfg = yaml.safe_load(out.read_text())["config"]
    assert cfg["zenml-platform:scenario"] == "self-hosted" and cfg["zenml-platform:airGap"] == {"enabled": True}
    assert_invalid(invoke("init", "-o", str(tmp_path / "Pulumi.o2.yaml"), "--layout", "airgapped", "--domain", "z.example.com"),
                   "missing --mirror")


def test_init_refuses_to_overwrite(tmp_path):
    out = tmp_path / "Pulumi.n.yaml"
    out.write_text("keep me")
    assert_invalid(invoke("init", "-o", str(out), "--layout", "saas", "--domain", "z.example.com"), "--force")
    assert out.read_text() == "keep me"
    assert_invalid(invoke("init", "--layout", "saas"), "exactly one of --stack NAME or --output PATH")


def test_init_prompts_on_a_terminal(tmp_path, monkeypatch):
    import cli_app.init_cmd as init_cmd

    monkeypatch.setattr(init_cmd, "is_interactive", lambda: True)
    out = tmp_path / "Pulumi.p.yaml"
    result = runner.invoke(app, ["init", "-o", str(out)], input="self-hosted\nzenml.corp.example\ny\nregistry.corp:5000\n")
    assert result.exit_code == 0, result.output
    assert "Layout (self-hosted/hybrid/saas)" in result.stderr and "Air-gapped" in result.stderr
    cfg = yaml.safe_load(out.read_text())["config"]
    assert cfg["zenml-platform:scenario"] == "self-hosted" and cfg["zenml-platform:airGap"] == {"enabled": True}
    assert cfg["zenml-platform:registryMirror"] == {"registry": "registry.corp:5000"}
    assert cfg["zenml-platform:workspaces"] == [{"name": "default"}]


def test_validate_rejects_an_unknown_database_engine(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  zenml-platform:scenario: self-hosted\n  zenml-platform:domain: x.example.com\n"
                   "  zenml-platform:workspaces:\n    - name: a\n      database:\n        inCluster:\n          engine: postgres\n")
    assert_invalid(invoke("validate", "-f", str(bad)), "workspaces[0].database.inCluster.engine", "mariadb")
