"""The JSON Schema of stack files (for editors) and the configuration reference, both generated from the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema" / "stack-config.schema.json"
REFERENCE_PATH = ROOT / "docs" / "configuration.md"


def model_schema() -> dict[str, Any]:
    """Schema of the whole stack file: `config:` with one `zenml-platform:<key>` property per model field."""
    from stack_config.loader import NAMESPACE, OTHER_NAMESPACES
    from stack_config.model import StackConfig

    inner = StackConfig.model_json_schema(by_alias=True, mode="validation")
    defs = inner.pop("$defs", {})
    properties = {f"{NAMESPACE}:{key}": value for key, value in inner["properties"].items()}
    _accept_deprecated(properties)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "zenml-platform stack file",
        "type": "object",
        "properties": {
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "config": {
                "type": "object",
                "properties": properties,
                "required": [f"{NAMESPACE}:{k}" for k in inner.get("required", [])],
                "patternProperties": {f"^({'|'.join(sorted(OTHER_NAMESPACES))}):": {}},
                "additionalProperties": False,
            },
        },
        "required": ["config"],
        "$defs": defs,
    }


def _accept_deprecated(properties: dict[str, Any]) -> None:
    """Spellings the loader still reads (stack_config/deprecations.py): valid for editors, marked deprecated."""
    from stack_config.deprecations import DEPRECATED_SCENARIO
    from stack_config.loader import NAMESPACE

    key = f"{NAMESPACE}:scenario"
    scenario = properties[key]
    properties[key] = {
        "description": scenario.get("description", ""),
        "anyOf": [
            {"$ref": scenario["$ref"]},
            {"const": DEPRECATED_SCENARIO, "deprecated": True,
             "description": "Deprecated: read as scenario self-hosted with airGap.enabled true (docs/upgrading.md)."},
        ],
    }


def render_schema() -> str:
    return json.dumps(model_schema(), indent=2, sort_keys=True) + "\n"


def render_reference() -> str:
    from cli_app.reference import reference_markdown

    return reference_markdown()


def schema(check: bool = typer.Option(False, "--check", help="Exit 1 if the committed files are out of date.")) -> None:
    """Regenerate schema/stack-config.schema.json and docs/configuration.md from the config model."""
    stale = []
    for path, text in ((SCHEMA_PATH, render_schema()), (REFERENCE_PATH, render_reference())):
        current = path.read_text() if path.exists() else None
        if current != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    for path in stale:
        typer.echo(f"{'out of date' if check else 'wrote'}: {path.relative_to(ROOT)}")
    if check and stale:
        raise typer.Exit(1)
