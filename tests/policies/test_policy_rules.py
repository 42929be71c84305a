"""The policy pack's rules over every example stack (`stacks/Pulumi.*.yaml`, plus the fixture stacks), in preview
and update mode: mandatory rules pass; each mandatory rule fires on a resource broken the way it guards against;
and the pack wires every rule into pulumi_policy with the right enforcement level."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import zenml_policy_pack as pack
import zenml_rules as rules

from tests.contract.stack_plans import FIXTURE_STACK_FILES, STACK_FILES, config, plan, stack_name

ALL_STACKS = [*STACK_FILES, *FIXTURE_STACK_FILES]
MANDATORY = [r for r in rules.RULES if r.mandatory]


def resources(path, preview=False) -> list[rules.Resource]:
    return [rules.Resource(r.type, r.inputs, r.urn, r.name, r.parent, tuple(r.secret_outputs))
            for r in plan(path, preview).registrations]


def policy_config(path) -> dict:
    """What the CLI passes as --policy-pack-config (policies/stack_policy_config.py)."""
    from stack_policy_config import policy_config as for_stack

    return for_stack(config(path))


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
@pytest.mark.parametrize("path", [pytest.param(p, id=stack_name(p)) for p in ALL_STACKS])
def test_mandatory_rules_pass_on_every_stack(path, preview):
    results = rules.evaluate(resources(path, preview), policy_config(path))
    failed = {name: msgs for name, msgs in results.items() if msgs and rules.RULES_BY_NAME[name].mandatory}
    assert not failed, f"{path.name}: mandatory policy violations:\n" + "\n".join(
        f"{name}: {m}" for name, msgs in failed.items() for m in msgs)


def test_airgapped_stacks_are_checked_against_their_mirror():
    checked = [p for p in STACK_FILES if policy_config(p)]
    assert checked, "no air-gapped example stack: the mirror rule is not exercised"


# --- every mandatory rule fires on what it guards against -----------------------------------------------------------


def _find(kind_or_type: str, pred: Callable[[rules.Resource], bool] = lambda r: True) -> rules.Resource:
    for path in ALL_STACKS:
        for r in resources(path):
            if (r.type == kind_or_type or rules.kind_of(r.type) == kind_or_type) and pred(r):
                return copy.deepcopy(r)
    pytest.skip(f"no {kind_or_type} in any example stack")


def _server(r: rules.Resource) -> bool:
    return rules.get(r.props, "metadata", "name") == "zenml-server"


def _container(r: rules.Resource) -> dict:
    return rules.pod_specs(r)[0][1]["containers"][0]


def _violations(rule_name: str, broken: list[rules.Resource], cfg: dict | None = None) -> list[str]:
    return rules.evaluate(broken, {rule_name: cfg or {}})[rule_name]


def test_public_database_is_rejected():
    svc = _find("Service", lambda r: rules.get(r.props, "metadata", "name", default="").endswith("mysql"))
    svc.props["spec"]["type"] = "LoadBalancer"
    assert _violations("zenml-no-public-database", [svc])
    sg_rule = rules.Resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                             {"cidrIpv4": "0.0.0.0/0", "fromPort": 3306, "toPort": 3306, "ipProtocol": "tcp"}, name="db")
    assert _violations("zenml-no-public-database", [sg_rule])
    rds = _find("aws:rds/instance:Instance")
    assert not _violations("zenml-no-public-database", [rds])
    rds.props["publiclyAccessible"] = True
    assert _violations("zenml-no-public-database", [rds])
    sql = _find("gcp:sql/databaseInstance:DatabaseInstance")
    assert not _violations("zenml-no-public-database", [sql])
    sql.props["settings"]["ipConfiguration"]["ipv4Enabled"] = True
    assert _violations("zenml-no-public-database", [sql])


def test_unencrypted_storage_is_rejected():
    rds = _find("aws:rds/instance:Instance")
    rds.props["storageEncrypted"] = False
    assert _violations("zenml-storage-encrypted", [rds])
    sql = _find("gcp:sql/databaseInstance:DatabaseInstance")
    sql.props["settings"]["ipConfiguration"]["sslMode"] = "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
    assert _violations("zenml-storage-encrypted", [sql])
    sse = _find("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    sse.props["rules"] = []
    assert _violations("zenml-storage-encrypted", [sse])


def test_plaintext_secrets_are_rejected():
    dep = _find("Deployment", _server)
    _container(dep)["env"].append({"name": "ZENML_STORE_PASSWORD", "value": "hunter2"})
    assert _violations("zenml-no-plaintext-secrets", [dep])
    dep = _find("Deployment", _server)
    _container(dep)["env"].append({"name": "EXTRA", "value": "-----BEGIN PRIVATE KEY-----\nMII..."})
    assert _violations("zenml-no-plaintext-secrets", [dep])
    # Paths to key files are not secrets.
    dep = _find("Deployment", _server)
    _container(dep)["env"].append({"name": "ZENML_STORE_SSL_KEY", "value": "/etc/zenml/db-tls/tls.key"})
    assert not _violations("zenml-no-plaintext-secrets", [dep])
    secret = _find("Secret", lambda r: r.props.get("stringData") == rules.SECRET)
    unmarked = rules.Resource(secret.type, {**secret.props, "stringData": {"password": "hunter2"}}, name=secret.name)
    assert _violations("zenml-no-plaintext-secrets", [unmarked])
    marked = rules.Resource(secret.type, unmarked.props, name=secret.name, secret_outputs=("stringData",))
    assert not _violations("zenml-no-plaintext-secrets", [marked])
    release = rules.Resource("kubernetes:helm.sh/v3:Release",
                             {"values": {"zenml": {"auth": {"password": {"adminPassword": "hunter2"}}}}}, name="cp")
    assert _violations("zenml-no-plaintext-secrets", [release])
    assert not _violations("zenml-no-plaintext-secrets", [
        rules.Resource(release.type, release.props, name="cp", secret_outputs=("values",))])
    cm = rules.Resource("kubernetes:core/v1:ConfigMap", {"metadata": {"name": "x"}, "data": {"db-password": "x"}})
    assert _violations("zenml-no-plaintext-secrets", [cm])


def test_containers_without_limits_or_as_root_are_rejected():
    dep = _find("Deployment", _server)
    del _container(dep)["resources"]["limits"]
    assert _violations("zenml-container-limits", [dep])
    for mutate in (
        lambda c, s: c["securityContext"].update(runAsNonRoot=False) or s["securityContext"].update(runAsNonRoot=False),
        lambda c, s: c["securityContext"].update(runAsUser=0),
        lambda c, s: c["securityContext"].update(allowPrivilegeEscalation=True),
        lambda c, s: c["securityContext"].update(privileged=True),
    ):
        dep = _find("Deployment", _server)
        spec = rules.pod_specs(dep)[0][1]
        mutate(spec["containers"][0], spec)
        assert _violations("zenml-container-non-root", [dep])
    cron = _find("CronJob")
    assert not _violations("zenml-container-limits", [cron])
    rules.pod_specs(cron)[0][1]["containers"][0].pop("resources")
    assert _violations("zenml-container-limits", [cron])


def test_runner_namespace_without_network_policies_is_rejected():
    for path in ALL_STACKS:
        res = resources(path)
        runner_ns = [r for r in res if rules.kind_of(r.type) == "Namespace"
                     and (rules.get(r.props, "metadata", "labels", default={}) or {}).get("zenml-platform.io/role") == "runners"]
        if runner_ns:
            break
    else:
        pytest.skip("no runner namespace in any stack")
    assert not _violations("zenml-runner-namespace-isolated", res)
    name = rules.get(runner_ns[0].props, "metadata", "name")
    stripped = [r for r in res if not (rules.kind_of(r.type) == "NetworkPolicy"
                                       and rules.get(r.props, "metadata", "namespace") == name)]
    found = _violations("zenml-runner-namespace-isolated", stripped)
    assert any(name in m and "Ingress" in m for m in found) and any(name in m and "Egress" in m for m in found)
    # Preview: namespace names unknown; policies are matched through the component that owns both.
    res_preview = resources(path, preview=True)
    assert not _violations("zenml-runner-namespace-isolated", res_preview)


def test_images_outside_the_mirror_are_rejected():
    airgapped = [p for p in STACK_FILES if policy_config(p)]
    if not airgapped:
        pytest.skip("no air-gapped example stack")
    cfg = policy_config(airgapped[0])["zenml-images-from-mirror"]
    res = resources(airgapped[0])
    assert not _violations("zenml-images-from-mirror", res, cfg)
    dep = copy.deepcopy(next(r for r in res if rules.kind_of(r.type) == "Deployment"))
    _container(dep)["image"] = "docker.io/library/busybox:1.36"
    assert _violations("zenml-images-from-mirror", [dep], cfg)
    release = rules.Resource("kubernetes:helm.sh/v3:Release", {"chart": "oci://public.ecr.aws/zenml/zenml-pro"}, name="cp")
    assert _violations("zenml-images-from-mirror", [release], cfg)
    assert not _violations("zenml-images-from-mirror", [dep], {})  # not air-gapped: not applicable


def test_ingress_without_tls_is_rejected():
    ing = _find("Ingress")
    assert not _violations("zenml-ingress-tls", [ing])
    ing.props["spec"]["tls"] = []
    assert _violations("zenml-ingress-tls", [ing])
    release = rules.Resource("kubernetes:helm.sh/v3:Release",
                             {"values": {"zenml": {"ingress": {"enabled": True, "tls": {"enabled": False}}}}}, name="cp")
    assert _violations("zenml-ingress-tls", [release])


def test_every_mandatory_rule_has_a_negative_test():
    tested = {"zenml-no-public-database", "zenml-storage-encrypted", "zenml-no-plaintext-secrets",
              "zenml-container-limits", "zenml-container-non-root", "zenml-runner-namespace-isolated",
              "zenml-images-from-mirror", "zenml-ingress-tls"}
    assert {r.name for r in MANDATORY} == tested


# --- the pack -----------------------------------------------------------------------------------------------------


def test_pack_wires_every_rule_with_its_enforcement_level():
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

    policies = pack.build_policies()
    assert [p.name for p in policies] == [r.name for r in rules.RULES]
    for p, r in zip(policies, rules.RULES, strict=True):
        assert p.enforcement_level == (EnforcementLevel.MANDATORY if r.mandatory else EnforcementLevel.ADVISORY)
        assert isinstance(p, StackValidationPolicy if r.stack else ResourceValidationPolicy)


def test_resource_policy_sees_props_as_the_engine_passes_them():
    """Props reach a policy behind pulumi_policy's unknown-checking proxy; unknowns must not crash a rule."""
    from pulumi_policy import ResourceValidationArgs
    from pulumi_policy.policy import PolicyResourceOptions
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    dep = _find("Deployment", _server)
    _container(dep)["env"].append({"name": "DB_PASSWORD", "value": "hunter2"})
    rules.pod_specs(dep)[0][1]["serviceAccountName"] = UNKNOWN_STRING_VALUE
    opts = PolicyResourceOptions(False, [], False, [], None, [], None)
    args = ResourceValidationArgs(dep.type, unknown_checking_proxy(dep.props), "urn:x", "server", opts, None, {})
    reported: list[str] = []
    policy = next(p for p in pack.build_policies() if p.name == "zenml-no-plaintext-secrets")
    policy.validate(args, lambda message, urn=None: reported.append(message))
    assert any("DB_PASSWORD" in m for m in reported)
