#!/usr/bin/env python3
"""The floor a plan is measured against: N trivial ConfigMaps under the Pulumi SDK's stock mocks.

    python benchmarks/floor_program.py N [--bytes 600] [--update]

Nothing of ours runs here: stock `pulumi.runtime.Mocks` (echo the inputs as outputs), the stock `MockMonitor`,
the SDK's default settings (cyclic GC on, source positions captured, no tuning). Each ConfigMap carries a `data`
map of about `--bytes` bytes of JSON, the size of an average resource of ours (measured by the benchmark), and
labels like ours. The run waits for every registration, exactly as `planning.run.run_program` does, so the two
differ only by what is ours: the program, the recording mocks and the tuning around them.
"""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("--bytes", type=int, default=600, help="JSON size of each ConfigMap's inputs")
    parser.add_argument("--update", action="store_true", help="update mode (values known) instead of a preview")
    opts = parser.parse_args()

    import pulumi
    import pulumi_kubernetes as k8s
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    class EchoMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            return f"{args.name}-id", args.inputs

        def call(self, args: pulumi.runtime.MockCallArgs):
            return {}

    pulumi.runtime.set_mocks(EchoMocks(), project="floor", stack="floor", preview=not opts.update)
    # About 12 keys of ~40 characters plus metadata: `--bytes` of JSON in all.
    value = "x" * max(1, (opts.bytes - 200) // 12 - 12)

    def program() -> None:
        for i in range(opts.count):
            k8s.core.v1.ConfigMap(
                f"cm-{i}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"cm-{i}",
                    namespace=f"ns-{i % 100}",
                    labels={"app.kubernetes.io/name": "floor", "app.kubernetes.io/part-of": "zenml-platform"},
                ),
                data={f"key-{j:02d}": value for j in range(12)},
            )

    _sync_await(run_pulumi_func(program))
    print(f"floor: {opts.count} ConfigMaps registered", file=sys.stderr)


if __name__ == "__main__":
    main()
