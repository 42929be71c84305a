"""Class 7: output paths are refused cleanly before anything is written (and before the plan runs)."""

from __future__ import annotations

import pytest

from tests.input_hardening.helpers import assert_refused, base, invoke, snapshot, write

AIRGAPPED = ["--layout", "self-hosted", "--domain", "zenml.example.com", "--mirror", "registry.corp.internal:5000", "--air-gap"]


@pytest.fixture
def stack(tmp_path):
    return write(tmp_path, base())


def test_plan_out_empty(stack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert_refused(invoke("plan", "-f", stack, "--out", ""), "--out: give a path (got an empty one)", before=before, directory=tmp_path)
    assert_refused(invoke("plan", "-f", stack, "--out", "   "), "--out: give a path", before=before, directory=tmp_path)


def test_plan_out_under_a_file(stack, tmp_path):
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    assert_refused(invoke("plan", "-f", stack, "--out", tmp_path / "afile" / "sub" / "dir"), "is a file, so",
                   before=before, directory=tmp_path)


def test_plan_out_is_a_file(stack, tmp_path):
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    assert_refused(invoke("plan", "-f", stack, "--out", tmp_path / "afile"), "is a file, not a directory", before=before, directory=tmp_path)


@pytest.mark.parametrize("name", ["plan.json", "manifests.yaml"])
def test_plan_output_file_is_a_directory(stack, tmp_path, name):
    (tmp_path / "out" / name).mkdir(parents=True)
    (tmp_path / "out" / "keep.txt").write_text("x")
    before = snapshot(tmp_path)
    assert_refused(invoke("plan", "-f", stack, "--out", tmp_path / "out"), f"{name} is a directory", before=before, directory=tmp_path)


def test_plan_out_with_a_newline(stack, tmp_path):
    before = snapshot(tmp_path)
    assert_refused(invoke("plan", "-f", stack, "--out", str(tmp_path / "out\nx")), "control character", before=before, directory=tmp_path)


def test_plan_out_checked_before_the_plan_runs(stack, tmp_path, monkeypatch):
    import planning.run

    def boom(*a, **k):  # the plan must not even start
        raise AssertionError("planned before the output path was checked")

    monkeypatch.setattr(planning.run, "run_program", boom)
    (tmp_path / "afile").write_text("x")
    assert_refused(invoke("plan", "-f", stack, "--out", tmp_path / "afile"), "--out: ")


def test_plan_out_new_nested_directory_still_works(stack, tmp_path):
    out = tmp_path / "a" / "b"
    result = invoke("plan", "-f", stack, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "plan.json").is_file() and (out / "manifests.yaml").is_file()


def test_plan_write_failure_is_one_line(stack, tmp_path, monkeypatch):
    import planning.render

    def fail(result, out_dir):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(planning.render, "write_plan", fail)
    assert_refused(invoke("plan", "-f", stack, "--out", tmp_path / "o"), "--out: cannot write the plan: No space left on device")


def test_init_output_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    assert_refused(invoke("init", "-o", tmp_path / "afile" / "Pulumi.x.yaml", *AIRGAPPED), "--output: ", "is a file, so",
                   before=before, directory=tmp_path)


def test_init_output_empty_and_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert_refused(invoke("init", "-o", "", *AIRGAPPED), "--output: give a path", before=before, directory=tmp_path)
    assert_refused(invoke("init", "-o", "", *AIRGAPPED, "--force"), "--output: give a path", before=before, directory=tmp_path)
    (tmp_path / "d").mkdir()
    before = snapshot(tmp_path)
    assert_refused(invoke("init", "-o", tmp_path / "d", *AIRGAPPED, "--force"), "is a directory", before=before, directory=tmp_path)
    assert_refused(invoke("init", "-o", str(tmp_path / "new") + "/", *AIRGAPPED), "is a directory", before=before, directory=tmp_path)


def test_init_output_into_new_directories_still_works(tmp_path):
    out = tmp_path / "x" / "y" / "Pulumi.new.yaml"
    assert invoke("init", "-o", out, *AIRGAPPED).exit_code == 0
    assert invoke("validate", "-f", out).exit_code == 0


@pytest.mark.parametrize("command", ["preview", "drift"])
def test_summary_md_under_a_file_is_refused_before_the_engine(tmp_path, command, monkeypatch):
    import cli_app.engine_cmds as engine_cmds

    def no_engine(*a, **k):
        raise AssertionError("the engine was started before --summary-md was checked")

    monkeypatch.setattr(engine_cmds, "Session", no_engine)
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    assert_refused(invoke(command, "-s", "local", "--summary-md", tmp_path / "afile" / "s.md"), "--summary-md: ", "is a file, so",
                   before=before, directory=tmp_path)
    (tmp_path / "dir.md").mkdir()
    before = snapshot(tmp_path)
    assert_refused(invoke(command, "-s", "local", "--summary-md", tmp_path / "dir.md"), before=before, directory=tmp_path)


def test_doctor_unreadable_kubeconfig_is_a_failed_check_not_a_traceback(tmp_path):
    from cli_app.doctor import check_kube

    for content in ("apiVersion: v1\n".encode("utf-16"), b"- a\n- b\n", b"\xff\xfe\x00"):
        kc = tmp_path / "kubeconfig"
        kc.write_bytes(content)
        checks = check_kube(None, {"KUBECONFIG": str(kc)})
        assert checks[0].status == "fail" and "not a readable kubeconfig" in checks[0].detail
