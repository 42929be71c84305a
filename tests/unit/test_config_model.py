"""The config model: defaults, every validation rule, key paths in messages, and secrets never echoed."""

from __future__ import annotations

import copy

import pytest

from stack_config import ConfigError, load_from_mapping, load_stack_file
from stack_config.model import Edition
from stack_config.secrets import SecureValue
from tests.conftest import LOCAL_MIN, PRO_WORKSPACE, config, namespaced


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_from_mapping(namespaced(data))
    return {p.path: p.reason for p in info.value.problems}


def with_(**overrides) -> dict:
    data = copy.deepcopy(LOCAL_MIN)
    data.update(overrides)
    return data


def test_minimal_config_gets_safe_defaults():
    cfg = config()
    ws = cfg.workspaces[0]
    assert cfg.target.value == "kubernetes" and cfg.profile.value == "small"
    assert cfg.tls.mode.value == "internal-ca"
    assert cfg.network_policies.enabled
    assert ws.database.mode.value == "in-cluster" and ws.database.in_cluster.tls
    assert cfg.edition_of(ws) is Edition.oss
    assert cfg.host_of(ws) == "alpha.zenml.example.com"
    assert cfg.url_of(ws) == "https://alpha.zenml.example.com"
    assert cfg.namespace_of(ws) == "zenml-alpha"
    assert not cfg.runner_enabled(ws)


def test_example_local_stack_is_valid():
    cfg = load_stack_file("stacks/Pulumi.local.yaml")
    assert [w.name for w in cfg.workspaces] == ["default"]


def test_unknown_key_names_path_and_suggests():
    found = problems(with_(workspaces=[{"name": "alpha", "databse": {}}]))
    assert found == {"workspaces[0].databse": "unknown key (did you mean 'database'?)"}


def test_unknown_top_level_key_and_namespace():
    with pytest.raises(ConfigError) as info:
        load_from_mapping({**namespaced(LOCAL_MIN), "zenml-platform:profil": "dev", "zenml-platfrom:x": 1})
    paths = {p.path: p.reason for p in info.value.problems}
    assert paths["profil"].startswith("unknown key (did you mean 'profile'?)")
    assert "did you mean 'zenml-platform'" in paths["zenml-platfrom:x"]


def test_bad_values_name_their_paths():
    found = problems(
        with_(
            domain="Not A Domain",
            profile="huge",
            workspaces=[{"name": "Bad_Name", "replicas": 0, "resources": {"limits": {"memory": "lots"}}}],
        )
    )
    assert set(found) == {
        "domain",
        "profile",
        "workspaces[0].name",
        "workspaces[0].replicas",
        "workspaces[0].resources.limits.memory",
    }
    assert "DNS label" in found["workspaces[0].name"]


def test_missing_required_keys():
    found = problems({"workspaces": [{}]})
    assert found["scenario"] == "is required"
    assert found["domain"] == "is required"
    assert found["workspaces[0].name"] == "is required"


def test_plain_secret_is_rejected_with_the_command_to_fix_it():
    ws = copy.deepcopy(PRO_WORKSPACE)
    ws["pro"]["enrollmentKey"] = "s3cr3t-enrollment-value"
    data = with_(workspaces=[ws], controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro.tgz"}})
    with pytest.raises(ConfigError) as info:
        load_from_mapping(namespaced(data))
    text = str(info.value)
    assert "workspaces[0].pro.enrollmentKey: a secret must not be given as a plain value" in text
    assert "pulumi config set --secret --path workspaces[0].pro.enrollmentKey" in text
    assert "s3cr3t-enrollment-value" not in text


def test_secure_value_in_a_non_secret_field_is_explained_without_its_value():
    data = namespaced(LOCAL_MIN)
    data["zenml-platform:domain"] = {"secure": "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=="}
    with pytest.raises(ConfigError) as info:
        load_from_mapping(data)
    assert {p.path: p.reason for p in info.value.problems} == {
        "domain": "this setting is not a secret: set it without --secret"
    }


def test_secure_value_is_never_printed():
    value = SecureValue(plaintext="hunter2")
    assert "hunter2" not in repr(value) and "hunter2" not in str(value)


def test_air_gap_needs_a_mirror_and_no_acme():
    data = with_(airGap={"enabled": True}, tls={"mode": "cert-manager", "certManager": {"issuerName": "letsencrypt", "acme": True}})
    del data["registryMirror"]
    found = problems(data)
    assert "registryMirror" in found
    assert "tls.certManager.acme" in found


def test_air_gapped_control_plane_chart_must_be_local_or_mirrored():
    ws = copy.deepcopy(PRO_WORKSPACE)
    gap = {"enabled": True}
    found = problems(with_(airGap=gap, workspaces=[ws], controlPlane={"enabled": True}))
    assert "controlPlane.chart.archive" in found
    # The chart's registry host must be the mirror's, not merely contain it.
    found = problems(with_(airGap=gap, workspaces=[ws], registryMirror={"registry": "r"}, controlPlane={"enabled": True}))
    assert "controlPlane.chart.archive" in found
    ok = config(airGap=gap, workspaces=[ws],
                controlPlane={"enabled": True, "chart": {"repository": "oci://registry.corp.internal:5000/zenml/zenml-pro"}})
    assert ok.control_plane.enabled


def test_pro_workspace_rules():
    found = problems(with_(workspaces=[{"name": "a", "edition": "pro"}]))
    assert "workspaces[0].edition" in found  # self-hosted without this stack's control plane: nothing to enroll with
    assert "workspaces[0].pro" in found  # no enrollment values
    found = problems(with_(workspaces=[{"name": "a", "runner": {"enabled": True}}]))
    assert "needs a Pro workspace" in found["workspaces[0].runner.enabled"]


def test_workspace_names_hosts_and_namespaces_are_unique():
    found = problems(with_(workspaces=[{"name": "a"}, {"name": "a"}, {"name": "b", "host": "c.zenml.example.com"}, {"name": "c"}]))
    assert "duplicate workspace name 'a'" in found["workspaces[1].name"]
    assert "already used by workspaces[2].host" in found["workspaces[3].host"]
    found = problems(with_(workspaces=[{"name": "x-runners"}, {"name": "x", "edition": "oss"}]))
    assert "collides" in found["workspaces[1].name"]


def test_duplicate_workspace_ids_are_rejected():
    """On AWS the server ID is the only thing separating two workspaces' secrets (the `zenml` tag)."""
    a, b = copy.deepcopy(PRO_WORKSPACE), copy.deepcopy(PRO_WORKSPACE)
    b["name"] = "team-b"
    found = problems(with_(workspaces=[a, b], controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.12.tgz"}}))
    assert "already the ID of workspaces[0]" in found["workspaces[1].pro.workspaceId"]
    b["pro"]["workspaceId"] = "0b6e5c7e-6f41-4a55-9d3c-1d1f8a1e0003"
    assert len(config(workspaces=[a, b], controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.12.tgz"}}).workspaces) == 2
    # A Pro workspace given the derived ID of an OSS workspace (copied from outputs) is a duplicate too.
    oss = config(workspaces=[{"name": "alpha"}])
    b["pro"]["workspaceId"] = oss.server_id_of(oss.workspaces[0])
    found = problems(with_(workspaces=[{"name": "alpha", "edition": "oss"}, b], controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.12.tgz"}}))
    assert "workspaces[1].pro.workspaceId" in found


@pytest.mark.parametrize("name", ["db-admin", "control-plane"])
def test_workspace_names_never_land_on_the_stacks_own_namespaces(name):
    found = problems(with_(workspaces=[{"name": name}]))
    assert "collides with the" in found["workspaces[0].name"], found


def test_layout_rules():
    ws = copy.deepcopy(PRO_WORKSPACE)
    found = problems(with_(scenario="hybrid", controlPlane={"enabled": True}, workspaces=[ws]))
    assert "controlPlane.enabled" in found
    found = problems(with_(scenario="saas", workspaces=[ws]))
    assert "controlPlane.enabled" in found
    found = problems(with_(workspaces=[], controlPlane={"enabled": False}))
    assert "workspaces" in found


def test_cross_field_section_rules():
    found = problems(with_(tls={"mode": "cert-manager"}))
    assert "tls" in found and "issuerName" in found["tls"]
    found = problems(with_(workspaces=[{"name": "a", "database": {"mode": "external"}}]))
    assert "workspaces[0].database" in found
    found = problems(with_(workspaces=[{"name": "a", "secretStore": {"type": "hashicorp", "vault": {"address": "https://vault:8200"}}}]))
    assert "vault.token" in found["workspaces[0].secretStore.vault"]
    found = problems(with_(workspaces=[{"name": "a", "runner": {"egress": {"allowCidrs": ["10.0.0.0/33"]}}}]))
    assert "workspaces[0].runner.egress.allowCidrs[0]" in found
    found = problems(with_(profile="production", tls={"mode": "disabled"}))
    assert "tls.mode" in found


def test_secret_looking_plain_env_is_rejected():
    found = problems(with_(workspaces=[{"name": "a", "env": {"MY_API_TOKEN": "x"}}]))
    assert "secretEnv" in found["workspaces[0].env"]


def test_runtime_loader_marks_only_secure_paths_secret(tmp_path, monkeypatch):
    """Inside the engine values arrive decrypted; the stack file says which ones were `--secret`."""
    import json

    from pulumi.runtime import config as runtime_config

    from stack_config import loader

    stack_file = tmp_path / "Pulumi.rt.yaml"
    stack_file.write_text(
        "config:\n"
        "  zenml-platform:scenario: self-hosted\n"
        "  zenml-platform:domain: zenml.example.com\n"
        "  zenml-platform:registryMirror:\n"
        "    registry: reg.internal\n"
        "    pullSecret:\n"
        "      secure: v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==\n"
        "  zenml-platform:workspaces:\n"
        "    - name: a\n"
    )
    monkeypatch.setattr(loader, "stack_file_path", lambda stack: stack_file)
    runtime_config.set_all_config(
        {
            "zenml-platform:scenario": "self-hosted",
            "zenml-platform:domain": "zenml.example.com",
            "zenml-platform:registryMirror": json.dumps({"registry": "reg.internal", "pullSecret": "{\"auths\":{}}"}),
            "zenml-platform:workspaces": json.dumps([{"name": "a"}]),
        },
        ["zenml-platform:registryMirror"],
    )
    try:
        cfg = loader.load_from_pulumi_runtime("rt")
    finally:
        runtime_config.set_all_config({}, [])
    assert isinstance(cfg.registry_mirror.pull_secret, SecureValue)
    assert cfg.registry_mirror.pull_secret.plaintext == '{"auths":{}}'
    assert cfg.registry_mirror.registry == "reg.internal"


def test_runtime_loader_rejects_a_plain_secret(tmp_path, monkeypatch):
    import json

    from pulumi.runtime import config as runtime_config

    from stack_config import loader

    stack_file = tmp_path / "Pulumi.rt.yaml"
    stack_file.write_text("config: {}\n")
    monkeypatch.setattr(loader, "stack_file_path", lambda stack: stack_file)
    runtime_config.set_all_config(
        {
            "zenml-platform:scenario": "self-hosted",
            "zenml-platform:domain": "zenml.example.com",
            "zenml-platform:registryMirror": json.dumps({"registry": "reg.internal", "pullSecret": "plain-dockerconfig"}),
            "zenml-platform:workspaces": json.dumps([{"name": "a"}]),
        },
        [],
    )
    try:
        with pytest.raises(ConfigError) as info:
            loader.load_from_pulumi_runtime("rt")
    finally:
        runtime_config.set_all_config({}, [])
    assert "registryMirror.pullSecret" in str(info.value)
    assert "plain-dockerconfig" not in str(info.value)


def test_placeholder_certificates_are_rejected():
    ws = {"name": "a", "database": {"mode": "external", "external": {
        "host": "db.corp", "database": "z", "username": "z", "password": {"secretKeyRef": {"name": "db", "key": "pw"}},
        "caCertificate": "-----BEGIN CERTIFICATE-----\nREPLACE-WITH-YOUR-CA\n-----END CERTIFICATE-----\n"}}}
    found = problems(with_(workspaces=[ws]))
    assert "not valid base64" in found["workspaces[0].database.external.caCertificate"]
    found = problems(with_(tls={"mode": "provided", "provided": {"secretName": "t", "caCertificate": "not a pem"}}))
    assert "PEM certificates" in found["tls.provided.caCertificate"]


def test_verified_external_database_needs_its_ca():
    ext = {"host": "db.corp", "database": "z", "username": "z", "password": {"secretKeyRef": {"name": "db", "key": "pw"}}}
    found = problems(with_(workspaces=[{"name": "a", "database": {"mode": "external", "external": ext}}]))
    assert "not verified" in found["workspaces[0].database.external.caCertificate"]
    cfg = config(workspaces=[{"name": "a", "database": {"mode": "external", "external": {**ext, "verifyServerCertificate": False}}}])
    assert not cfg.workspaces[0].database.external.verify_server_certificate


def test_in_cluster_engine_is_mysql_or_mariadb_and_mysql_by_default():
    assert config().workspaces[0].database.in_cluster.engine is None  # the component's default: MySQL
    ws = config(workspaces=[{"name": "a", "database": {"inCluster": {"engine": "mariadb"}}}]).workspaces[0]
    assert ws.database.in_cluster.engine == "mariadb"
    bad = problems(with_(workspaces=[{"name": "a", "database": {"inCluster": {"engine": "postgres"}}}]))
    assert "mysql" in bad["workspaces[0].database.inCluster.engine"] and "mariadb" in bad["workspaces[0].database.inCluster.engine"]


def test_control_plane_database_engine_is_rejected():
    bad = problems(with_(controlPlane={"enabled": True, "database": {"inCluster": {"engine": "mariadb"}}}))
    assert "database.inCluster.engine" in bad["controlPlane"] and "PostgreSQL" in bad["controlPlane"]


def test_default_artifact_mode_is_derived_in_one_place():
    """StackConfig.artifact_mode_of: as set, else none in saas (artifacts stay with tenants), else bucket; the AWS and
    GCP workspace services, residency and `workspace remove` all read it."""
    from tests.cloud.helpers import stack_config

    saas, hybrid = stack_config("saas-aws"), stack_config("hybrid-aws")
    assert [saas.artifact_mode_of(ws) for ws in saas.workspaces] == ["tenant", "tenant", "none"]
    assert {hybrid.artifact_mode_of(ws) for ws in hybrid.workspaces} == {"bucket"}
    bare = saas.workspaces[0].model_copy(update={"artifact_store": None})
    assert saas.artifact_mode_of(bare) == "none" and hybrid.artifact_mode_of(bare) == "bucket"
