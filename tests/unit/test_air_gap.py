"""`scenario` (where the control plane runs) and `airGap` (what the network lets out) are separate settings.

The air-gap rules hold whatever the layout; a self-hosted stack without an air gap pulls from public registries;
the deprecated `scenario: airgapped` loads as self-hosted + airGap.enabled with a note saying what to write.
"""

from __future__ import annotations

import copy

import pytest

from stack_config import ConfigError, load_from_mapping
from stack_config.model import Edition, Scenario
from tests.conftest import PRO_WORKSPACE, namespaced, plan

CP_PUBLIC = {"enabled": True}  # the chart from its public OCI repository (no archive)
ACME = {"mode": "cert-manager", "certManager": {"issuerName": "letsencrypt", "acme": True}}


def self_hosted(**overrides) -> dict:
    """A self-hosted stack that pulls everything from public registries: no mirror, no air gap."""
    data = {"scenario": "self-hosted", "domain": "zenml.example.com", "workspaces": [{"name": "alpha"}]}
    data.update(overrides)
    return data


def air_gapped(**overrides) -> dict:
    """Self-hosted behind an air gap, valid as it stands (mirror, local chart, no ACME, no runner internet)."""
    ws = copy.deepcopy(PRO_WORKSPACE)
    data = self_hosted(
        airGap={"enabled": True},
        registryMirror={"registry": "registry.corp.internal:5000"},
        controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.12.tgz"}},
        workspaces=[ws],
    )
    data.update(overrides)
    return data


def load(data: dict):
    return load_from_mapping(namespaced(data))


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load(data)
    return {p.path: p.reason for p in info.value.problems}


# --- self-hosted without an air gap ----------------------------------------------------------------------------


def test_self_hosted_without_air_gap_pulls_from_public_registries(preview):
    ws = copy.deepcopy(PRO_WORKSPACE)
    ws["runner"] = {"egress": {"allowInternet": True}}
    cfg = load(self_hosted(controlPlane=CP_PUBLIC, tls=ACME, workspaces=[ws]))
    assert cfg.scenario is Scenario.self_hosted and not cfg.air_gapped and cfg.deprecations == ()
    assert cfg.edition_of(cfg.workspaces[0]) is Edition.pro and cfg.pro_api_url == "https://zenml.zenml.example.com/api/v1"
    result = plan(cfg, preview)
    images = {c["image"] for d in result.of_type("kubernetes:apps/v1:Deployment")
              for c in d.inputs["spec"]["template"]["spec"]["containers"]}
    assert "715803424590.dkr.ecr.eu-central-1.amazonaws.com/zenml-pro-server:0.98.0" in images  # not rewritten
    [release] = result.of_type("kubernetes:helm.sh/v3:Release")
    assert release.inputs["chart"] == "oci://public.ecr.aws/zenml/zenml-pro"
    assert result.outputs["scenario"] == "self-hosted"


def test_self_hosted_oss_stack_needs_no_mirror():
    cfg = load(self_hosted())
    assert cfg.registry_mirror is None and cfg.edition_of(cfg.workspaces[0]) is Edition.oss


def test_policy_pack_checks_the_mirror_only_behind_an_air_gap():
    from policies.stack_policy_config import policy_config

    mirror = {"registry": "registry.corp.internal:5000"}
    assert policy_config(load(self_hosted(registryMirror=mirror))) == {}
    assert policy_config(load(air_gapped())) == {"zenml-images-from-mirror": {"mirror": "registry.corp.internal:5000"}}


def test_a_pro_workspace_self_hosted_needs_this_stacks_control_plane():
    found = problems(self_hosted(workspaces=[copy.deepcopy(PRO_WORKSPACE)]))
    assert "needs this stack's control plane" in found["workspaces[0].edition"]


# --- the air-gap rules, one failing case each -------------------------------------------------------------------


def test_the_air_gapped_baseline_is_valid():
    cfg = load(air_gapped())
    assert cfg.air_gapped and cfg.scenario is Scenario.self_hosted


@pytest.mark.parametrize("change, path, words", [
    (lambda d: d.pop("registryMirror"), "registryMirror", "needs registryMirror.registry"),
    (lambda d: d.update(tls=ACME), "tls.certManager.acme", "cannot use an ACME issuer"),
    (lambda d: d.update(controlPlane=CP_PUBLIC), "controlPlane.chart.archive", "cannot pull the chart from oci://public.ecr.aws"),
    (lambda d: d["workspaces"][0].update(runner={"egress": {"allowInternet": True}}),
     "workspaces[0].runner.egress.allowInternet", "has no internet egress"),
], ids=["mirror", "acme", "chart", "runner-internet"])
def test_each_air_gap_rule_fails_alone(change, path, words):
    data = air_gapped()
    change(data)
    found = problems(data)
    assert list(found) == [path], found
    assert words in found[path] and "airGap.enabled" in found[path]
    # The same change without the air gap is a valid self-hosted stack.
    data["airGap"] = {"enabled": False}
    assert not load(data).air_gapped


def test_air_gap_rules_hold_in_the_saas_layout_too():
    data = air_gapped(scenario="saas", workspaces=[copy.deepcopy(PRO_WORKSPACE)])
    assert load(data).air_gapped
    data.pop("registryMirror")
    assert "registryMirror" in problems(data)


def test_hybrid_cannot_be_air_gapped():
    found = problems({"scenario": "hybrid", "domain": "zenml.example.com", "airGap": {"enabled": True},
                      "registryMirror": {"registry": "r.internal"}, "workspaces": [copy.deepcopy(PRO_WORKSPACE)]})
    assert list(found) == ["airGap.enabled"] and "ZenML-hosted control plane" in found["airGap.enabled"]


def test_production_verifies_external_database_certificates_in_every_layout():
    ws = copy.deepcopy(PRO_WORKSPACE)
    ws["database"] = {"mode": "external", "external": {
        "host": "db.internal", "database": "zenml", "username": "zenml",
        "password": {"secretKeyRef": {"name": "db", "key": "password"}}, "verifyServerCertificate": False}}
    found = problems({"scenario": "hybrid", "profile": "production", "domain": "zenml.example.com", "workspaces": [ws]})
    assert found == {"workspaces[0].database.external.verifyServerCertificate": "production stacks verify the database certificate"}


# --- the deprecated spelling ------------------------------------------------------------------------------------


def test_airgapped_loads_as_self_hosted_with_the_air_gap_on():
    new = load(air_gapped())
    old_data = air_gapped(scenario="airgapped")
    del old_data["airGap"]
    old = load(old_data)
    assert old.model_dump() == new.model_dump()
    assert old.scenario is Scenario.self_hosted and old.air_gapped
    assert new.deprecations == ()
    assert old.deprecations == (
        "scenario: `airgapped` is deprecated and read as self-hosted behind an air gap; write scenario: self-hosted "
        "and airGap: {enabled: true} instead (docs/upgrading.md)",
    )


@pytest.mark.parametrize("air_gap, write", [
    ({}, "write scenario: self-hosted and airGap.enabled: true instead"),
    ({"enabled": True}, "write scenario: self-hosted (airGap.enabled is already set) instead"),
])
def test_the_note_says_what_is_left_to_write(air_gap, write):
    data = air_gapped(scenario="airgapped", airGap=air_gap)
    cfg = load(data)
    assert cfg.air_gapped and len(cfg.deprecations) == 1 and write in cfg.deprecations[0]


def test_the_deprecated_spelling_keeps_the_air_gap_rules():
    data = air_gapped(scenario="airgapped")
    del data["airGap"], data["registryMirror"]
    assert "registryMirror" in problems(data)


def test_airgapped_beside_air_gap_off_is_a_contradiction_naming_both_keys():
    found = problems(air_gapped(scenario="airgapped", airGap={"enabled": False}))
    assert "scenario" in found
    assert "airGap.enabled" in found["scenario"] and "deprecated" in found["scenario"]


def test_engine_config_reads_the_deprecated_spelling_too(tmp_path, monkeypatch):
    """Inside `pulumi up` the config comes from the engine: top-level values as strings, sections as JSON."""
    import json

    from pulumi.runtime import config as runtime_config

    import stack_config.loader as loader

    monkeypatch.setattr(loader, "stack_file_path", lambda stack: tmp_path / "absent.yaml")
    runtime_config.set_all_config({
        "zenml-platform:scenario": "airgapped",
        "zenml-platform:domain": "zenml.example.com",
        "zenml-platform:registryMirror": json.dumps({"registry": "r.internal"}),
        "zenml-platform:workspaces": json.dumps([{"name": "alpha"}]),
    }, [])
    try:
        cfg = loader.load_from_pulumi_runtime("rt")
    finally:
        runtime_config.set_all_config({}, [])
    assert cfg.air_gapped and cfg.scenario is Scenario.self_hosted and len(cfg.deprecations) == 1


def test_policy_config_script_keeps_stdout_json_and_warns_on_stderr(tmp_path, capsys):
    import json

    import yaml

    from policies.stack_policy_config import main

    path = tmp_path / "Pulumi.old.yaml"
    data = air_gapped(scenario="airgapped")
    del data["airGap"]
    path.write_text(yaml.safe_dump({"config": namespaced(data)}))
    assert main([str(path)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == {"zenml-images-from-mirror": {"mirror": "registry.corp.internal:5000"}}
    assert out.err.startswith("warning: Pulumi.old.yaml: scenario: `airgapped` is deprecated") and out.err.count("\n") == 1
