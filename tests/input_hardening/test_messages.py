"""Class 9: messages say what the user wrote and what is expected: never `<root>`, never internal class names."""

from __future__ import annotations

import pytest

from tests.input_hardening.helpers import base, stack_text, validate_refuses

INTERNAL = ("SecureValue", "SecretRefInput", "is-instance", "function-", "json-or-python", "<root>", "lax-or-strict")


def no_internals(lines):
    for line in lines:
        assert not any(word in line for word in INTERNAL), line


def test_empty_key_after_the_namespace(tmp_path):
    lines = validate_refuses(tmp_path, stack_text(base()) + "  'zenml-platform:': x\n", "'zenml-platform:': no setting name")
    no_internals(lines)
    assert "known keys:" in lines[1]


@pytest.mark.parametrize("key", ["'zenml-platform: domain'", "'zenml-platform:domain '"])
def test_spaces_around_the_setting_name(tmp_path, key):
    lines = validate_refuses(tmp_path, stack_text(base()) + f"  {key}: x\n", "no setting name after `zenml-platform:`")
    no_internals(lines)


def test_empty_key_without_namespace(tmp_path):
    lines = validate_refuses(tmp_path, stack_text(base()) + "  '': x\n", "<empty key>: config keys are namespaced")
    no_internals(lines)


def test_non_string_config_keys(tmp_path):
    lines = validate_refuses(tmp_path, stack_text(base()) + "  1: x\n", "<a number key>: config keys are strings")
    no_internals(lines)
    lines = validate_refuses(tmp_path, stack_text(base()) + "  ~: x\n", "<empty key>: config keys are strings")
    no_internals(lines)


SECRET_PATH = "workspaces[0].database.external.password"


def with_password(value):
    ws = {"name": "alpha", "database": {"mode": "external", "external": {
        "host": "db.corp.internal", "database": "zenml", "username": "zenml", "password": value,
        "verifyServerCertificate": False}}}
    return base(workspaces=[ws])


@pytest.mark.parametrize(
    "value, needle",
    [
        (["hunter2-a", "hunter2-b"], "not a list"),
        ({"value": "hunter2-a"}, "got a mapping with keys: value"),
        ({}, "got a mapping with keys: none"),
        ({"secretKeyRef": "hunter2-a"}, "secretKeyRef holds a string"),
        ({"secretKeyRef": {"name": "db"}}, "secretKeyRef needs exactly name and key (missing key)"),
        ({"secretKeyRef": {"name": "db", "key": "pw", "namespace": "x"}}, "unknown namespace"),
        ({"secretKeyRef": {"name": "Bad_Name", "key": "pw"}}, "secretKeyRef.name is not a Kubernetes Secret name"),
        ({"secretKeyRef": {"name": "db", "key": "a/b"}}, "secretKeyRef.key is not a Secret key"),
        ({"secretKeyRef": {"name": "", "key": "pw"}}, "secretKeyRef.name holds an empty string"),
        ("hunter2-a", "a secret must not be given as a plain value"),
        (12345678, "a secret must not be given as a plain value"),
    ],
    ids=["list", "mapping", "empty-mapping", "ref-string", "ref-missing-key", "ref-extra", "ref-bad-name",
         "ref-bad-key", "ref-empty-name", "plain", "number"],
)
def test_secret_in_the_wrong_shape_is_one_line_without_internal_names(tmp_path, value, needle):
    lines = validate_refuses(tmp_path, with_password(value), f"{SECRET_PATH}: ", needle, secrets=["hunter2", "12345678"])
    assert len(lines) == 2, lines
    no_internals(lines)


def test_type_errors_say_what_was_written(tmp_path):
    lines = validate_refuses(tmp_path, base(workspaces=[{"name": "alpha", "replicas": [1]}]), "workspaces[0].replicas: ")
    assert "got a list" in lines[1], lines
    no_internals(lines)


def test_a_date_where_a_string_is_expected_says_quote_it(tmp_path):
    text = stack_text(base()) + "  zenml-platform:zenmlVersion: 2024-01-01\n"
    lines = validate_refuses(tmp_path, text, "zenmlVersion: ", "quote it")
    no_internals(lines)


def test_unknown_key_in_a_secret_reference_is_named(tmp_path):
    lines = validate_refuses(tmp_path, with_password({"secretKeyRef": {"name": "db", "key": "pw"}, "extra": 1}),
                             f"{SECRET_PATH}: ")
    no_internals(lines)
