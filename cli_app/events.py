"""Engine events -> what is happening (live progress) and what will change (summaries, exit codes).

Pure logic over `pulumi.automation.events.EngineEvent` objects, so it is tested with recorded events and no engine.
Property *values* are never kept: only URNs, types, operations, flags and the names of changed keys.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

# Operation categories shown to users, in display order.
CATEGORIES = ("create", "update", "replace", "delete", "read", "import", "discard", "same")

_OP_CATEGORY = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "discard-replaced": "replace",
    "same": "same",
    "read": "read",
    "read-replacement": "read",
    "import": "import",
    "import-replacement": "import",
    "discard": "discard",
    "refresh": "refresh",  # resolved to update/delete/same when the refresh step finishes
}

# Types whose replacement or deletion loses data (or the keys that make stored data readable).
STATEFUL_TYPES = {
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:core/v1:PersistentVolume",
    "kubernetes:core/v1:Namespace",
    "random:index/randomPassword:RandomPassword",
    "tls:index/privateKey:PrivateKey",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:sql/database:Database",
    "gcp:storage/bucket:Bucket",
}
# Kubernetes Secrets that hold generated keys and passwords (database credentials, secret-store key, JWT key).
_KEY_SECRET = re.compile(r"(credentials|encryption-key|jwt|password|-key$)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|<\{%[a-z]+%\}>")


def category(op: Any) -> str:
    value = getattr(op, "value", op)
    return _OP_CATEGORY.get(str(value), str(value))


def name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def is_stateful(type_token: str, name: str, protect: bool = False, retain: bool = False) -> bool:
    if type_token in STATEFUL_TYPES or protect or retain:
        return True
    return type_token == "kubernetes:core/v1:Secret" and bool(_KEY_SECRET.search(name))


def short_type(type_token: str) -> str:
    """`kubernetes:apps/v1:StatefulSet` -> `StatefulSet`, `random:index/randomPassword:RandomPassword` -> `random:RandomPassword`."""
    parts = type_token.split(":")
    if len(parts) != 3:
        return type_token
    pkg, _, kind = parts
    return kind if pkg == "kubernetes" else f"{pkg}:{kind}"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text or "").strip()


@dataclass
class Change:
    urn: str
    type: str
    op: str  # a category
    stateful: bool = False
    protect: bool = False
    retain_on_delete: bool = False
    replace_keys: list[str] = field(default_factory=list)
    diff_keys: list[str] = field(default_factory=list)
    status: str = "planned"  # planned | running | done | failed
    started: Optional[float] = None
    finished: Optional[float] = None

    @property
    def name(self) -> str:
        return name_of(self.urn)

    def as_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "op": self.op,
            "stateful": self.stateful,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "replaceKeys": self.replace_keys,
            "changedKeys": self.diff_keys,
            "status": self.status,
        }


@dataclass
class PolicyViolation:
    policy: str
    pack: str
    level: str
    message: str
    urn: Optional[str]


class Tracker:
    """Folds engine events into counts by operation, in-flight resources, changes, failures and policy results."""

    def __init__(self, operation: str, clock: Callable[[], float] = time.monotonic):
        self.operation = operation
        self.clock = clock
        self.started = clock()
        self.changes: dict[str, Change] = {}
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.policy: list[PolicyViolation] = []
        self.summary: Optional[dict[str, int]] = None
        self.duration: Optional[float] = None

    # --- folding -------------------------------------------------------------------------------------------

    def handle(self, event: Any) -> None:
        if getattr(event, "resource_pre_event", None) is not None:
            self._pre(event.resource_pre_event.metadata)
        elif getattr(event, "res_outputs_event", None) is not None:
            self._outputs(event.res_outputs_event.metadata)
        elif getattr(event, "res_op_failed_event", None) is not None:
            self._failed(event.res_op_failed_event.metadata)
        elif getattr(event, "diagnostic_event", None) is not None:
            self._diagnostic(event.diagnostic_event)
        elif getattr(event, "policy_event", None) is not None:
            p = event.policy_event
            self.policy.append(
                PolicyViolation(p.policy_name, p.policy_pack_name, p.enforcement_level, strip_ansi(p.message), p.resource_urn)
            )
        elif getattr(event, "summary_event", None) is not None:
            s = event.summary_event
            self.summary = {category(k): int(v) for k, v in (s.resource_changes or {}).items()}
            self.duration = float(s.duration_seconds)
        # A cancelEvent closes every event stream (it does not mean the operation was cancelled): nothing to do.

    def _skip(self, md: Any) -> bool:
        """The root stack, and default providers (the engine's summary and display leave them out too)."""
        if md.type == "pulumi:pulumi:Stack":
            return True
        return md.type.startswith("pulumi:providers:") and name_of(md.urn).startswith("default")

    def _change_for(self, md: Any) -> Change:
        ch = self.changes.get(md.urn)
        state = md.new or md.old
        protect = bool(getattr(state, "protect", False)) or bool(getattr(md.old, "protect", False))
        retain = bool(getattr(state, "retain_on_delete", False)) or bool(getattr(md.old, "retain_on_delete", False))
        if ch is None:
            ch = Change(urn=md.urn, type=md.type, op=category(md.op))
            self.changes[md.urn] = ch
        ch.protect = ch.protect or protect
        ch.retain_on_delete = ch.retain_on_delete or retain
        ch.stateful = is_stateful(md.type, name_of(md.urn), ch.protect, ch.retain_on_delete)
        return ch

    def _pre(self, md: Any) -> None:
        if self._skip(md):
            return
        existing = self.changes.get(md.urn)
        ch = self._change_for(md)
        op = category(md.op)
        # A replacement arrives as several steps (create-replacement, replace, delete-replaced): keep "replace".
        if existing is None or op == "replace" or existing.op in ("same", "refresh"):
            ch.op = op
        if md.keys:
            ch.replace_keys = sorted(set(ch.replace_keys) | set(md.keys))
        if md.diffs:
            ch.diff_keys = sorted(set(ch.diff_keys) | set(md.diffs))
        if ch.status != "failed":
            ch.status = "running"
        if ch.started is None:
            ch.started = self.clock()

    def _outputs(self, md: Any) -> None:
        if self._skip(md):
            return
        ch = self._change_for(md)
        if ch.op == "refresh":
            # The engine reports a refresh step's outcome (same/update/delete) on its outputs event.
            ch.op = self._refresh_result(md) if category(md.op) == "refresh" else category(md.op)
        if md.diffs:
            ch.diff_keys = sorted(set(ch.diff_keys) | set(md.diffs))
        if ch.status != "failed":
            ch.status = "done"
        ch.finished = self.clock()

    @staticmethod
    def _refresh_result(md: Any) -> str:
        if md.new is None:
            return "delete"
        if md.diffs or md.detailed_diff:
            return "update"
        old_out = getattr(md.old, "outputs", None)
        new_out = getattr(md.new, "outputs", None)
        if old_out is not None and new_out is not None and old_out != new_out:
            return "update"
        return "same"

    def _failed(self, md: Any) -> None:
        if self._skip(md):
            return
        ch = self._change_for(md)
        ch.status = "failed"
        ch.finished = self.clock()
        self.failed.append(md.urn)

    def _diagnostic(self, d: Any) -> None:
        if d.ephemeral:
            return
        message = strip_ansi(d.message)
        if not message:
            return
        if d.severity == "error":
            self.errors.append(message)
        elif d.severity == "warning":
            self.warnings.append(message)

    # --- views ---------------------------------------------------------------------------------------------

    def elapsed(self) -> float:
        return self.clock() - self.started

    def in_flight(self) -> list[Change]:
        return [c for c in self.changes.values() if c.status == "running" and c.op not in ("same",)]

    def done_counts(self) -> Counter:
        return Counter(c.op for c in self.changes.values() if c.status == "done")

    def planned(self) -> list[Change]:
        """Every resource that changes (same and read excluded), in event order."""
        return [c for c in self.changes.values() if c.op not in ("same", "read", "refresh")]

    def counts(self) -> dict[str, int]:
        """Changes by category, counted from the steps (the root stack and default providers left out, a
        replacement counted once); the engine's summary only when no step was seen."""
        counted = Counter(c.op for c in self.changes.values() if c.op != "refresh")
        if not counted and self.summary is not None:
            return {k: v for k, v in self.summary.items() if v}
        return {k: v for k, v in counted.items() if v}

    def has_changes(self) -> bool:
        return any(v for k, v in self.counts().items() if k not in ("same", "read"))

    def stateful_losses(self) -> list[Change]:
        return [c for c in self.planned() if c.stateful and c.op in ("replace", "delete")]

    def mandatory_violations(self) -> list[PolicyViolation]:
        return [p for p in self.policy if p.level == "mandatory"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "changes": self.counts(),
            "resources": [c.as_dict() for c in self.planned()],
            "statefulReplacedOrDeleted": [c.urn for c in self.stateful_losses()],
            "failed": list(self.failed),
            "errors": list(self.errors),
            "policyViolations": [p.__dict__ for p in self.policy],
            "durationSeconds": round(self.duration if self.duration is not None else self.elapsed(), 1),
        }
