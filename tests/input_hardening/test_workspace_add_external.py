"""Class 10: `workspace add --database external` can succeed: the CA rule's two answers are flags of `add`
(--db-ca-file, --no-db-verify), and the refusal names them."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import EXAMPLE_CA
from tests.input_hardening.helpers import assert_refused, base, invoke, snapshot, write

EXT = ["--database", "external", "--db-host", "db.corp.internal", "--db-name", "zenml", "--db-user", "zenml",
       "--db-password-secret", "zenml-db:password"]


@pytest.fixture
def stack(tmp_path):
    return write(tmp_path, base())


def last_ws(path):
    return yaml.safe_load(path.read_text())["config"]["zenml-platform:workspaces"][-1]


def test_without_ca_the_refusal_names_the_flags(stack, tmp_path):
    before = snapshot(tmp_path)
    assert_refused(invoke("workspace", "add", "beta", "-f", stack, *EXT), "caCertificate", "flag --db-ca-file, or --no-db-verify",
                   before=before, directory=tmp_path)


def test_with_a_ca_file_it_succeeds(stack, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text(EXAMPLE_CA)
    result = invoke("workspace", "add", "beta", "-f", stack, *EXT, "--db-ca-file", ca)
    assert result.exit_code == 0, result.output
    ext = last_ws(stack)["database"]["external"]
    assert ext["caCertificate"].strip() == EXAMPLE_CA.strip() and "verifyServerCertificate" not in ext
    assert "caCertificate: |" in stack.read_text()
    assert invoke("validate", "-f", stack).exit_code == 0


def test_with_crlf_ca_file(stack, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(EXAMPLE_CA.replace("\n", "\r\n").encode())
    assert invoke("workspace", "add", "beta", "-f", stack, *EXT, "--db-ca-file", ca).exit_code == 0
    assert invoke("validate", "-f", stack).exit_code == 0


def test_no_verify_is_explicit_and_succeeds(stack):
    result = invoke("workspace", "add", "beta", "-f", stack, *EXT, "--no-db-verify")
    assert result.exit_code == 0, result.output
    assert last_ws(stack)["database"]["external"]["verifyServerCertificate"] is False


@pytest.mark.parametrize("content, needle", [
    ("not a certificate\n", "must be one or more PEM certificates"),
    ("-----BEGIN CERTIFICATE-----\nplaceholder!!\n-----END CERTIFICATE-----\n", "not valid base64"),
    (EXAMPLE_CA + "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "holds a private key"),
])
def test_bad_ca_files(stack, tmp_path, content, needle):
    ca = tmp_path / "ca.pem"
    ca.write_text(content)
    before = snapshot(tmp_path)
    assert_refused(invoke("workspace", "add", "beta", "-f", stack, *EXT, "--db-ca-file", ca), "--db-ca-file: ", needle,
                   secrets=["MIIB"], before=before, directory=tmp_path)


def test_missing_and_utf16_ca_files(stack, tmp_path):
    before = snapshot(tmp_path)
    assert_refused(invoke("workspace", "add", "beta", "-f", stack, *EXT, "--db-ca-file", tmp_path / "none.pem"),
                   "--db-ca-file: ", before=before, directory=tmp_path)
    ca = tmp_path / "ca16.pem"
    ca.write_bytes(EXAMPLE_CA.encode("utf-16"))
    before = snapshot(tmp_path)
    assert_refused(invoke("workspace", "add", "beta", "-f", stack, *EXT, "--db-ca-file", ca), "--db-ca-file: ", "UTF-16",
                   before=before, directory=tmp_path)


def test_ca_flags_only_with_external(stack, tmp_path):
    before = snapshot(tmp_path)
    assert_refused(invoke("workspace", "add", "beta", "-f", stack, "--no-db-verify"), "apply to --database external",
                   before=before, directory=tmp_path)


def test_production_airgapped_refuses_no_verify_naming_the_flag(tmp_path):
    stack = write(tmp_path, base(profile="production"))
    before = snapshot(tmp_path)
    assert_refused(invoke("workspace", "add", "beta", "-f", stack, *EXT, "--no-db-verify"),
                   "verifyServerCertificate: production stacks verify", "(flag --db-verify)", before=before, directory=tmp_path)
