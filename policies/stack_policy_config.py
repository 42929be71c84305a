"""Policy config for one stack, for `pulumi preview --policy-pack policies --policy-pack-config FILE`.

    .venv/bin/python policies/stack_policy_config.py stacks/Pulumi.<stack>.yaml > policy-config.json

Imports the project's config loader, so it runs from the project venv; the policy pack itself never imports it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def policy_config(cfg: Any) -> dict[str, dict[str, Any]]:
    """Air-gapped stacks (`airGap.enabled`): every image and chart must come from `registryMirror.registry`."""
    if cfg.air_gapped and cfg.registry_mirror is not None:
        return {"zenml-images-from-mirror": {"mirror": cfg.registry_mirror.registry}}
    return {}


def main(argv: list[str]) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from stack_config import load_stack_file

    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cfg = load_stack_file(argv[0])
    for note in cfg.deprecations:  # stdout is the JSON; the note goes beside it
        print(f"warning: {Path(argv[0]).name}: {note}", file=sys.stderr)
    json.dump(policy_config(cfg), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
