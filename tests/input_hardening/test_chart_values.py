"""Class 4: `controlPlane.values` is plain chart data (JSON: string keys, no dates, no secrets), so a value that
passes `validate` can no longer crash `plan`, `images` or `workspace add`."""

from __future__ import annotations

import pytest

from tests.input_hardening.helpers import (
    CIPHERTEXT,
    assert_refused,
    base,
    invoke,
    snapshot,
    stack_text,
    validate_accepts,
    validate_refuses,
    write,
)

CP = {"enabled": True, "chart": {"archive": "charts/zenml-pro.tgz"}}


def text_with_values(values_yaml: str) -> str:
    data = base(controlPlane=CP, workspaces=[])
    return stack_text(data).replace("      archive: charts/zenml-pro.tgz\n", "      archive: charts/zenml-pro.tgz\n    values:\n" + values_yaml)


CASES = [
    ("      api:\n        password:\n          secure: " + CIPHERTEXT + "\n", "controlPlane.values: at api.password: a secret"),
    ("      1: one\n", "controlPlane.values: a key is a number"),
    ("      api:\n        true: yes\n", "a key is a boolean"),
    ("      ? [a, b]\n      : x\n", "is not valid YAML"),
    ("      api:\n        since: 2024-01-01\n", "at api.since: a date"),
    ("      api:\n        at: 2024-01-01T10:00:00Z\n", "at api.at: a date"),
    ("      ratio: .nan\n", "at ratio: not a finite number"),
    ("      list:\n      - {limit: .inf}\n", "at list[0].limit: not a finite number"),
    ("      blob: !!binary aGVsbG8=\n", "at blob: binary data"),
    ("      api:\n        env:\n        - secure: " + CIPHERTEXT + "\n", "at api.env[0]: a secret"),
]


@pytest.mark.parametrize("values, needle", CASES, ids=["secure", "int-key", "bool-key", "list-key", "date", "datetime",
                                                       "nan", "inf-in-list", "binary", "secure-in-list"])
def test_values_that_are_not_plain_chart_data(tmp_path, values, needle):
    validate_refuses(tmp_path, text_with_values(values), needle, secrets=[CIPHERTEXT])


def test_secret_message_points_to_where_secrets_belong(tmp_path):
    lines = validate_refuses(tmp_path, text_with_values(CASES[0][0]), "pulumi config set --secret")
    assert "identityProvider.oidc.clientSecret" in lines[1]


@pytest.mark.parametrize("command", [["plan"], ["images"], ["workspace", "add", "beta", "--edition", "oss"]])
def test_commands_that_crashed_now_refuse(tmp_path, command):
    for values, needle in CASES[:2] + CASES[4:5]:
        path = write(tmp_path, text_with_values(values))
        before = snapshot(tmp_path)
        assert_refused(invoke(*command, "-f", path), needle, before=before, directory=tmp_path)


def test_plain_chart_values_are_accepted(tmp_path):
    values = "      api:\n        replicas: 2\n        ratio: 0.5\n        tags: [a, b]\n        extra: null\n" \
             "        env:\n        - name: X\n          valueFrom: {secretKeyRef: {name: s, key: k}}\n"
    validate_accepts(tmp_path, text_with_values(values))
    result = invoke("plan", "-f", write(tmp_path, text_with_values(values)))
    assert result.exit_code == 0, result.output
