"""Class 1: the loader. Stack files no YAML tool writes by default are refused with one line naming the problem,
with bounded work (size, depth, alias expansion) and never a traceback."""

from __future__ import annotations

import os
import time

import pytest

from stack_config import ConfigError, load_stack_file
from stack_config.yamlfile import MAX_BYTES, MAX_DEPTH
from tests.input_hardening.helpers import (
    assert_refused,
    base,
    invoke,
    snapshot,
    stack_text,
    validate_accepts,
    validate_refuses,
    write,
)

GOOD = stack_text(base())


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_refused_naming_the_encoding(tmp_path, encoding):
    validate_refuses(tmp_path, GOOD.encode(encoding), "UTF-16 encoded", "save it as UTF-8")


def test_utf8_bom_is_refused(tmp_path):
    validate_refuses(tmp_path, b"\xef\xbb\xbf" + GOOD.encode(), "byte-order mark")


def test_latin1_bytes_are_refused_with_the_line(tmp_path):
    text = GOOD.replace("alpha", "alpha") + "  # caf\xe9\n"
    validate_refuses(tmp_path, text.encode("latin-1"), "not UTF-8 text (invalid byte at line 8)")


def test_nul_byte_is_refused(tmp_path):
    validate_refuses(tmp_path, GOOD.encode() + b"\x00\n", "NUL character")


def test_recursive_sequence_alias(tmp_path):
    validate_refuses(tmp_path, GOOD + "  zenml-platform:kubernetes: &a [*a]\n", "kubernetes[0]: recursive alias")


def test_recursive_mapping_alias(tmp_path):
    text = GOOD.replace("- name: alpha", "- &w\n    name: alpha\n    env: *w")
    validate_refuses(tmp_path, text, "recursive alias")


def test_alias_expansion_bomb_is_bounded(tmp_path):
    lines = ["config:", "  zenml-platform:x0: &x0 [a, a, a, a, a, a, a, a, a, a]"]
    for i in range(1, 9):
        lines.append(f"  zenml-platform:x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]")
    start = time.monotonic()
    validate_refuses(tmp_path, "\n".join(lines) + "\n", "once aliases are expanded")
    assert time.monotonic() - start < 10


def test_a_few_aliases_are_still_fine(tmp_path):
    text = GOOD + "  zenml-platform:kubernetes:\n    apiServerCidrs: &cidrs ['10.0.0.0/8']\n" \
        "  zenml-platform:networkPolicies:\n    allowEgressCidrs: *cidrs\n"
    validate_accepts(tmp_path, text)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000, 200_000])
def test_deep_flow_nesting_is_refused(tmp_path, depth):
    validate_refuses(tmp_path, "config:\n  zenml-platform:x: " + "[" * depth + "]" * depth + "\n", "nesting deeper than")


def test_deep_block_nesting_is_refused(tmp_path):
    lines = ["config:"] + ["  " * (i + 1) + f"k{i}:" for i in range(MAX_DEPTH + 5)] + ["  " * (MAX_DEPTH + 6) + "v"]
    validate_refuses(tmp_path, "\n".join(lines) + "\n", f"nesting deeper than {MAX_DEPTH} levels")


def test_duplicate_top_level_key_is_refused_like_the_engine(tmp_path):
    lines = validate_refuses(
        tmp_path, GOOD + "  zenml-platform:domain: other.example.com\n", "domain: duplicate key (line 8, first at line 3)"
    )
    assert len(lines) == 2


def test_duplicate_key_inside_a_workspace(tmp_path):
    text = GOOD.replace("- name: alpha", "- name: alpha\n    replicas: 1\n    replicas: 2")
    validate_refuses(tmp_path, text, "workspaces[0].replicas: duplicate key")


def test_duplicate_config_section(tmp_path):
    validate_refuses(tmp_path, GOOD + "config: {}\n", "config: duplicate key")


def test_duplicate_secret_key_names_no_value(tmp_path):
    text = GOOD.replace(
        "registry: registry.corp.internal:5000",
        "registry: registry.corp.internal:5000\n    pullSecret: {secure: v1:AAAAAAAAAAAAAAAA:c2VjcmV0LW9uZS1zZWNyZXQ=}\n"
        "    pullSecret: {secure: v1:BBBBBBBBBBBBBBBB:c2VjcmV0LXR3by1zZWNyZXQ=}",
    )
    validate_refuses(tmp_path, text, "registryMirror.pullSecret: duplicate key", secrets=["c2VjcmV0", "AAAAAAAAAAAAAAAA"])


def test_huge_file_is_refused_before_it_is_read(tmp_path):
    text = GOOD + "#" + "x" * MAX_BYTES + "\n"
    validate_refuses(tmp_path, text, f"a stack file is at most {MAX_BYTES} bytes")


def test_multiple_documents_are_refused(tmp_path):
    validate_refuses(tmp_path, GOOD + "---\nconfig: {}\n", "is not valid YAML")


def test_python_tags_are_refused_without_echo(tmp_path):
    text = GOOD + "  zenml-platform:x: !!python/object/apply:os.system ['echo owned-by-tag']\n"
    validate_refuses(tmp_path, text, "is not valid YAML (line 8)", secrets=["owned-by-tag"])


def test_mapping_used_as_key_is_refused(tmp_path):
    validate_refuses(tmp_path, GOOD + "  ? {a: 1}\n  : x\n", "is not valid YAML")


def test_empty_file_and_scalar_file(tmp_path):
    validate_refuses(tmp_path, "", "is required")
    validate_refuses(tmp_path, "just text\n", "a stack file is a mapping")


def test_config_as_list(tmp_path):
    validate_refuses(tmp_path, "config: [1, 2]\n", "config: must be a mapping")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, GOOD)
    path.chmod(0)
    try:
        assert_refused(invoke("validate", "-f", path), "permission denied")
    finally:
        path.chmod(0o644)


def test_a_directory_as_stack_file(tmp_path):
    (tmp_path / "d.yaml").mkdir()
    assert_refused(invoke("validate", "-f", tmp_path / "d.yaml"))


@pytest.mark.parametrize("command", [["plan"], ["images"], ["residency"], ["workspace", "list"], ["workspace", "add", "beta"], ["workspace", "remove", "alpha", "--force"]])
def test_every_offline_command_refuses_a_duplicate_key_file(tmp_path, command):
    path = write(tmp_path, GOOD + "  zenml-platform:domain: other.example.com\n")
    before = snapshot(tmp_path)
    assert_refused(invoke(*command, "-f", path), "domain: duplicate key", before=before, directory=tmp_path)


@pytest.mark.parametrize("command", [["plan"], ["images"], ["workspace", "add", "beta"]])
def test_every_offline_command_refuses_an_alias_bomb(tmp_path, command):
    lines = ["config:", "  zenml-platform:x0: &x0 [a, a, a, a, a, a, a, a, a, a]"]
    for i in range(1, 9):
        lines.append(f"  zenml-platform:x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    before = snapshot(tmp_path)
    assert_refused(invoke(*command, "-f", path), "once aliases are expanded", before=before, directory=tmp_path)


def test_library_api_raises_config_error_not_yaml_error(tmp_path):
    path = write(tmp_path, GOOD.encode("utf-16"))
    with pytest.raises(ConfigError) as info:
        load_stack_file(path)
    assert "UTF-16" in str(info.value)


def test_tenant_stack_files_use_the_same_reader(tmp_path):
    from tenant.config import load_tenant_file

    path = write(tmp_path, "config:\n  zenml-tenant:x: 1\n  zenml-tenant:x: 2\n")
    with pytest.raises(ConfigError) as info:
        load_tenant_file(path)
    assert "duplicate key" in str(info.value)
    with pytest.raises(ConfigError):
        load_tenant_file(write(tmp_path, "config: [1]\n"))


def test_fifo_and_devices_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "Pulumi.fifo.yaml"
    os.mkfifo(fifo)
    start = time.monotonic()
    assert_refused(invoke("validate", "-f", fifo), "is not a regular file")
    assert time.monotonic() - start < 10
    assert_refused(invoke("validate", "-f", "/dev/zero"), "is not a regular file")
