"""Pulumi entry point of the tenant program: `cd tenant && pulumi up -s tenant-aws`."""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.runtime import config as runtime_config  # noqa: E402

from stack_config.errors import ConfigError  # noqa: E402
from tenant.config import NAMESPACE, load_tenant_mapping  # noqa: E402
from tenant.program import deploy  # noqa: E402


def main() -> None:
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    config = {k: v for k, v in raw.items() if k.startswith(NAMESPACE + ":")}
    try:
        cfg = load_tenant_mapping(config)
    except ConfigError as exc:
        raise pulumi.RunError("invalid tenant configuration:\n" + "\n".join(f"  {p}" for p in exc.problems)) from None
    for key, value in deploy(cfg).items():
        pulumi.export(key, value)


main()
