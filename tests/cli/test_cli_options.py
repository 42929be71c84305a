"""Options shared between commands are declared once (cli_app/options.py): each flag has one help text in every
command's `--help`, and no command lists a flag twice. `--version` prints the project's version and its pins."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from cli_app import options
from cli_app.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

# Flags that mean something else in one command, so they are that command's own option, not a shared one:
# `init --workspace` names the first workspace of a new stack file (optional, no -w); `init --mirror` is the
# stack's registry while `images --mirror` overrides it for one listing; `init --zenml-version` is the stack's
# version, `workspace add --zenml-version` one workspace's override; `init --force` overwrites a file, `workspace
# remove --force` drops a workspace holding data; `init -o` is --output (a file), `plan -o` is --out (a directory);
# `init --control-plane` puts a control plane in the new stack, `backup/restore --control-plane` pick its database.
OWN_MEANING = {("init", "--workspace"), ("init", "--mirror"), ("init", "--zenml-version"), ("init", "--force"),
               ("init", "-o"), ("init", "--control-plane")}


def commands(cmd=None, path=()):
    """(command path, click command) for every leaf command of the application."""
    cmd = cmd or typer.main.get_command(app)
    subs = getattr(cmd, "commands", None)
    if subs is None:
        yield " ".join(path), cmd
        return
    for name, sub in subs.items():
        yield from commands(sub, (*path, name))


def option_params(cmd):
    return [p for p in cmd.params if p.param_type_name == "option"]


def test_every_command_is_seen():
    names = {name for name, _ in commands()}
    assert {"validate", "preview", "up", "backup", "restore", "workspace add", "workspace list", "doctor"} <= names


def test_no_command_lists_a_flag_twice():
    for name, cmd in commands():
        flags = [flag for p in option_params(cmd) for flag in (*p.opts, *p.secondary_opts)]
        assert len(flags) == len(set(flags)), f"{name}: {sorted(f for f in flags if flags.count(f) > 1)}"


def test_each_shared_flag_has_one_help_text_everywhere():
    helps: dict[str, dict[str, list[str]]] = {}
    for name, cmd in commands():
        for p in option_params(cmd):
            for flag in p.opts:
                if (name, flag) not in OWN_MEANING:
                    helps.setdefault(flag, {}).setdefault(p.help or "", []).append(name)
    differing = {flag: texts for flag, texts in helps.items() if len(texts) > 1}
    assert not differing, differing
    # The shared ones really are shared (a test that passes because nothing is shared would prove nothing).
    assert len(next(iter(helps["--stack"].values()))) >= 15
    assert len(next(iter(helps["--json"].values()))) >= 12
    assert len(next(iter(helps["--backend"].values()))) >= 7


def test_help_output_shows_the_shared_text_once():
    stack_help = typer.main.get_command(app).commands["validate"].params[0].help
    assert stack_help == options.Stack.__metadata__[0].help
    for argv in (["validate", "--help"], ["preview", "--help"], ["backup", "--help"], ["workspace", "list", "--help"]):
        out = runner.invoke(app, argv, terminal_width=200).output
        assert out.count("--stack") == 1, (argv, out)
        assert "Stack name: the stack file is stacks/Pulumi.NAME.yaml." in out, (argv, out)


def test_shared_workspace_option_still_checked():
    result = runner.invoke(app, ["backup", "--stack", "local"])
    assert result.exit_code == 2
    assert "--workspace: give a workspace name" in result.output and "--control-plane" in result.output
    assert "Traceback" not in result.output


def test_bad_input_unchanged_exit_2_no_traceback():
    result = runner.invoke(app, ["validate", "--stack", "no/such"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["preview", "--parallel", "0", "--stack", "local"])
    assert result.exit_code == 2 and "--parallel" in result.output


def test_version_prints_project_and_pins():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(d.split("==") for d in project["dependencies"] if "==" in d)
    lines = result.output.splitlines()
    assert lines[0] == f"zenml-platform {project['version']}"
    assert f"pulumi {pins['pulumi']}" in lines
    assert f"pulumi-kubernetes {pins['pulumi-kubernetes']}" in lines
    cli_pin = re.search(r"^PULUMI_VERSION=v?(\S+)$", (ROOT / "toolchain" / "versions.env").read_text(), re.M).group(1)
    assert f"pulumi CLI {cli_pin} (toolchain/versions.env)" in lines
    from stack_config.model import StackConfig

    assert f"zenml server {StackConfig.model_fields['zenml_version'].default} (default zenmlVersion)" in lines


def test_version_in_a_real_process_imports_no_pulumi():
    code = "import sys, runpy; sys.argv = ['cli.py', '--version']\ntry:\n    runpy.run_path('cli.py', run_name='__main__')\n" \
           "except SystemExit as e:\n    assert not e.code, e.code\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'pulumi'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith("zenml-platform ")
    assert out.stdout.splitlines()[-1] == "[]"
