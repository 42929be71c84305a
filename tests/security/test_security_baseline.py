"""Security baseline: every Kubernetes object of every example stack (`stacks/Pulumi.*.yaml`)

* validates against the Kubernetes OpenAPI schema in strict mode (unknown fields are errors) for every
  Kubernetes version the project supports (kubernetes-validate's bundled schemas), and
* passes kube-score (pinned, built by tests/contract/contract-env.sh) with no failed check left unexplained: each
  finding is either a documented exception (scanner_exceptions.py, docs/security.md) or fails this test.

Objects come from update-mode plans, where every value a real `pulumi up` knows is known. Placeholders that remain
are Pulumi's secret masking: a Secret's whole `stringData`/`data` masked as "[secret]" becomes a one-key map of
strings for the schema check, and values from cloud resources the offline mocks do not model stay "[unknown]"
strings (valid wherever a string is). Pulumi `<Kind>Patch` resources are validated as the `<Kind>` they patch.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.contract.stack_plans import ROOT, STACK_FILES, objects, stack_name
from tests.contract.zenml_runtime import HARNESS, harness_status
from tests.security.scanner_exceptions import EXCEPTIONS, FIX_REQUESTED

# Kubernetes versions the project supports: the oldest still served by the major clouds' standard channels, the
# local cluster's (toolchain/versions.env KUBERNETES_VERSION=v1.36), and the newest kubernetes-validate ships.
KUBERNETES_VERSIONS = ["1.30.0", "1.36.0", "1.37.0"]
KUBE_SCORE_OPTIONAL = ["container-seccomp-profile", "container-ports-check"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DOCS = ROOT / "docs" / "security.md"

STACKS = [pytest.param(p, id=stack_name(p)) for p in STACK_FILES]


def _label_selector() -> dict:
    requirement = {"type": "object", "additionalProperties": False, "required": ["key", "operator"],
                   "properties": {"key": {"type": "string"}, "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                                  "values": {"type": "array", "items": {"type": "string"}}}}
    return {"type": "object", "additionalProperties": False,
            "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                           "matchExpressions": {"type": "array", "items": requirement}}}


# Custom resources have no schema in kubernetes-validate. Written here from the fields the EKS user guide documents
# for a SecurityGroupPolicy (sg-pods-example-deployment.html: one of podSelector/serviceAccountSelector, and
# securityGroups.groupIds), strict like the built-in kinds.
CUSTOM_SCHEMAS = {
    ("vpcresources.k8s.aws/v1beta1", "SecurityGroupPolicy"): {
        "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "vpcresources.k8s.aws/v1beta1"}, "kind": {"const": "SecurityGroupPolicy"},
            "metadata": {"type": "object", "required": ["name", "namespace"],
                         "properties": {"name": {"type": "string"}, "namespace": {"type": "string"},
                                        "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "spec": {"type": "object", "additionalProperties": False, "required": ["securityGroups"],
                     "oneOf": [{"required": ["podSelector"]}, {"required": ["serviceAccountSelector"]}],
                     "properties": {"podSelector": _label_selector(), "serviceAccountSelector": _label_selector(),
                                    "securityGroups": {"type": "object", "additionalProperties": False, "required": ["groupIds"],
                                                       "properties": {"groupIds": {"type": "array", "minItems": 1,
                                                                                   "items": {"type": "string", "minLength": 1}}}}}},
        },
    },
}


def validate_custom(obj: dict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(CUSTOM_SCHEMAS[(obj["apiVersion"], obj["kind"])])
    return [f"{obj['kind']}/{obj['metadata'].get('namespace', '')}/{obj['metadata'].get('name')}: {e.message} at "
            f"{'.'.join(str(p) for p in e.absolute_path)}" for e in validator.iter_errors(obj)]


def schema_ready(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    if obj["kind"].endswith("Patch"):
        # Pulumi's server-side-apply patch resources (e.g. ServiceAccountPatch) send a partial object of the base
        # kind; the API server validates that object, so the schema check does too.
        obj["kind"] = obj["kind"][: -len("Patch")]
    if obj["kind"] == "Secret":
        for field in ("data", "stringData"):
            if isinstance(obj.get(field), str):
                obj[field] = {"masked": obj[field]}
    return obj


def test_there_are_example_stacks():
    assert STACK_FILES, "no stacks/Pulumi.*.yaml found"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", STACKS)
def test_objects_validate_strictly(path, version):
    import kubernetes_validate

    failures = []
    objs = objects(path)
    assert objs, f"{path.name} renders no Kubernetes objects"
    for obj in objs:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_SCHEMAS:
            failures += validate_custom(obj)
            continue
        try:
            kubernetes_validate.validate(schema_ready(obj), version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{obj['kind']}/{obj['metadata'].get('namespace', '')}/{obj['metadata'].get('name')}: "
                            f"{exc.caught.message} at {'.'.join(str(p) for p in exc.caught.absolute_path)}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            failures.append(f"{obj['kind']} {obj['apiVersion']}: no schema in Kubernetes {version} ({exc})")
    assert not failures, f"{path.name}, Kubernetes {version}:\n" + "\n".join(failures)


def test_custom_resource_schema_is_strict():
    good = {"apiVersion": "vpcresources.k8s.aws/v1beta1", "kind": "SecurityGroupPolicy",
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"podSelector": {}, "securityGroups": {"groupIds": ["sg-1"]}}}
    assert validate_custom(good) == []
    both = copy.deepcopy(good)
    both["spec"]["serviceAccountSelector"] = {"matchLabels": {"a": "b"}}
    misspelt = copy.deepcopy(good)
    misspelt["spec"]["securityGroups"] = {"groupIDs": ["sg-1"]}
    assert validate_custom(both) and validate_custom(misspelt)


def test_update_plans_have_no_unknowns_in_workload_specs():
    """Unknown values in update mode would mean a plan cannot show what will run; only cloud outputs the offline
    mocks do not model (managed database endpoints) may stay unknown, and only in env values."""
    offenders = []
    for path in STACK_FILES:
        for obj in objects(path):
            for where, value in _walk(obj):
                if value == "[unknown]" and not re.search(r"\.env\.\d+\.value$", where):
                    offenders.append(f"{path.name} {obj['kind']}/{obj['metadata'].get('name')} {where}")
    assert not offenders, offenders


def _walk(value, where=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{where}.{i}")
    else:
        yield where, value


# --- kube-score ------------------------------------------------------------------------------------------------------


def kube_score_binary() -> str:
    found = harness_status().get("kube-score", "")
    if found and not found.startswith("unavailable") and Path(found).exists():
        return found
    msg = f"kube-score is not installed ({found or 'harness not run'}): run `{HARNESS}`"
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


def kube_score(path: Path) -> list[dict]:
    binary = kube_score_binary()
    text = yaml.safe_dump_all([schema_ready(o) for o in objects(path)], sort_keys=False)
    cmd = [binary, "score", "-", "--output-format", "json"]
    for check in KUBE_SCORE_OPTIONAL:
        cmd += ["--enable-optional-test", check]
    run = subprocess.run(cmd, input=text, capture_output=True, text=True)
    assert run.stdout.strip().startswith("["), f"kube-score failed: {run.stderr[-2000:]}"
    return json.loads(run.stdout)


def classify(path: Path) -> dict[str, list]:
    by_name = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects(path)}
    result: dict[str, list] = {"passed": [], "excepted": [], "fix_requested": [], "unexplained": [], "ignored_unlisted": []}
    for scored in kube_score(path):
        kind = scored["type_meta"]["kind"]
        meta = scored["object_meta"]
        obj = by_name[(kind, meta.get("namespace", ""), meta["name"])]
        label = f"{kind}/{meta.get('namespace', '')}/{meta['name']}"
        for chk in scored["checks"]:
            cid = chk["check"]["id"]
            exception = next((e for e in EXCEPTIONS if e.check == cid and kind in e.kinds and e.applies(obj)), None)
            if chk["skipped"]:
                ignored = cid in (meta.get("annotations") or {}).get("kube-score/ignore", "")
                if ignored and exception is None:
                    result["ignored_unlisted"].append(f"{label}: {cid} ignored by annotation without a documented reason")
                continue
            if chk["grade"] >= 10:
                result["passed"].append((label, cid))
            elif exception is not None:
                result["excepted"].append((label, cid))
            elif cid in FIX_REQUESTED:
                result["fix_requested"].append(f"{label}: {cid}: {FIX_REQUESTED[cid]}")
            else:
                comments = "; ".join(c["summary"] for c in chk.get("comments") or [])
                result["unexplained"].append(f"{label}: {cid} (grade {chk['grade']}): {comments}")
    return result


@pytest.mark.parametrize("path", STACKS)
def test_kube_score_findings_are_fixed_or_justified(path):
    result = classify(path)
    assert not result["unexplained"], (
        f"{path.name}: kube-score findings without a documented exception (fix the component, or justify the "
        "exception next to the resource and in tests/security/scanner_exceptions.py and docs/security.md):\n"
        + "\n".join(result["unexplained"]))
    assert not result["ignored_unlisted"], "\n".join(result["ignored_unlisted"])
    assert not result["fix_requested"], f"{path.name}: findings waiting for a component fix:\n" + "\n".join(
        sorted(set(result["fix_requested"])))
    assert result["passed"], "kube-score ran no check"


def test_every_exception_is_documented():
    text = DOCS.read_text()
    missing = [e.check for e in EXCEPTIONS if f"`{e.check}`" not in text]
    missing += [c for c in FIX_REQUESTED if f"`{c}`" not in text]
    assert not missing, f"{DOCS.relative_to(ROOT)} does not list: {missing}"
