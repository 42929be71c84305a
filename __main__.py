"""Pulumi entry point: config -> validated model -> layout program -> stack outputs."""

import os

import pulumi

from scenarios import program_for
from scenarios.gc_tuning import tune_for_program_run
from stack_config import ConfigError, load_from_pulumi_runtime


def main() -> None:
    try:
        cfg = load_from_pulumi_runtime(pulumi.get_stack())
    except ConfigError as exc:
        # RunError prints the message without a Python traceback; nothing has been registered yet.
        raise pulumi.RunError("invalid stack configuration:\n" + "\n".join(f"  {p}" for p in exc.problems)) from None
    if not os.environ.get("ZENML_PLATFORM_DEPRECATIONS_SHOWN"):  # plain `pulumi up`: our CLI has not shown them
        for note in cfg.deprecations:
            pulumi.log.warn(note)
    program = program_for(cfg)  # imports the layout, its components and provider SDKs
    tune_for_program_run()
    outputs = program(cfg)
    for key, value in outputs.items():
        pulumi.export(key, value)


main()
