"""Turn a config secret (an encrypted value, already a secret Output, or a Secret reference) into a `secretKeyRef`
a Pod can read.

Components never see the stack file's types: scenarios/args.py hands them a `ConfigSecret`, either a
`SecretKeyRef` (the user's own Secret) or the value as a secret `pulumi.Output` (from `plaintext_output`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Union

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext


@dataclass(frozen=True)
class SecretKeyRef:
    """A key of an existing Secret in the consumer's namespace (`secretKeyRef` in a stack file)."""

    name: str
    key: str


ConfigSecret = Union[SecretKeyRef, pulumi.Output]


class EncryptedValue(Protocol):
    """An encrypted config value: the plaintext when the engine decrypted it, else None."""

    @property
    def plaintext(self) -> Optional[str]: ...


OFFLINE_PLACEHOLDER = "[secret]"


def _under_mocks() -> bool:
    """Offline plans run under Pulumi's mocks, where only ciphertext is known (see planning/run.py)."""
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor

    return isinstance(settings.SETTINGS.monitor, MockMonitor)


def plaintext_output(value: EncryptedValue, path: str = "a secret config value") -> pulumi.Output[str]:
    """The decrypted value as a secret Output.

    Inside the engine the plaintext is known; if it is not (a value the engine could not decrypt or did not
    receive), deploying an empty password or key would be silent and wrong, so this fails, naming `path` (never the
    value). Offline plans get a fixed placeholder, marked secret like the real value."""
    if value.plaintext is not None:
        return pulumi.Output.secret(value.plaintext)
    if _under_mocks():
        return pulumi.Output.secret(OFFLINE_PLACEHOLDER)
    raise pulumi.RunError(
        f"{path}: the encrypted value has no plaintext in this run; set it again with "
        "`pulumi config set --secret --path <key.path> VALUE` and check the stack's secrets provider"
    )


class SecretBundle:
    """Collects config secrets for one namespace into one owned Secret; references pass through untouched."""

    def __init__(self, name: str, secret_name: str, namespace: pulumi.Input[str], ctx: DeployContext, parent: pulumi.Resource):
        self._name = name
        self._secret_name = secret_name
        self._namespace = namespace
        self._ctx = ctx
        self._parent = parent
        self._data: dict[str, pulumi.Output[str]] = {}
        self.resource: Optional[k8s.core.v1.Secret] = None

    def ref(self, key: str, value: ConfigSecret) -> tuple[pulumi.Input[str], str]:
        """(secret name, key) for the value; values (not references) are stored under `key` in the bundle Secret."""
        if isinstance(value, SecretKeyRef):
            return value.name, value.key
        self._data[key] = value
        return self._secret_name, key

    def create(self, labels: dict[str, str]) -> Optional[k8s.core.v1.Secret]:
        if self._data:
            self.resource = k8s.core.v1.Secret(
                self._name,
                metadata={"name": self._secret_name, "namespace": self._namespace, "labels": labels},
                string_data=self._data,
                opts=self._ctx.opts(self._parent, additional_secret_outputs=["stringData", "data"]),
            )
        return self.resource
