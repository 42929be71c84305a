"""Policy pack tests: the rule functions over every example stack's planned resources, and the pack wiring."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "policies"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
