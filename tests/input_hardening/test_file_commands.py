"""Class 6: commands that write files. `init` builds the file through the YAML library (no flag can add or change
a key), stack names are names (not paths), `workspace add/remove` keep comments with the item they precede, the
file's line endings and list indentation, never echo what might be a secret, and fail cleanly on write errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from stack_config.loader import STACKS_DIR
from tests.input_hardening.helpers import assert_refused, invoke, snapshot

INJECT = "\n  zenml-platform:networkPolicies:\n    enabled: false"
AIR_GAPPED_FLAGS = ["--layout", "self-hosted", "--domain", "zenml.example.com", "--mirror", "registry.corp.internal:5000"]
AIRGAPPED = [*AIR_GAPPED_FLAGS, "--air-gap"]


def init_args(**overrides):
    args = dict(zip(AIR_GAPPED_FLAGS[::2], AIR_GAPPED_FLAGS[1::2], strict=True))
    args.update(overrides)
    return [x for kv in args.items() for x in kv] + ["--air-gap"]


# --- init: values go through the YAML library -------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--domain", "--profile", "--mirror", "--zenml-version", "--workspace"])
def test_init_newline_in_a_flag_cannot_inject_keys(tmp_path, flag):
    out = tmp_path / "Pulumi.new.yaml"
    good = dict(zip(AIR_GAPPED_FLAGS[::2], AIR_GAPPED_FLAGS[1::2], strict=True)).get(flag, {"--profile": "dev", "--zenml-version": "0.98.0",
                                                                  "--workspace": "alpha"}.get(flag))
    result = invoke("init", "-o", out, *init_args(**{flag: good + INJECT}))
    assert_refused(result, "nothing written", before={}, directory=tmp_path)


@pytest.mark.parametrize("flags", [
    ["--tls", "cert-manager", "--issuer", "letsencrypt" + INJECT],
    ["--tls", "provided", "--tls-secret", "tls" + INJECT],
    ["--kube-context", "prod" + INJECT],
    ["--kubeconfig", "/home/me/.kube/config" + INJECT],
    ["--control-plane", "--chart-archive", "charts/zenml-pro.tgz" + INJECT],
], ids=["issuer", "tls-secret", "kube-context", "kubeconfig", "chart-archive"])
def test_init_newline_in_other_flags_is_refused(tmp_path, flags):
    out = tmp_path / "Pulumi.new.yaml"
    assert_refused(invoke("init", "-o", out, *AIRGAPPED, *flags), "nothing written", before={}, directory=tmp_path)


@pytest.mark.parametrize("domain", ["*.example.com", "zenml.example.com # comment", "{a: b}", "&anchor", "'quoted'",
                                    "zenml.example.com: x", "- item", "!!str zenml.example.com"])
def test_init_yaml_syntax_in_a_domain_stays_a_value(tmp_path, domain):
    out = tmp_path / "Pulumi.new.yaml"
    assert_refused(invoke("init", "-o", out, *init_args(**{"--domain": domain})), "domain: ", before={}, directory=tmp_path)


def test_init_special_characters_in_free_text_flags_round_trip(tmp_path):
    out = tmp_path / "Pulumi.new.yaml"
    context = "arn:aws:eks:eu-west-1:123456789012:cluster/prod # not a comment: {x}"
    result = invoke("init", "-o", out, *AIRGAPPED, "--kube-context", context, "--kubeconfig", "*/config & 'x'")
    assert result.exit_code == 0, result.output
    cfg = yaml.safe_load(out.read_text())["config"]
    assert cfg["zenml-platform:kubernetes"] == {"kubeconfig": "*/config & 'x'", "context": context}
    assert cfg["zenml-platform:domain"] == "zenml.example.com"
    assert "zenml-platform:networkPolicies" not in cfg
    assert out.read_text().startswith("# Stack `new`")


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".", "", "a b", "x\n", "/tmp/abs", "a\\b", "-x", "caf\u00e9"])
def test_init_stack_name_is_not_a_path(tmp_path, name):
    before = snapshot(STACKS_DIR)
    result = invoke("init", "-s", name, *AIRGAPPED)
    assert_refused(result, "--stack: ", before=before, directory=STACKS_DIR)
    assert not (STACKS_DIR.parent / "evil.yaml").exists() and not (STACKS_DIR / "Pulumi...yaml").exists()


@pytest.mark.parametrize("command", [["validate"], ["plan"], ["images"], ["workspace", "list"]])
def test_other_commands_refuse_a_path_as_stack_name(command):
    assert_refused(invoke(*command, "-s", "../stacks/Pulumi.local"), "--stack: a stack name is")


# --- workspace add --------------------------------------------------------------------------------------------

STACK = """# top comment
config:
  zenml-platform:scenario: self-hosted
  zenml-platform:domain: zenml.example.com
  zenml-platform:registryMirror:
    registry: registry.corp.internal:5000
  zenml-platform:workspaces:
  # about alpha
  - name: alpha  # eol alpha
    replicas: 1
  # about beta
  - name: beta
    database:
      inCluster:
        storageSize: 3Gi
  # about gamma
  - name: gamma  # eol gamma
  # about the profile
  zenml-platform:profile: dev
"""


@pytest.fixture
def stack(tmp_path) -> Path:
    path = tmp_path / "Pulumi.edit.yaml"
    path.write_text(STACK)
    return path


@pytest.mark.parametrize("name", ["delta\n", "delta\r", " delta", "Delta", "delta;rm", "d" * 31, "../delta", ""])
def test_add_refuses_names_that_are_not_dns_labels(stack, name):
    before = snapshot(stack.parent)
    assert_refused(invoke("workspace", "add", name, "-f", stack), "nothing written", before=before, directory=stack.parent)


@pytest.mark.parametrize("flag", ["--db-password-secret", "--vault-token-secret", "--enrollment-key-secret"])
@pytest.mark.parametrize("value", ["hunter2-the-password", "p@ss:w0rd!", "my:s3cr3t v4lue", "Xyzzy9:k3y9", "n4me-q:", ":k3y-q",
                                   "n4me-q:k3y/w1th/slash", "n4me-q:k3y-q\n"])
def test_secret_reference_flags_never_echo_or_write_a_value(stack, flag, value):
    before = snapshot(stack.parent)
    args = {"--db-password-secret": ["--database", "external", "--db-host", "db.corp.internal", "--db-name", "z", "--db-user", "u"],
            "--vault-token-secret": ["--secret-store", "hashicorp", "--vault-address", "https://vault.corp.internal"],
            "--enrollment-key-secret": ["--edition", "pro"]}[flag]
    result = invoke("workspace", "add", "delta", "-f", stack, *args, flag, value)
    assert_refused(result, f"{flag}: give SECRET_NAME:KEY", secrets=[value, value.split(":")[0] or value, value.split(":")[-1] or value],
                   before=before, directory=stack.parent)


def test_secret_reference_flag_accepts_a_real_reference(stack):
    result = invoke("workspace", "add", "delta", "-f", stack, "--database", "external", "--db-host", "db.corp.internal",
                    "--db-name", "z", "--db-user", "u", "--db-password-secret", "zenml-db.creds:password", "--no-db-verify")
    assert result.exit_code == 0, result.output
    ws = yaml.safe_load(stack.read_text())["config"]["zenml-platform:workspaces"][-1]
    assert ws["database"]["external"]["password"] == {"secretKeyRef": {"name": "zenml-db.creds", "key": "password"}}


@pytest.mark.parametrize("flag, value", [("--host", "delta.zenml.example.com\n"), ("--db-host", "db\nx"),
                                         ("--vault-address", "https://vault\n"), ("--zenml-version", "0.98.0\n"),
                                         ("--storage-size", "5Gi\n")])
def test_add_refuses_newlines_in_other_flags(stack, flag, value):
    extra = {"--db-host": ["--database", "external", "--db-name", "z", "--db-user", "u", "--db-password-secret", "db:pw"],
             "--vault-address": ["--secret-store", "hashicorp", "--vault-token-secret", "vault:token"]}.get(flag, [])
    before = snapshot(stack.parent)
    assert_refused(invoke("workspace", "add", "delta", "-f", stack, flag, value, *extra), "nothing written",
                   before=before, directory=stack.parent)


def test_add_keeps_crlf_and_list_indentation(stack):
    stack.write_bytes(STACK.replace("\n", "\r\n").encode())
    result = invoke("workspace", "add", "delta", "-f", stack, "--storage-size", "4Gi")
    assert result.exit_code == 0, result.output
    raw = stack.read_bytes().decode()
    assert raw.count("\r\n") == raw.count("\n"), "every line ends in CRLF"
    expected = STACK.replace("  # about the profile",
                             "  - name: delta\n    database:\n      inCluster:\n        storageSize: 4Gi\n  # about the profile")
    assert raw == expected.replace("\n", "\r\n")  # nothing else moved or changed; the profile keeps its comment


def test_add_keeps_four_space_list_indentation(tmp_path):
    text = STACK.replace("\n  - ", "\n    - ").replace("\n    replicas", "\n      replicas").replace(
        "\n    database:\n      inCluster:\n        storageSize", "\n      database:\n        inCluster:\n          storageSize")
    path = tmp_path / "Pulumi.four.yaml"
    path.write_text(text)
    assert invoke("workspace", "add", "delta", "-f", path).exit_code == 0
    assert path.read_text() == text.replace("  # about the profile", "    - name: delta\n  # about the profile")


# --- workspace remove ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, gone", [
    ("alpha", ["  # about alpha", "  - name: alpha  # eol alpha", "    replicas: 1"]),
    ("beta", ["  # about beta", "  - name: beta", "    database:", "      inCluster:", "        storageSize: 3Gi"]),
    ("gamma", ["  # about gamma", "  - name: gamma  # eol gamma"]),
])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_remove_takes_its_comments_and_leaves_the_others(stack, name, gone, crlf):
    eol = "\r\n" if crlf else "\n"
    stack.write_bytes(STACK.replace("\n", eol).encode())
    result = invoke("workspace", "remove", name, "-f", stack, "--force")
    assert result.exit_code == 0, result.output
    raw = stack.read_bytes().decode()
    assert raw == eol.join(line for line in STACK.split("\n") if line not in gone)


def test_remove_last_of_four_space_list(tmp_path):
    path = tmp_path / "Pulumi.x.yaml"
    text = ("config:\n  zenml-platform:scenario: self-hosted\n  zenml-platform:domain: zenml.example.com\n"
            "  zenml-platform:registryMirror:\n    registry: r.internal\n  zenml-platform:workspaces:\n"
            "    # first\n    - name: a\n    # second\n    - name: b  # b\n")
    path.write_text(text)
    assert invoke("workspace", "remove", "b", "-f", path, "--force").exit_code == 0
    assert path.read_text() == "config:\n  zenml-platform:scenario: self-hosted\n  zenml-platform:domain: zenml.example.com\n" \
        "  zenml-platform:registryMirror:\n    registry: r.internal\n  zenml-platform:workspaces:\n    # first\n    - name: a\n"


def test_remove_from_a_flow_list_falls_back_to_the_yaml_library(tmp_path):
    path = tmp_path / "Pulumi.flow.yaml"
    path.write_text("config:\n  zenml-platform:scenario: self-hosted\n  zenml-platform:domain: zenml.example.com\n"
                    "  zenml-platform:registryMirror: {registry: r.internal}\n  zenml-platform:workspaces: [{name: a}, {name: b}]\n")
    assert invoke("workspace", "remove", "a", "-f", path, "--force").exit_code == 0
    assert [w["name"] for w in yaml.safe_load(path.read_text())["config"]["zenml-platform:workspaces"]] == ["b"]


# --- write failures ----------------------------------------------------------------------------------------------

def _fail_writes(monkeypatch, stack):
    real_open = Path.open

    def failing_open(self, mode="r", *args, **kwargs):
        if self == stack and "w" in mode:
            raise PermissionError(13, "Permission denied")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", failing_open)


@pytest.mark.parametrize("command", [["workspace", "add", "delta"], ["workspace", "remove", "gamma", "--force"]])
def test_write_failure_is_one_line_not_a_traceback(stack, monkeypatch, command):
    before = snapshot(stack.parent)
    _fail_writes(monkeypatch, stack)
    assert_refused(invoke(*command, "-f", stack), "cannot write the stack file: Permission denied", before=before, directory=stack.parent)


def test_init_write_failure_is_one_line(tmp_path, monkeypatch):
    out = tmp_path / "Pulumi.new.yaml"
    _fail_writes(monkeypatch, out)
    assert_refused(invoke("init", "-o", out, *AIRGAPPED), "cannot write the stack file", before={}, directory=tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_read_only_stack_file(stack):
    stack.chmod(0o444)
    try:
        assert_refused(invoke("workspace", "add", "delta", "-f", stack), "not writable")
        assert stack.read_text() == STACK
    finally:
        stack.chmod(0o644)
