"""Issue 11 point 8: each RDS security group admits only its own clients' pod security groups, never the nodes'.

Pods egress with the node security group; before this fix every database admitted it, so a runner pod (tenant
pipeline code) could open TCP to every database even where NetworkPolicy forbids it. Now a SecurityGroupPolicy
(EKS security groups for pods) gives each client identity its own group, and the database groups admit those alone.
Checked under mocks in preview and update mode on every AWS example stack.
"""

from __future__ import annotations

import pytest

from components.aws.pod_network import SGP_API_VERSION, SGP_KIND
from tests.cloud.helpers import AWS_STACKS, descendants, planned, stack_config, workspace_urn

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SGP = f"kubernetes:{SGP_API_VERSION}:{SGP_KIND}"
CLIENT_GROUP = "zenml-platform:aws:DatabaseClientGroup"
MODES = [pytest.param(True, id="preview"), pytest.param(False, id="update")]


def _groups(result):
    """Database groups (children of an RdsInstance) and client groups (children of a DatabaseClientGroup), by URN."""
    parents = {r.urn: r for r in result.registrations}
    db, clients = {}, {}
    for sg in result.of_type(SG):
        parent = parents[sg.parent].type
        if parent == "zenml-platform:aws:RdsInstance":
            db[sg.urn] = sg
        elif parent == CLIENT_GROUP:
            clients[sg.urn] = sg
        else:
            raise AssertionError(f"security group {sg.name} outside a database or client group")
    return db, clients


def _one(pool, what, rule):
    found = [u for u in rule.dependencies if u in pool]
    assert len(found) == 1, f"{rule.name}: {what} is not exactly one known group: {rule.dependencies}"
    return found[0]


def _ingress_sources(result) -> dict[str, set[str]]:
    """Database group URN -> client group URNs its ingress rules admit."""
    db, clients = _groups(result)
    sources: dict[str, set[str]] = {u: set() for u in db}
    for rule in result.of_type(INGRESS):
        x = rule.inputs
        assert "cidrIpv4" not in x and "cidrIpv6" not in x and "prefixListId" not in x, rule.name
        target = _one(db, "target", rule)
        source = _one(clients, "source", rule)
        sources[target].add(source)
        assert x["fromPort"] == x["toPort"] in (3306, 5432) and x["ipProtocol"] == "tcp"
    return sources


@pytest.mark.parametrize("preview", MODES)
@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_database_admits_the_node_security_group(stack, preview):
    cfg = stack_config(stack)
    result = planned(stack, preview)
    node_sg = cfg.aws.eks.node_security_group_id
    rules = result.of_type(INGRESS)
    assert rules
    for rule in rules:
        assert rule.inputs["referencedSecurityGroupId"] != node_sg, f"{rule.name} admits the node security group"
    sources = _ingress_sources(result)
    assert sources and all(sources.values()), f"a database with no client: {sources}"


@pytest.mark.parametrize("preview", MODES)
@pytest.mark.parametrize("stack", AWS_STACKS)
def test_each_workspace_database_admits_only_its_own_server_and_its_bootstrap(stack, preview):
    cfg = stack_config(stack)
    result = planned(stack, preview)
    db, clients = _groups(result)
    sources = _ingress_sources(result)
    by_urn = {r.urn: r for r in result.registrations}
    checked = 0
    for ws in cfg.workspaces:
        if ws.database.mode.value != "managed":
            continue
        mine = descendants(result, workspace_urn(result, ws.name))
        [server_group] = [r for r in mine if r.type == CLIENT_GROUP and r.name == f"{ws.name}-db-clients"]
        [server_sg] = [u for u, sg in clients.items() if sg.parent == server_group.urn]
        holding = [u for u, s in sources.items() if server_sg in s]
        assert len(holding) == 1, f"{ws.name}: its server group reaches {len(holding)} databases"
        admitted = sources[holding[0]]
        names = {by_urn[by_urn[u].parent].name for u in admitted}
        instance = by_urn[by_urn[holding[0]].parent].name  # the RdsInstance component
        other_servers = {f"{w.name}-db-clients" for w in cfg.workspaces if w.name != ws.name}
        if ws.database.managed.instance == "shared":
            # A shared instance admits every workspace placed on it (each has only its own user and database).
            shared_users = {f"{w.name}-db-clients" for w in cfg.workspaces
                            if w.database.mode.value == "managed" and w.database.managed.instance == "shared"}
            assert names - {n for n in names if n.endswith("-bootstrap-clients")} == shared_users, names
        else:
            assert not names & other_servers, f"{ws.name}'s database admits another workspace's server: {names}"
            assert names == {f"{ws.name}-db-clients", f"{cfg.aws.name_prefix}-{ws.name}-bootstrap-clients"}, (instance, names)
        checked += 1
    if cfg.control_plane.enabled and cfg.control_plane.database.mode.value == "managed":
        [cp] = [u for u, s in sources.items() if by_urn[by_urn[u].parent].name == "control-plane-rds"]
        assert {by_urn[by_urn[u].parent].name for u in sources[cp]} == {"control-plane-db-clients"}
        checked += 1
    assert checked


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_rules_name_the_client_group_ids_on_update(stack):
    """With ids known (update), each rule's referenced group is its client group's id and its target the database's."""
    result = planned(stack, False)
    db, clients = _groups(result)
    for rule in result.of_type(INGRESS):
        source = clients[_one(clients, "source", rule)]
        target = db[_one(db, "target", rule)]
        assert rule.inputs["referencedSecurityGroupId"] == f"{source.name}-id"
        assert rule.inputs["securityGroupId"] == f"{target.name}-id"
    for rule in result.of_type(EGRESS):
        # Client groups open only a database port, only towards a database group.
        source = clients[_one(clients, "source", rule)]
        target = db[_one(db, "target", rule)]
        assert rule.inputs["securityGroupId"] == f"{source.name}-id"
        assert rule.inputs["referencedSecurityGroupId"] == f"{target.name}-id"
        assert rule.inputs["fromPort"] == rule.inputs["toPort"] in (3306, 5432)
    for sg in clients.values():
        assert not sg.inputs.get("ingress") and not sg.inputs.get("egress"), f"{sg.name} has inline rules"


@pytest.mark.parametrize("preview", MODES)
@pytest.mark.parametrize("stack", AWS_STACKS)
def test_policies_select_only_database_clients_never_runners(stack, preview):
    """Runner pods get no pod security group, so they keep the node group, which no database admits."""
    cfg = stack_config(stack)
    result = planned(stack, preview)
    policies = result.of_type(SGP)
    assert policies
    runner_ns = {cfg.runner_namespace_of(ws) for ws in cfg.workspaces if cfg.runner_enabled(ws)}
    accounts = [r for r in result.of_type("kubernetes:core/v1:ServiceAccount")]
    node_sg = cfg.aws.eks.node_security_group_id
    for pol in policies:
        spec = pol.inputs["spec"]
        ns = pol.inputs["metadata"]["namespace"]
        assert ns not in runner_ns, f"{pol.name}: a SecurityGroupPolicy in runner namespace {ns}"
        groups = spec["securityGroups"]["groupIds"]
        assert len(groups) == 2 and groups[1] == node_sg
        if not preview:
            [group] = [r for r in result.registrations if r.urn == pol.parent]
            assert groups[0] == f"{group.name}-sg-id"
        assert len({"podSelector", "serviceAccountSelector"} & set(spec)) == 1
        if "serviceAccountSelector" in spec:
            want = spec["serviceAccountSelector"]["matchLabels"]
            assert want, f"{pol.name}: an empty serviceAccountSelector selects every account"
            hits = [a for a in accounts if a.inputs["metadata"].get("namespace") == ns
                    and all(a.inputs["metadata"].get("labels", {}).get(k) == v for k, v in want.items())]
            names = {a.inputs["metadata"]["name"] for a in hits}
            if pol.name.endswith("-bootstrap-clients-sgp"):
                assert len(hits) == 1 and names <= {a.inputs["metadata"]["name"] for a in accounts}
            else:
                assert names == {"zenml-server", "zenml-migration"}, f"{pol.name} selects {names}"
        else:
            # Only the control plane's namespace is selected whole (the vendor chart's labels are undocumented).
            assert pol.name == "control-plane-db-clients-sgp" and spec["podSelector"] == {}
            assert ns not in {cfg.namespace_of(ws) for ws in cfg.workspaces} | runner_ns

