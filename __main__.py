"""Pulumi entry point: config -> validated model -> layout program -> stack outputs."""

import pulumi

from stack_config import ConfigError, load_from_pulumi_runtime
from scenarios import program_for


def main() -> None:
    try:
        cfg = load_from_pulumi_runtime(pulumi.get_stack())
    except ConfigError as exc:
        # RunError prints the message without a Python traceback; nothing has been registered yet.
        raise pulumi.RunError("invalid stack configuration:\n" + "\n".join(f"  {p}" for p in exc.problems)) from None
    outputs = program_for(cfg)(cfg)
    for key, value in outputs.items():
        pulumi.export(key, value)


main()
