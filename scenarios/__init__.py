"""One program per layout; each assembles components from a validated `StackConfig`."""

from __future__ import annotations

from collections.abc import Callable

from stack_config.model import Scenario, StackConfig


def program_for(cfg: StackConfig) -> Callable[[StackConfig], dict]:
    if cfg.scenario is Scenario.self_hosted:
        from scenarios.self_hosted import deploy
    elif cfg.scenario is Scenario.hybrid:
        from scenarios.hybrid import deploy
    else:
        from scenarios.saas import deploy
    return deploy
