"""Print the numbers for a closing note: objects validated, kube-score checks passed/excepted, policy results.

    .venv/bin/python -m tests.security.counts        (after tests/contract/contract-env.sh)
"""

from __future__ import annotations

import collections
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "policies"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


def main() -> None:
    warnings.simplefilter("ignore")
    import zenml_rules as rules

    from tests.contract.stack_plans import STACK_FILES, objects
    from tests.policies.test_policy_rules import policy_config, resources
    from tests.security.scanner_exceptions import EXCEPTIONS
    from tests.security.test_security_baseline import KUBERNETES_VERSIONS, classify

    n_objects = sum(len(objects(p)) for p in STACK_FILES)
    print(f"example stacks: {len(STACK_FILES)}")
    print(f"kubernetes objects: {n_objects}, strict schema validations: {n_objects * len(KUBERNETES_VERSIONS)} "
          f"(Kubernetes {', '.join(KUBERNETES_VERSIONS)})")
    totals: collections.Counter = collections.Counter()
    by_check: collections.Counter = collections.Counter()
    for p in STACK_FILES:
        c = classify(p)
        for key in ("passed", "excepted", "fix_requested", "unexplained", "ignored_unlisted"):
            totals[key] += len(c[key])
        for _, cid in c["excepted"]:
            by_check[cid] += 1
    print("kube-score checks: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    for e in EXCEPTIONS:
        print(f"  exception {e.check}: {by_check[e.check]} findings: {e.reason}")
    verdicts: collections.Counter = collections.Counter()
    advisories: collections.Counter = collections.Counter()
    for p in STACK_FILES:
        for name, msgs in rules.evaluate(resources(p), policy_config(p)).items():
            kind = "mandatory" if rules.RULES_BY_NAME[name].mandatory else "advisory"
            verdicts[(kind, "violations" if msgs else "clean")] += 1
            if msgs and kind == "advisory":
                advisories[name] += len(msgs)
    print("policy rule x stack results: " + ", ".join(f"{k[0]} {k[1]} {v}" for k, v in sorted(verdicts.items())))
    for name, n in advisories.items():
        print(f"  advisory {name}: {n}")


if __name__ == "__main__":
    main()
