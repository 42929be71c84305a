"""The JSON Schema and the configuration reference are generated from the model and kept in the repo."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from cli_app.schema import REFERENCE_PATH, SCHEMA_PATH, model_schema, render_reference, render_schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_current():
    assert SCHEMA_PATH.read_text() == render_schema(), "run: python cli.py schema"


def test_committed_reference_is_current():
    assert REFERENCE_PATH.read_text() == render_reference(), "run: python cli.py schema"


@pytest.mark.parametrize("path", sorted((ROOT / "stacks").glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_example_stacks_match_the_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), model_schema())


def test_schema_rejects_typos_and_plain_secrets():
    schema = model_schema()
    doc = {"config": {"zenml-platform:scenario": "self-hosted", "zenml-platform:domain": "a.b", "zenml-platform:domian": "x"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
    doc = {"config": {"zenml-platform:scenario": "self-hosted", "zenml-platform:domain": "a.b",
                      "zenml-platform:registryMirror": {"registry": "r", "pullSecret": "plain"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_schema_accepts_the_deprecated_scenario_and_marks_it():
    """Editors keep reading old files (the loader does, with a warning); an unknown layout stays an error."""
    schema = model_schema()
    old = {"config": {"zenml-platform:scenario": "airgapped", "zenml-platform:domain": "a.b"}}
    jsonschema.validate(old, schema)
    [deprecated] = [s for s in schema["properties"]["config"]["properties"]["zenml-platform:scenario"]["anyOf"] if "const" in s]
    assert deprecated == {"const": "airgapped", "deprecated": True, "description": deprecated["description"]}
    assert "self-hosted" in deprecated["description"] and "airGap.enabled" in deprecated["description"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"config": {"zenml-platform:scenario": "air-gapped", "zenml-platform:domain": "a.b"}}, schema)
