"""Class 8: copy lists. Registry and image references are validated by their grammar (flag and stack file),
and what `images --format skopeo` prints is shell-quoted."""

from __future__ import annotations

import shlex

import pytest

from tests.input_hardening.helpers import (
    assert_refused,
    base,
    invoke,
    snapshot,
    validate_accepts,
    validate_refuses,
    write,
)

HOSTILE = ["reg;cmd", "reg$(id)", "reg`id`", "reg cmd", "reg|tee", "reg&&x", "reg\nx", "reg'x", 'reg"x', "reg>out",
           "https://reg.example.com", "reg.example.com/", "", "reg.example.com//x", "Reg.example.com/UPPER", "reg:abc",
           "reg.example.com/a b"]


@pytest.mark.parametrize("mirror", HOSTILE)
def test_images_mirror_flag_is_a_registry_reference(tmp_path, mirror):
    path = write(tmp_path, base())
    before = snapshot(tmp_path)
    for fmt in ("skopeo", "pairs", "table"):
        result = invoke("images", "-f", path, "--format", fmt, "--mirror", mirror)
        lines = assert_refused(result, "--mirror: give host[:port][/path]", before=before, directory=tmp_path)
        assert result.stdout == ""
        assert len(lines) == 1


@pytest.mark.parametrize("registry", HOSTILE)
def test_registry_mirror_in_the_stack_file(tmp_path, registry):
    validate_refuses(tmp_path, base(registryMirror={"registry": registry}), "registryMirror.registry: ")


@pytest.mark.parametrize("registry", ["registry.corp.internal:5000", "registry.corp.internal:5000/zenml/mirror", "localhost:5000",
                                      "10.1.2.3:5000/z", "[fd00::1]:5000/zenml", "mirror", "a.b/c__d/e-f.g"])
def test_real_registries_pass(tmp_path, registry):
    validate_accepts(tmp_path, base(registryMirror={"registry": registry}))


@pytest.mark.parametrize("key, value", [("server", "zenmldocker/zenml-server;id"), ("mysql", "mysql:8.4.3 && id"),
                                        ("postgres", "postgres:$(id)"), ("runner", "zenml:latest\nid"),
                                        ("server", "https://docker.io/zenmldocker/zenml-server"), ("server", "ZenML/Server")])
def test_image_references_in_the_stack_file(tmp_path, key, value):
    validate_refuses(tmp_path, base(images={key: value}), f"images.{key}: ")


def test_runner_docker_registry_is_a_registry_reference(tmp_path):
    data = base(workspaces=[{"name": "alpha", "runner": {"buildRunnerImage": True, "dockerRegistry": "reg;id"}}])
    validate_refuses(tmp_path, data, "workspaces[0].runner.dockerRegistry: ")


def test_skopeo_lines_are_shell_safe_and_unchanged_for_plain_references(tmp_path):
    path = write(tmp_path, base(images={"runner": "zenmldocker/zenml:0.98.0-py3.11@sha256:" + "a" * 64}))
    result = invoke("images", "-f", path, "--format", "skopeo", "--mirror", "[fd00::1]:5000/zenml")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines
    for line in lines:
        words = shlex.split(line)
        assert words[:3] == ["skopeo", "copy", "--all"] and len(words) == 5, line
        assert words[3].startswith("docker://") and words[4].startswith("docker://[fd00::1]:5000/zenml/")
    plain = invoke("images", "-f", path, "--format", "skopeo", "--mirror", "registry.corp.internal:5000")
    assert "skopeo copy --all docker://zenmldocker/zenml-server:0.98.0 docker://registry.corp.internal:5000/zenmldocker/zenml-server:0.98.0" in plain.stdout
