"""Common base for every config section: camelCase keys in stack files, unknown keys rejected."""

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from ipaddress import ip_network
from typing import Annotated, Any, Optional, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel


class Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
        frozen=True,
        validate_default=True,
        # Core schemas are built once, for the model validated first (StackConfig, with every section inlined),
        # instead of one per class at import: about 10 ms less CPU per `validate` (benchmarks/cli_startup.py).
        defer_build=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: Any) -> Any:
        """`replicas: true` is a mistake, not 1 (pydantic's lax mode would take it as 1)."""
        if isinstance(value, bool):
            field = cls.model_fields.get(info.field_name)
            if field is not None and _expects_int(field.annotation) and not _expects_bool(field.annotation):
                raise ValueError("must be a number, not true/false")
        return value


def matching(pattern: "re.Pattern[str]", message: str) -> AfterValidator:
    """A validator for `Annotated[str, ...]` fields: the value must match `pattern`, else `message`."""

    def check(value: str) -> str:
        if not (isinstance(value, str) and pattern.fullmatch(value)):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def problem_check(problem: "Callable[[Any], Optional[str]]") -> AfterValidator:
    """A validator for `Annotated[...]` fields from a function that names what is wrong with a value (or None)."""

    def check(value: Any) -> Any:
        reason = problem(value)
        if reason:
            raise ValueError(reason)
        return value

    return AfterValidator(check)


# --- shared value types: strings that must work where they end up ----------------------------------------
# Patterns are applied with fullmatch (`^...$` alone accepts a trailing newline) and use ASCII classes only
# (`\d` matches any Unicode digit).

INT32_MAX = 2**31 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
K8S_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
K8S_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_PREFIX = re.compile(r"[0-9]{1,3}")


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if _CONTROL.search(value):
        raise ValueError("must be one line without control characters (a YAML block scalar adds a newline)")
    if value != value.strip():
        raise ValueError("must not start or end with spaces")
    return value


# A required one-line string: not empty, no newline or control character, no surrounding spaces.
Text = Annotated[str, AfterValidator(_text)]
K8sName = Annotated[
    str, matching(K8S_SUBDOMAIN, "must be a Kubernetes object name: lower-case letters, digits, '-' and '.', at most 253 characters")
]
K8sLabel = Annotated[str, matching(K8S_LABEL, "must be a DNS label: lower-case letters, digits and '-', at most 63 characters")]


def _cidr(value: str) -> str:
    address, sep, prefix = value.partition("/")
    if not sep or not _PREFIX.fullmatch(prefix):
        raise ValueError("must be a CIDR block with a prefix length, e.g. 10.0.0.0/16 or 10.1.2.3/32 (a NetworkPolicy needs one)")
    try:
        ip_network(value, strict=False)
    except ValueError:
        raise ValueError("is not a CIDR block (e.g. 10.0.0.0/16, fd00::/8)") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


def url_of(schemes: tuple[str, ...]):
    def check(value: str) -> str:
        _text(value)
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise ValueError("is not a URL") from None
        if parts.scheme not in schemes:
            raise ValueError(f"must be a {' or '.join(s + '://' for s in schemes)} URL")
        if not parts.hostname or any(c.isspace() for c in value):
            raise ValueError("must be a URL with a host, e.g. " + schemes[0] + "://host.example.com")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold credentials (user:password@): give them as a secret")
        del port
        return value

    return AfterValidator(check)


_CPU = re.compile(r"(?P<n>[0-9]+(\.[0-9]+)?)(?P<u>m?)")
_BYTES = re.compile(r"(?P<n>[0-9]+(\.[0-9]+)?)(?P<u>k|Ki|Mi|Gi|Ti|Pi|M|G|T|P)?")
_UNIT: dict[str, Decimal | int] = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
         "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}


def quantity_value(value: str, kind: str = "bytes") -> Decimal:
    """A Kubernetes quantity as a number (cores or bytes); ValueError when it is not one or is zero."""
    m = (_CPU if kind == "cpu" else _BYTES).fullmatch(value) if isinstance(value, str) else None
    if m is None or len(value) > 24:
        if kind == "cpu":
            raise ValueError(f"{value!r} is not a CPU quantity (cores such as 2 or 0.5, or millicores such as 500m)")
        hint = " (m means milli: 512m is half a byte; did you mean Mi?)" if isinstance(value, str) and value.endswith("m") else ""
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 512Mi, 2Gi, 10Gi){hint}")
    try:
        number = Decimal(m.group("n")) * _UNIT[m.group("u") or ""]
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from None
    if number <= 0:
        raise ValueError(f"{value!r} is zero: give a positive quantity")
    if kind == "cpu" and number < Decimal("0.001"):
        raise ValueError(f"{value!r} is below 1m, the smallest CPU quantity")
    return number


def _expects_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    return any(_expects_int(a) for a in get_args(annotation))


def _expects_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    return any(_expects_bool(a) for a in get_args(annotation))




# --- registries and image references (docker/distribution reference grammar) ----------------------------

_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?))*"
_HOST = rf"(?:{_DOMAIN}|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REGISTRY = re.compile(rf"{_HOST}(?:/{_COMPONENT})*")
IMAGE_REF = re.compile(rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?")

RegistryRef = Annotated[
    str,
    matching(
        REGISTRY,
        "must be a registry reference host[:port][/path] (no scheme, no trailing slash; path in lower case, "
        "e.g. registry.corp.internal:5000/zenml)",
    ),
]
ImageRef = Annotated[
    str, matching(IMAGE_REF, "must be an image reference [host[:port]/]path[:tag][@digest], e.g. zenmldocker/zenml-server")
]


def registry_problem(value: str) -> str | None:
    """Why `value` is not a registry reference (for CLI flags), None when it is one. Never echoes the value."""
    if not value or len(value) > 255 or not REGISTRY.fullmatch(value):
        return "give host[:port][/path] without scheme or trailing slash, e.g. registry.corp.internal:5000/zenml"
    return None


# --- cron (Kubernetes CronJob: five fields or a macro) --------------------------------------------------

_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}),
    ("day of week", 0, 7, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}),
)


def cron_problem(value: str) -> str | None:
    if value in _CRON_MACROS:
        return None
    fields = value.split(" ")
    if len(fields) != 5 or any(not f for f in fields):
        return "must be a cron expression of 5 fields separated by single spaces (minute hour day month weekday), or @daily etc."
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in text.split(","):
            base, slash, step = part.partition("/")
            if slash and not (step.isascii() and step.isdigit() and 0 < int(step) <= high):
                return f"cron {name}: step must be a number between 1 and {high}"
            if base == "*":
                continue
            start, dash, end = base.partition("-")
            bounds = []
            for item in (start, end) if dash else (start,):
                item = item.lower()
                if item in names:
                    bounds.append(names[item])
                elif item.isascii() and item.isdigit() and low <= int(item) <= high:
                    bounds.append(int(item))
                else:
                    return f"cron {name}: each value must be * or a number between {low} and {high}"
            if dash and bounds[0] > bounds[1]:
                return f"cron {name}: a range runs from low to high"
    return None
