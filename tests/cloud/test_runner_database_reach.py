"""Runner pods run tenant pipeline code: their NetworkPolicies must never let them reach a database port.

For every example stack and contract fixture, the egress rules that select pods in a runner namespace are evaluated
against every database the stack has: in-cluster database pods (by namespace and pod labels, and by address, since
pod addresses can fall inside an ipBlock), RDS in the VPC, Cloud SQL in the private services range. A rule reaches a
database when one of its peers can match it and its ports include 3306 or 5432 (no ports: every port).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tests.contract.stack_plans import FIXTURE_STACK_FILES, STACK_FILES, config, objects, stack_name

DB_PORTS = (3306, 5432)
# Where pod and cluster-internal addresses can be on a plain Kubernetes target.
PRIVATE = [ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]


def _port_allows(rule: dict, port: int) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        if "port" not in p:
            return True
        start = int(p["port"])
        end = int(p.get("endPort", start))
        if start <= port <= end:
            return True
    return False


def _block_reaches(block: dict, ranges: list) -> bool:
    """Some address of `ranges` is inside the ipBlock and not in its except list."""
    cidr = ipaddress.ip_network(block["cidr"])
    excepts = [ipaddress.ip_network(e) for e in block.get("except", [])]
    for target in ranges:
        if not cidr.overlaps(target):
            continue
        inside = target if target.subnet_of(cidr) else cidr
        remaining = [inside]
        for ex in excepts:
            nxt = []
            for net in remaining:
                if not net.overlaps(ex):
                    nxt.append(net)
                elif not net.subnet_of(ex):
                    nxt.extend(net.address_exclude(ex))
            remaining = nxt
        if remaining:
            return True
    return False


def _labels_match(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _databases(path, objs) -> list[dict[str, Any]]:
    cfg = config(path)
    ns_labels = {o["metadata"]["name"]: {**o["metadata"].get("labels", {}), "kubernetes.io/metadata.name": o["metadata"]["name"]}
                 for o in objs if o["kind"] == "Namespace"}
    pod_ranges = [ipaddress.ip_network(cfg.aws.vpc_cidr)] if cfg.aws else PRIVATE
    dbs = []
    for o in objs:
        if o["kind"] != "StatefulSet":
            continue
        ports = {int(p["containerPort"]) for c in o["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        if ports & set(DB_PORTS):
            ns = o["metadata"]["namespace"]
            dbs.append({"what": f"in-cluster database {ns}/{o['metadata']['name']}", "ns": ns_labels.get(ns, {"kubernetes.io/metadata.name": ns}),
                        "pod": o["spec"]["template"]["metadata"]["labels"], "ranges": pod_ranges})
    externals = [ws.database.external.host for ws in cfg.workspaces if ws.database.external is not None]
    if cfg.control_plane.enabled and cfg.control_plane.database.external is not None:
        externals.append(cfg.control_plane.database.external.host)
    for host in externals:  # a DNS name: its address could be anywhere
        dbs.append({"what": f"external database {host}", "ns": None, "pod": None, "ranges": [ipaddress.ip_network("0.0.0.0/0")]})
    if cfg.aws:
        dbs.append({"what": "RDS in the VPC", "ns": None, "pod": None, "ranges": [ipaddress.ip_network(cfg.aws.vpc_cidr)]})
    if cfg.gcp:
        dbs.append({"what": "Cloud SQL (private services range)", "ns": None, "pod": None,
                    "ranges": [ipaddress.ip_network(cfg.gcp.private_services_cidr)]})
    return dbs


def _rule_reaches(rule: dict, db: dict) -> bool:
    if not any(_port_allows(rule, p) for p in DB_PORTS):
        return False
    peers = rule.get("to")
    if not peers:
        return True  # any destination
    for peer in peers:
        if "ipBlock" in peer and _block_reaches(peer["ipBlock"], db["ranges"]):
            return True
        if db["pod"] is not None and ("namespaceSelector" in peer or "podSelector" in peer):
            ns_ok = "namespaceSelector" in peer and _labels_match(peer["namespaceSelector"], db["ns"])
            ns_ok = ns_ok or ("namespaceSelector" not in peer)  # podSelector alone: the policy's own namespace
            if ns_ok and _labels_match(peer.get("podSelector", {}), db["pod"]):
                if "namespaceSelector" in peer or db["ns"].get("zenml-platform.io/role") == "runners":
                    return True
    return False


@pytest.mark.parametrize("path", [*STACK_FILES, *FIXTURE_STACK_FILES], ids=stack_name)
def test_runner_pods_cannot_reach_any_database_port(path):
    objs = objects(path, False)
    runner_ns = {o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"
                 and o["metadata"].get("labels", {}).get("zenml-platform.io/role") == "runners"}
    if not runner_ns:
        pytest.skip("no runner namespace in this stack")
    dbs = _databases(path, objs)
    assert dbs
    checked = 0
    for pol in objs:
        if pol["kind"] != "NetworkPolicy" or pol["metadata"]["namespace"] not in runner_ns:
            continue
        if "Egress" not in pol["spec"].get("policyTypes", []):
            continue
        for rule in pol["spec"].get("egress", []):
            checked += 1
            for db in dbs:
                assert not _rule_reaches(rule, db), (
                    f"{path.name}: runner policy {pol['metadata']['namespace']}/{pol['metadata']['name']} lets pipeline "
                    f"code reach {db['what']} on a database port: {rule}")
    assert checked


def test_the_evaluator_sees_the_old_open_vpc_rule():
    """The rule the AWS runners had before (the whole VPC on every port) is caught, and the port-ranged one is not."""
    db = {"what": "RDS", "ns": None, "pod": None, "ranges": [ipaddress.ip_network("10.0.0.0/16")]}
    assert _rule_reaches({"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}]}, db)
    assert _rule_reaches({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}, db)
    assert not _rule_reaches({"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 443}]}, db)
    assert not _rule_reaches({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}, db)
    from components.runner_namespace import NON_DATABASE_PORTS

    assert not _rule_reaches({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": NON_DATABASE_PORTS}, db)
