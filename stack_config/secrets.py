"""Secret inputs: a value set with `pulumi config set --secret`, or a reference to an existing Kubernetes Secret.

A secret typed as a plain string in a stack file is rejected, so no credential ever sits in a stack file in clear.
`SecureValue` never shows its plaintext in `repr`/`str`, so it cannot leak through logs or error messages.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

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
    name: str = Field(description="Name of an existing Secret in the namespace of the workload that reads it.")
    key: str = Field(description="Key inside that Secret.")


class SecretRefInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    secret_key_ref: SecretKeyRef = Field(alias="secretKeyRef")


def _require_secure(value: Any) -> Any:
    if isinstance(value, SecureValue):
        return value
    if isinstance(value, (str, int, float, bool)):
        raise ValueError(
            "a secret must not be given as a plain value: set it with `pulumi config set --secret --path <key.path> VALUE` "
            "or reference an existing Kubernetes Secret with {secretKeyRef: {name, key}}"
        )
    if isinstance(value, dict) and "secure" in value:
        return SecureValue(ciphertext=str(value["secure"]))
    return value


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
