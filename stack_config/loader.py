"""Read stack configuration from a stack file (offline) or from the engine (inside `pulumi up`).

Both paths produce the same `StackConfig` or raise `ConfigError` listing every problem with its key path.
Secret values are wrapped in `SecureValue` before validation, so no message can echo them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from stack_config import deprecations
from stack_config.errors import ConfigError, Problem, format_loc
from stack_config.model import StackConfig
from stack_config.rules import check_stack
from stack_config.secrets import SecureValue, ciphertext_problem, yaml_kind
from stack_config.yamlfile import StackFileError, load_file

NAMESPACE = "zenml-platform"
# Provider namespaces a stack file may also carry; anything else is most likely a typo of ours.
OTHER_NAMESPACES = {"pulumi", "kubernetes", "random", "tls", "aws", "gcp"}
PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = PROJECT_ROOT / "stacks"

_UNION_TAGS = ("is-instance[", "function-", "SecretRefInput", "SecureValue", "lax-or-strict", "json-or-python")


def stack_file_path(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


def load_stack_file(path: Path | str) -> StackConfig:
    """Validate a stack file as written: `{secure: ...}` values stay ciphertext (no passphrase needed)."""
    path = Path(path)
    doc = read_stack_document(path)
    if not isinstance(doc, dict):
        raise ConfigError([Problem("<file>", "a stack file is a mapping with a `config:` key")])
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([Problem("config", "must be a mapping of `zenml-platform:<key>: value`")])
    return load_from_mapping(config)


def read_stack_document(path: Path) -> Any:
    """The parsed stack file (bounded: size, encoding, depth, aliases, duplicate keys), or ConfigError."""
    try:
        return load_file(path) or {}
    except StackFileError as exc:
        raise ConfigError([Problem(_document_path(exc.path), exc.reason)]) from None


def _document_path(path: str) -> str:
    """`config.zenml-platform:workspaces[0].name` -> `workspaces[0].name`, the key path users set."""
    prefix = f"config.{NAMESPACE}:"
    return path[len(prefix):] if path.startswith(prefix) and len(path) > len(prefix) else path


def load_from_mapping(config: Mapping[str, Any], plaintext_secret_paths: Optional[Iterable[str]] = None) -> StackConfig:
    """Validate namespaced config (`zenml-platform:key -> value`), as in a stack file's `config:` section."""
    problems: list[Problem] = []
    data: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str):
            problems.append(Problem(_describe_key(key), f"config keys are strings such as {NAMESPACE}:domain, not {_kind(key)}"))
            continue
        ns, sep, name = key.partition(":")
        if not sep:
            problems.append(Problem(key or "<empty key>", f"config keys are namespaced: use {NAMESPACE}:{key or '<key>'}"))
        elif ns == NAMESPACE:
            if not name.strip() or name != name.strip():
                problems.append(Problem(
                    repr(key), f"no setting name after `{NAMESPACE}:` (or spaces around it): write {NAMESPACE}:<key>, "
                    f"e.g. {NAMESPACE}:domain (known keys: {', '.join(sorted(_known_keys()))})",
                ))
                continue
            data[name] = _wrap_secure(value, name, problems)
        elif ns not in OTHER_NAMESPACES:
            hint = difflib.get_close_matches(ns, [NAMESPACE, *OTHER_NAMESPACES], n=1)
            problems.append(Problem(str(key), f"unknown namespace {ns!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")))
    for path in plaintext_secret_paths or ():
        _mark_secret_path(data, path)
    return validate(data, problems)


def validate(data: Mapping[str, Any], problems: Optional[list[Problem]] = None) -> StackConfig:
    problems = list(problems or [])
    cfg: Optional[StackConfig] = None
    # Deprecated spellings are read as today's (`scenario: airgapped`); the notes travel with the model.
    upgraded, notes = deprecations.upgrade(data)
    try:
        cfg = StackConfig.model_validate(upgraded)
    except ValidationError as exc:
        # A key already refused while reading (a malformed `secure:`) is reported once, not again by its type.
        reported = {p.path for p in problems}
        problems.extend(p for p in _problems_from(exc, upgraded) if p.path not in reported)
    if cfg is not None:
        cfg._deprecations = tuple(notes)
        problems.extend(deprecations.contradictions(data, cfg))
        problems.extend(check_stack(cfg))
    if problems:
        raise ConfigError(_dedupe(problems))
    assert cfg is not None
    return cfg


def load_from_pulumi_runtime(stack: str) -> StackConfig:
    """Inside a Pulumi program: read `zenml-platform:*` from the engine, decrypted secrets included.

    The engine marks whole top-level keys secret; which nested leaves were `--secret` comes from the stack file
    (`stacks/Pulumi.<stack>.yaml`), so a plain value can still be told apart from an encrypted one.
    """
    from pulumi.runtime import config as runtime_config

    raw: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    config: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.startswith(NAMESPACE + ":"):
            continue
        config[key] = _decode(value)
    secure_paths: list[str] = []
    file = stack_file_path(stack)
    if file.exists():
        doc = read_stack_document(file)
        section = doc.get("config") if isinstance(doc, dict) else None
        for key, value in (section if isinstance(section, dict) else {}).items():
            if str(key).startswith(NAMESPACE + ":"):
                secure_paths.extend(_secure_paths(value, str(key).split(":", 1)[1]))
    return load_from_mapping(config, plaintext_secret_paths=secure_paths)


# --- helpers -----------------------------------------------------------------------------------------------


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _wrap_secure(value: Any, path: str, problems: list[Problem]) -> Any:
    """`{secure: CIPHERTEXT}` -> SecureValue, anywhere; a malformed `secure:` is a problem at its key path."""
    if isinstance(value, dict):
        if "secure" in value:
            extra = sorted(str(k) for k in value if k != "secure")
            if extra:
                problems.append(Problem(path, f"`secure:` stands alone: remove {', '.join(extra)} beside it"))
                return _INVALID_SECRET
            reason = ciphertext_problem(value["secure"])
            if reason:
                problems.append(Problem(path, reason.replace("<key.path>", path)))
                return _INVALID_SECRET
            return SecureValue(ciphertext=value["secure"])
        return {k: _wrap_secure(v, f"{path}.{k}", problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap_secure(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    return value


# Stands in for a refused `secure:` value so validation goes on (other problems are still reported) without it.
_INVALID_SECRET = SecureValue(ciphertext="")


def _describe_key(key: Any) -> str:
    return "<empty key>" if key is None else f"<{_kind(key)} key>"


def _kind(value: Any) -> str:
    return yaml_kind(value)


def _known_keys() -> list[str]:
    return [f.alias or n for n, f in StackConfig.model_fields.items()]


def _secure_paths(value: Any, prefix: str) -> Iterable[str]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            yield prefix
            return
        for k, v in value.items():
            yield from _secure_paths(v, f"{prefix}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _secure_paths(v, f"{prefix}[{i}]")


def _split_path(path: str) -> list[Any]:
    parts: list[Any] = []
    for dotted in path.split("."):
        name, *indexes = dotted.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in indexes)
    return parts


def _mark_secret_path(data: dict, path: str) -> None:
    parts = _split_path(path)
    node: Any = data
    for part in parts[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    last = parts[-1]
    try:
        current = node[last]
    except (KeyError, IndexError, TypeError):
        return
    if not isinstance(current, SecureValue) and current is not None:
        node[last] = SecureValue(plaintext=str(current))


def _problems_from(exc: ValidationError, data: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for err in exc.errors(include_input=True, include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith(_UNION_TAGS))]
        path = format_loc(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            reason = "unknown key" + _suggest(loc)
        elif kind == "missing":
            reason = "is required"
        elif kind in ("string_type", "int_type", "bool_type", "int_parsing", "bool_parsing") and _is_secure_at(data, loc):
            reason = "this setting is not a secret: set it without --secret"
        else:
            reason = err["msg"]
            if reason.startswith("Value error, "):
                reason = reason[len("Value error, ") :]
            reason = reason.replace("<key.path>", path)
            if kind.endswith(("_type", "_parsing")) and "input" in err:
                # What was written, by kind only: the value itself may be a secret.
                reason += f" (got {yaml_kind(err['input'])})"
        problems.append(Problem(path, reason))
    return problems


def _is_secure_at(data: Mapping[str, Any], loc: list[Any]) -> bool:
    node: Any = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(node, SecureValue)


def _suggest(loc: list[Any]) -> str:
    """Name the closest known key of the section the unknown key sits in."""
    model: Any = StackConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = _field_by_alias(model, part)
        if field is None:
            return ""
        model = model_of(field.annotation)
        if model is None:
            return ""
    names = [f.alias or n for n, f in model.model_fields.items()]
    match = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else f" (known keys: {', '.join(sorted(names))})"


def _field_by_alias(model: Any, alias: str):
    for name, field in model.model_fields.items():
        if (field.alias or name) == alias or name == alias:
            return field
    return None


def model_of(annotation: Any, skip: tuple[type, ...] = ()) -> Any:
    """The first pydantic model inside a field annotation (through Optional, list, Union, Annotated), or None."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in skip:
        return annotation
    for arg in typing.get_args(annotation):
        found = model_of(arg, skip)
        if found is not None:
            return found
    return None


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if (p.path, p.reason) not in seen:
            seen.add((p.path, p.reason))
            out.append(p)
    return out
