"""Engine event streams in the engine's JSON form (as `pulumi preview --json`/the event log writes them).

Synthetic but shaped like the engine's: a replacement arrives as create-replacement + replace + delete-replaced,
each step carries old/new state with inputs *and secret values*, so tests can prove none of them is printed.
"""

from __future__ import annotations

from typing import Any

STACK = "local"
PREFIX = f"urn:pulumi:{STACK}::zenml-platform::"
SECRET_VALUE = "hunter2-do-not-print"


def urn(type_chain: str, name: str) -> str:
    return f"{PREFIX}{type_chain}::{name}"


def _state(type_: str, u: str, protect: bool = False, retain: bool = False, **inputs: Any) -> dict:
    return {"type": type_, "urn": u, "custom": True, "protect": protect, "retainOnDelete": retain,
            "inputs": inputs, "outputs": inputs, "parent": "", "provider": "", "id": ""}


def step(op: str, type_: str, name: str, chain: str = "", keys=None, diffs=None, old=True, new=True, protect=False, retain=False, **inputs):
    u = urn(f"{chain}${type_}" if chain else type_, name)
    md = {"op": op, "urn": u, "type": type_, "provider": "",
          "old": _state(type_, u, protect, retain, **inputs) if old else None,
          "new": _state(type_, u, protect, retain, **inputs) if new else None}
    if keys:
        md["keys"] = keys
    if diffs:
        md["diffs"] = diffs
        md["detailedDiff"] = {d: {"diffKind": "update", "inputDiff": True} for d in diffs}
    return md


def ev(seq: int, **payload: Any) -> dict:
    return {"sequence": seq, "timestamp": 1763800000 + seq, **payload}


WS = "zenml-platform:platform:Workspace"


def preview_events() -> list[dict]:
    """A preview with creates, an update, a stateful replacement, a stateful delete, a policy warning and a summary."""
    steps = [
        step("same", "pulumi:pulumi:Stack", f"zenml-platform-{STACK}"),
        step("same", "pulumi:providers:kubernetes", "kubernetes"),
        step("create", "kubernetes:core/v1:Namespace", "team-b-ns", chain=WS, old=False),
        step("create", "kubernetes:apps/v1:Deployment", "team-b-server-deployment", chain=WS, old=False),
        step("update", "kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-server-netpol", chain=WS,
             diffs=["spec"], spec={"egress": [{"to": "10.0.0.0/8"}]}),
        step("create-replacement", "kubernetes:apps/v1:StatefulSet", "default-mysql", chain=WS,
             keys=["spec.volumeClaimTemplates"], password=SECRET_VALUE),
        step("replace", "kubernetes:apps/v1:StatefulSet", "default-mysql", chain=WS,
             keys=["spec.volumeClaimTemplates"], password=SECRET_VALUE),
        step("delete-replaced", "kubernetes:apps/v1:StatefulSet", "default-mysql", chain=WS, password=SECRET_VALUE),
        step("delete", "kubernetes:core/v1:Secret", "old-secrets-encryption-key", chain=WS, new=False,
             stringData={"encryption-key": SECRET_VALUE}),
        step("same", "kubernetes:core/v1:Service", "default-server-service", chain=WS),
    ]
    out, seq = [ev(0, preludeEvent={"config": {"zenml-platform:domain": "zenml.localhost"}})], 1
    for md in steps:
        out.append(ev(seq, resourcePreEvent={"metadata": md, "planning": True}))
        seq += 1
        out.append(ev(seq, resOutputsEvent={"metadata": md, "planning": True}))
        seq += 1
    out.append(ev(seq, policyEvent={"message": "runner namespace allows internet egress", "color": "never",
                                    "policyName": "runner-egress", "policyPackName": "zenml-platform",
                                    "policyPackVersion": "0.1.0", "policyPackVersionTag": "0.1.0",
                                    "enforcementLevel": "advisory", "resourceUrn": urn(f"{WS}$kubernetes:core/v1:Namespace", "team-b-ns")}))
    out.append(ev(seq + 1, diagnosticEvent={"message": "warning: something mildly interesting\n", "color": "never", "severity": "warning"}))
    out.append(ev(seq + 2, summaryEvent={"maybeCorrupt": False, "durationSeconds": 7,
                                         "resourceChanges": {"create": 2, "update": 1, "replace": 1, "delete": 1, "same": 3},
                                         "policyPacks": {}}))
    return out


def no_change_events() -> list[dict]:
    steps = [step("same", "kubernetes:core/v1:Namespace", "default-ns", chain=WS)]
    out = [ev(1, resourcePreEvent={"metadata": steps[0], "planning": True}), ev(2, resOutputsEvent={"metadata": steps[0], "planning": True})]
    out.append(ev(3, summaryEvent={"maybeCorrupt": False, "durationSeconds": 2, "resourceChanges": {"same": 40}, "policyPacks": {}}))
    return out


def up_events_with_failure() -> list[dict]:
    ok = step("create", "kubernetes:core/v1:Namespace", "team-b-ns", chain=WS, old=False)
    bad = step("create", "kubernetes:apps/v1:Deployment", "team-b-server-deployment", chain=WS, old=False)
    running = step("create", "kubernetes:batch/v1:Job", "team-b-server-migrate", chain=WS, old=False)
    return [
        ev(1, resourcePreEvent={"metadata": ok}),
        ev(2, resourcePreEvent={"metadata": bad}),
        ev(3, resourcePreEvent={"metadata": running}),
        ev(4, resOutputsEvent={"metadata": ok}),
        ev(5, diagnosticEvent={"message": "error: 1 error occurred:\n\t* Deployment is not available\n", "color": "never",
                               "severity": "error", "urn": bad["urn"]}),
        ev(6, resOpFailedEvent={"metadata": bad, "status": 1, "steps": 1}),
    ]


def drift_events(changed: bool) -> list[dict]:
    md = step("refresh", "kubernetes:core/v1:ConfigMap", "default-mysql-config", chain=WS)
    if changed:
        md["new"]["outputs"] = {"data": {"my.cnf": "edited by hand"}}
    return [
        ev(1, resourcePreEvent={"metadata": md, "planning": True}),
        ev(2, resOutputsEvent={"metadata": md, "planning": True}),
        ev(3, summaryEvent={"maybeCorrupt": False, "durationSeconds": 1,
                            "resourceChanges": ({"update": 1, "same": 9} if changed else {"same": 10}), "policyPacks": {}}),
    ]


def parse(events: list[dict]):
    from pulumi.automation.events import EngineEvent

    return [EngineEvent.from_json(e) for e in events]
