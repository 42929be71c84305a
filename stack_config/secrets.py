"""Secret inputs: a value set with `pulumi config set --secret`, or a reference to an existing Kubernetes Secret.

A secret typed as a plain string in a stack file is rejected, so no credential ever sits in a stack file in clear.
`SecureValue` never shows its plaintext in `repr`/`str`, so it cannot leak through logs or error messages.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from stack_config.base import problem_check

SECRET_PLACEHOLDER = "[secret]"


class SecureValue:
    """A value that came from encrypted config. `plaintext` is None offline (only ciphertext is known)."""

    __slots__ = ("_plaintext", "ciphertext")

    def __init__(self, plaintext: Optional[str] = None, ciphertext: Optional[str] = None):
        self._plaintext = plaintext
        self.ciphertext = ciphertext

    @property
    def plaintext(self) -> Optional[str]:
        return self._plaintext

    def __repr__(self) -> str:
        return "SecureValue([secret])"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecureValue) and other._plaintext == self._plaintext and other.ciphertext == self.ciphertext

    def __hash__(self) -> int:
        return hash((self._plaintext, self.ciphertext))


class SecretKeyRef(BaseModel):
    """An existing Kubernetes Secret, read by the workload through `secretKeyRef`; its value never enters state."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: Annotated[str, problem_check(lambda v: secret_name_problem(v))] = Field(
        description="Name of an existing Secret in the namespace of the workload that reads it.")
    key: Annotated[str, problem_check(lambda v: secret_key_problem(v))] = Field(description="Key inside that Secret.")


class SecretRefInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    secret_key_ref: SecretKeyRef = Field(alias="secretKeyRef")


_HOW = (
    "set it with `pulumi config set --secret --path <key.path> VALUE` "
    "or reference an existing Kubernetes Secret with {secretKeyRef: {name, key}}"
)
# Pulumi's ciphertext: `v1:<base64 12-byte nonce>:<base64 AES-GCM ciphertext>` (passphrase and cloud KMS
# providers), or base64 of the Pulumi Cloud service's ciphertext (service secrets provider).
_V1 = re.compile(r"v1:([A-Za-z0-9+/]{16}):([A-Za-z0-9+/]+={0,2})")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def yaml_kind(value: Any) -> str:
    """What a value is, in the words of a YAML file (never the value itself: it may be a secret)."""
    import datetime

    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date (quote it to make it a string)"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, SecureValue):
        return "a secret"
    return "an unsupported value"


def ciphertext_problem(value: Any) -> Optional[str]:
    """Why `value` under `secure:` is not Pulumi ciphertext (None when it is). Never includes the value."""
    if not isinstance(value, str):
        return f"`secure:` holds {yaml_kind(value)}; it holds the ciphertext `pulumi config set --secret` writes"
    if not value:
        return "`secure:` is empty; set the value with `pulumi config set --secret --path <key.path> VALUE`"
    if _valid_ciphertext(value):
        return None
    return (
        "`secure:` does not hold Pulumi ciphertext (plain text pasted under it?): never write a secret into the "
        "stack file; set it with `pulumi config set --secret --path <key.path> VALUE`"
    )


def _valid_ciphertext(value: str) -> bool:
    m = _V1.fullmatch(value)
    if m:
        return _b64_len(m.group(1)) == 12 and _b64_len(m.group(2)) >= 16
    # Service ciphertext: base64 of at least 16 bytes, correctly padded.
    return bool(_B64.fullmatch(value)) and _b64_len(value) >= 16 and len(value) % 4 == 0


def _b64_len(text: str) -> int:
    try:
        return len(base64.b64decode(text + "=" * (-len(text) % 4), validate=True))
    except (binascii.Error, ValueError):
        return -1


def _require_secure(value: Any) -> Any:
    if isinstance(value, (SecureValue, SecretRefInput)):
        return value
    if isinstance(value, (str, int, float, bool)):
        raise ValueError("a secret must not be given as a plain value: " + _HOW)
    if isinstance(value, dict) and "secure" in value:
        # Engine path: the loader has already checked the shape of stack-file values.
        reason = ciphertext_problem(value["secure"]) if set(value) == {"secure"} else "`secure:` stands alone"
        if reason:
            raise ValueError(reason)
        return SecureValue(ciphertext=value["secure"])
    if isinstance(value, dict) and set(value) == {"secretKeyRef"}:
        ref = value["secretKeyRef"]
        if not isinstance(ref, dict):
            raise ValueError(f"secretKeyRef holds {yaml_kind(ref)}; expected {{name: SECRET_NAME, key: KEY}}")
        missing = [k for k in ("name", "key") if k not in ref]
        unknown = sorted(str(k) for k in ref if k not in ("name", "key"))
        if missing or unknown:
            parts = [f"missing {', '.join(missing)}"] if missing else []
            parts += [f"unknown {', '.join(unknown)}"] if unknown else []
            raise ValueError(f"secretKeyRef needs exactly name and key ({'; '.join(parts)})")
        for k in ("name", "key"):
            problem = _ref_problem(k, ref[k])
            if problem:
                raise ValueError(f"secretKeyRef.{problem}")
        return SecretRefInput(secret_key_ref=SecretKeyRef(name=ref["name"], key=ref["key"]))
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(k) for k in value)) or "none"
        raise ValueError(f"a secret is {{secure: ...}} or {{secretKeyRef: {{name, key}}}} (got a mapping with keys: {keys}); " + _HOW)
    raise ValueError(f"a secret is {{secure: ...}} or {{secretKeyRef: {{name, key}}}}, not {yaml_kind(value)}; " + _HOW)


# Kubernetes: a Secret name is a DNS subdomain; a key is [-._a-zA-Z0-9]+ (at most 253 characters).
SECRET_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def secret_name_problem(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value:
        return f"holds {yaml_kind(value)}; expected a Kubernetes Secret name"
    if len(value) > 253 or not SECRET_NAME.fullmatch(value):
        return "is not a Kubernetes Secret name (a DNS subdomain: lower-case letters, digits, '-' and '.', at most 253 characters)"
    return None


def secret_key_problem(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value:
        return f"holds {yaml_kind(value)}; expected a key of the Secret"
    if len(value) > 253 or not SECRET_KEY.fullmatch(value) or value in (".", ".."):
        return "is not a Secret key (letters, digits, '-', '_' and '.', at most 253 characters)"
    return None


def _ref_problem(field: str, value: Any) -> Optional[str]:
    reason = secret_name_problem(value) if field == "name" else secret_key_problem(value)
    return f"{field} {reason}" if reason else None


def _serialize(value: Any) -> Any:
    if isinstance(value, SecureValue):
        return SECRET_PLACEHOLDER
    return value


_SECRET_JSON_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "description": "Encrypted value written by `pulumi config set --secret --path ...`.",
            "properties": {"secure": {"type": "string"}},
            "required": ["secure"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "description": "Reference to an existing Kubernetes Secret.",
            "properties": {
                "secretKeyRef": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
                    "required": ["name", "key"],
                    "additionalProperties": False,
                }
            },
            "required": ["secretKeyRef"],
            "additionalProperties": False,
        },
    ]
}

_SECURE_ONLY_JSON_SCHEMA = {"oneOf": [_SECRET_JSON_SCHEMA["oneOf"][0]]}

# A secret that may also live in an existing Kubernetes Secret (anything a Pod reads through env or a volume).
SecretInput = Annotated[
    Union[SecureValue, SecretRefInput],
    BeforeValidator(_require_secure),
    PlainSerializer(_serialize),
    WithJsonSchema(_SECRET_JSON_SCHEMA),
]


def _require_secure_only(value: Any) -> Any:
    value = _require_secure(value)
    if not isinstance(value, SecureValue):
        raise ValueError("this secret is needed at deploy time and must come from `pulumi config set --secret`")
    return value


# A secret Pulumi itself must know (e.g. to create a Secret or a chart value); a reference is not enough.
SecureOnly = Annotated[
    SecureValue,
    BeforeValidator(_require_secure_only),
    PlainSerializer(_serialize),
    WithJsonSchema(_SECURE_ONLY_JSON_SCHEMA),
]
