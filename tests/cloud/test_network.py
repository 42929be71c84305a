"""Egress of the workspace servers on cloud targets: the database at its CIDR and port, cloud APIs on 443 only,
and, air-gapped, nothing outside the VPC / private Google API ranges."""

from __future__ import annotations

import pytest

from tests.cloud.helpers import planned, stack_config


def server_policy(result, namespace: str) -> dict:
    [p] = [r for r in result.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
           if r.inputs["metadata"]["namespace"] == namespace and r.inputs["metadata"]["name"] == "zenml-server"]
    return p.inputs["spec"]


@pytest.mark.parametrize("stack", ["hybrid-aws", "hybrid-gcp", "airgapped-aws", "airgapped-gcp", "saas-aws", "saas-gcp"])
def test_database_egress_is_pinned(stack):
    cfg = stack_config(stack)
    result = planned(stack, False)
    cidr = cfg.aws.vpc_cidr if cfg.aws else cfg.gcp.private_services_cidr
    for ws in cfg.workspaces:
        egress = server_policy(result, cfg.namespace_of(ws))["egress"]
        db_rules = [r for r in egress if {"protocol": "TCP", "port": 3306} in r.get("ports", [])]
        assert db_rules == [{"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": 3306}]}]


@pytest.mark.parametrize("stack", ["airgapped-aws", "airgapped-gcp"])
def test_airgapped_servers_have_no_open_destination(stack):
    cfg = stack_config(stack)
    result = planned(stack, False)
    for ws in cfg.workspaces:
        egress = server_policy(result, cfg.namespace_of(ws))["egress"]
        for rule in egress:
            assert rule.get("to"), f"{ws.name}: egress rule without destination: {rule}"
            for peer in rule["to"]:
                assert "0.0.0.0/0" not in str(peer)


def test_hybrid_server_reaches_control_plane_and_cloud_apis_on_https_only():
    cfg = stack_config("hybrid-aws")
    result = planned("hybrid-aws", False)
    for ws in cfg.workspaces:
        egress = server_policy(result, cfg.namespace_of(ws))["egress"]
        open_rules = [r for r in egress if not r.get("to")]
        assert open_rules and all(set(p["port"] for p in r["ports"]) <= {443, 6443} for r in open_rules)


@pytest.mark.parametrize("stack", ["airgapped-aws", "airgapped-gcp"])
def test_the_air_gap_setting_not_the_layout_closes_cloud_api_egress(stack):
    """The same self-hosted stack with airGap off reaches cloud APIs on any address (443); on, only private ranges."""
    from planning.run import run_program
    from tests.cloud.helpers import load, stack_data

    data = stack_data(stack)
    data["zenml-platform:airGap"] = {"enabled": False}
    cfg = load(data)
    assert cfg.scenario.value == "self-hosted" and not cfg.air_gapped
    result = run_program(cfg, stack, preview=False)
    for ws in cfg.workspaces:
        egress = server_policy(result, cfg.namespace_of(ws))["egress"]
        assert {"ports": [{"protocol": "TCP", "port": 443}]} in egress
        closed = server_policy(planned(stack, False), cfg.namespace_of(ws))["egress"]
        assert {"ports": [{"protocol": "TCP", "port": 443}]} not in closed
