"""A test-only Pulumi program: the control plane of a stack *without its chart* (namespace, in-cluster PostgreSQL
with TLS and its backup CronJob, traffic policy), through the very function the real layout calls
(scenarios.kubernetes_platform.control_plane_namespace_and_database). The Pro chart's images are private and cannot
run on the local node; this is what tests/node/test_control_plane_backup.py deploys to test `backup`/`restore
--control-plane` against the real engine. It is copied over a project copy's __main__.py; never used by a stack.
"""

import pulumi

from scenarios.args import context
from scenarios.kubernetes_platform import control_plane_namespace_and_database, database_ca_of
from stack_config import ConfigError, load_from_pulumi_runtime


def main() -> None:
    try:
        cfg = load_from_pulumi_runtime(pulumi.get_stack())
    except ConfigError as exc:
        raise pulumi.RunError("invalid stack configuration:\n" + "\n".join(f"  {p}" for p in exc.problems)) from None
    if not cfg.control_plane.enabled:
        raise pulumi.RunError("controlPlane.enabled: this test program deploys a control plane's database only")
    ctx = context(cfg)
    connection = control_plane_namespace_and_database(cfg, ctx, database_ca_of(cfg)).database
    pulumi.export("controlPlane", {"namespace": cfg.control_plane_namespace, "host": connection.host,
                                   "database": connection.database, "tls": connection.tls})
    pulumi.export("images", dict(sorted(ctx.images.seen.items())))


main()
