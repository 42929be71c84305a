"""The policy pack as the engine runs it: `python policies/__main__.py` serving Pulumi's Analyzer gRPC protocol.

The engine starts a Python pack through its language host and then speaks only this protocol, so driving it
directly checks everything after the start: the pack loads, lists its policies with their enforcement levels,
takes policy config, and turns props (as the engine serialises them, unknowns and secret outputs included) into
the same verdicts as the plain rule functions.
"""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
import zenml_rules as rules
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from tests.contract.stack_plans import ROOT, STACK_FILES, plan, stack_name
from tests.policies.test_policy_rules import policy_config

MANDATORY = {r.name for r in rules.RULES if r.mandatory}


@pytest.fixture(scope="module")
def analyzer():
    proc = subprocess.Popen([sys.executable, str(ROOT / "policies" / "__main__.py")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT / "policies")
    try:
        line = proc.stdout.readline().decode().strip()
        assert line.isdigit(), f"the pack did not print its port: {line!r} {proc.stderr.read1(4000)!r}"
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        proc.wait(10)


def _engine_form(value):
    """Offline plans write unknowns as "[unknown]"; the engine sends its unknown sentinel."""
    if isinstance(value, dict):
        return {k: _engine_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_form(v) for v in value]
    return UNKNOWN_STRING_VALUE if value == "[unknown]" else value


def _struct(value: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    json_format.ParseDict(_engine_form(value), s)
    return s


def _configure(stub, config: dict) -> None:
    stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
        name: analyzer_pb2.PolicyConfig(
            enforcementLevel=analyzer_pb2.MANDATORY if rules.RULES_BY_NAME[name].mandatory else analyzer_pb2.ADVISORY,
            properties=_struct(props))
        for name, props in config.items()
    }))


def _analyze(stub, reg) -> list:
    request = analyzer_pb2.AnalyzeRequest(
        type=reg.type, properties=_struct(reg.inputs), urn=reg.urn, name=reg.name,
        options=analyzer_pb2.AnalyzerResourceOptions(additionalSecretOutputs=list(reg.secret_outputs),
                                                     parent=reg.parent or ""))
    return list(stub.Analyze(request).diagnostics)


def test_pack_lists_every_rule_with_its_level(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "zenml-platform"
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert set(levels) == {r.name for r in rules.RULES}
    for r in rules.RULES:
        assert levels[r.name] == (analyzer_pb2.MANDATORY if r.mandatory else analyzer_pb2.ADVISORY), r.name


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
@pytest.mark.parametrize("path", [pytest.param(p, id=stack_name(p)) for p in STACK_FILES])
def test_example_stacks_pass_the_pack(analyzer, path, preview):
    _configure(analyzer, policy_config(path))
    registrations = plan(path, preview).registrations
    mandatory = []
    for reg in registrations:
        mandatory += [f"{d.policyName}: {d.message}" for d in _analyze(analyzer, reg)
                      if d.enforcementLevel == analyzer_pb2.MANDATORY]
    stack = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name,
                                      parent=r.parent or "",
                                      options=analyzer_pb2.AnalyzerResourceOptions(
                                          additionalSecretOutputs=list(r.secret_outputs)))
        for r in registrations
    ]))
    mandatory += [f"{d.policyName}: {d.message}" for d in stack.diagnostics if d.enforcementLevel == analyzer_pb2.MANDATORY]
    assert not mandatory, "\n".join(mandatory)


def test_pack_blocks_a_plaintext_secret(analyzer):
    _configure(analyzer, {})
    dep = next(r for r in plan(STACK_FILES[0]).registrations
               if r.type == "kubernetes:apps/v1:Deployment" and r.inputs["metadata"]["name"] == "zenml-server")
    broken = type(dep)(**{**dep.__dict__})
    broken.inputs = json_format.MessageToDict(_struct(dep.inputs))
    broken.inputs["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "DB_PASSWORD", "value": "hunter2"})
    found = _analyze(analyzer, broken)
    assert any(d.policyName == "zenml-no-plaintext-secrets" and d.enforcementLevel == analyzer_pb2.MANDATORY
               and "DB_PASSWORD" in d.message for d in found), found


def test_pack_blocks_a_runner_namespace_without_policies(analyzer):
    _configure(analyzer, {})
    for path in STACK_FILES:
        regs = plan(path, True).registrations
        runner_ns = [r for r in regs if r.type == "kubernetes:core/v1:Namespace"
                     and r.inputs["metadata"].get("labels", {}).get("zenml-platform.io/role") == "runners"]
        if runner_ns:
            break
    else:
        pytest.skip("no runner namespace in any example stack")
    kept = [r for r in regs if r.type != "kubernetes:networking.k8s.io/v1:NetworkPolicy"]
    stack = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name,
                                      parent=r.parent or "")
        for r in kept
    ]))
    assert any(d.policyName == "zenml-runner-namespace-isolated" and d.enforcementLevel == analyzer_pb2.MANDATORY
               for d in stack.diagnostics), list(stack.diagnostics)


def test_pack_checks_known_chart_values(analyzer):
    """At `up` the engine sends a Release's values unwrapped (they are secret: additionalSecretOutputs=values)."""
    _configure(analyzer, {"zenml-images-from-mirror": {"mirror": "registry.corp.internal:5000"}})
    values = {"zenml": {"image": {"api": {"repository": "715803424590.dkr.ecr.eu-west-1.amazonaws.com/zenml-pro-api"}},
                        "ingress": {"enabled": True, "tls": {"enabled": False}},
                        "database": {"external": {"password": "generated"}}},
              "podSecurityContext": {"runAsNonRoot": True}, "securityContext": {"allowPrivilegeEscalation": False}}
    request = analyzer_pb2.AnalyzeRequest(
        type="kubernetes:helm.sh/v3:Release", properties=_struct({"chart": "charts/zenml-pro.tgz", "values": values}),
        urn="urn:pulumi:s::p::kubernetes:helm.sh/v3:Release::cp", name="cp",
        options=analyzer_pb2.AnalyzerResourceOptions(additionalSecretOutputs=["values"]))
    found = {d.policyName for d in analyzer.Analyze(request).diagnostics if d.enforcementLevel == analyzer_pb2.MANDATORY}
    assert {"zenml-container-limits", "zenml-ingress-tls", "zenml-images-from-mirror"} <= found, found
    assert "zenml-no-plaintext-secrets" not in found  # the values are marked secret
    request.options.CopyFrom(analyzer_pb2.AnalyzerResourceOptions())
    found = {d.policyName for d in analyzer.Analyze(request).diagnostics}
    assert "zenml-no-plaintext-secrets" in found  # the same values, not marked secret
