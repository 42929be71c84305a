"""The CI examples parse and only use commands and flags the CLI has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli_app.main import app

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / ".github" / "workflows" / "preview.yml", ROOT / "ci-examples" / "gitlab-ci.yml"]
runner = CliRunner()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_ci_example_uses_existing_commands_and_flags(path):
    text = path.read_text()
    yaml.safe_load(text)
    calls = re.findall(r"cli\.py (\w+)((?: [^\n;|>&]*)?)", text)
    assert {c for c, _ in calls} >= {"validate", "plan", "preview", "doctor"}
    for command, rest in calls:
        help_text = runner.invoke(app, [command, "--help"]).stdout
        for flag in re.findall(r"(--[a-z][a-z-]+)", rest):
            assert flag in help_text, f"{path.name}: {command} has no {flag}"
