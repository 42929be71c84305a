"""Shared checks for the input-hardening suites: the promise of docs/cli.md for bad input.

Exit code 2, one line naming the key path (or flag), no traceback, no file created or changed, and no secret
(or any value marked as possibly secret) echoed on stdout or stderr.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

import yaml
from typer.testing import CliRunner

from cli_app.main import app

runner = CliRunner()
NS = "zenml-platform"
# Shaped like the ciphertext `pulumi config set --secret` writes (v1:<12-byte nonce>:<ciphertext>); fake.
CIPHERTEXT = "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=="

BASE: dict[str, Any] = {
    "scenario": "self-hosted",
    "domain": "zenml.example.com",
    "registryMirror": {"registry": "registry.corp.internal:5000"},
    "workspaces": [{"name": "alpha"}],
}


def base(**overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(overrides)
    return data


def stack_text(data: dict[str, Any]) -> str:
    return yaml.safe_dump({"config": {f"{NS}:{k}": v for k, v in data.items()}}, sort_keys=False)


def write(tmp_path: Path, content: str | bytes | dict, name: str = "Pulumi.t.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, dict):
        content = stack_text(content)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under `directory` with its content hash: nothing created, changed or removed."""
    out = {}
    for p in sorted(directory.rglob("*")):
        out[str(p.relative_to(directory))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def invoke(*args: str, input: Optional[str] = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_refused(
    result,
    *needles: str,
    secrets: Iterable[str] = (),
    before: Optional[dict] = None,
    directory: Optional[Path] = None,
) -> list[str]:
    """Exit 2, no traceback, each needle in stderr, no secret anywhere in the output, directory unchanged."""
    output = result.output
    assert result.exit_code == 2, (result.exit_code, output, result.exception)
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    for secret in secrets:
        assert secret not in output, (secret, output)
    if before is not None and directory is not None:
        assert snapshot(directory) == before, "files were created or changed"
    return result.stderr.strip().splitlines()


def validate_refuses(tmp_path: Path, content, *needles: str, secrets: Iterable[str] = ()) -> list[str]:
    """`validate -f FILE` refuses the file with exit 2, each needle in stderr, and leaves it unchanged."""
    path = write(tmp_path, content)
    before = snapshot(tmp_path)
    lines = assert_refused(invoke("validate", "-f", path), *needles, secrets=secrets, before=before, directory=tmp_path)
    assert lines[0] == f"{path.name}: invalid configuration", lines
    return lines


def validate_accepts(tmp_path: Path, content) -> None:
    path = write(tmp_path, content)
    result = invoke("validate", "-f", path)
    assert result.exit_code == 0, result.output
