"""Turn a config secret (encrypted config value or Secret reference) into a `secretKeyRef` a Pod can read."""

from __future__ import annotations

from typing import Optional, Union

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from stack_config.secrets import SecretRefInput, SecureValue


def plaintext_output(value: SecureValue) -> pulumi.Output[str]:
    """The decrypted value as a secret Output. Only meaningful inside the engine, where plaintext is known."""
    return pulumi.Output.secret(value.plaintext if value.plaintext is not None else "")


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

    def ref(self, key: str, value: Union[SecureValue, SecretRefInput]) -> tuple[pulumi.Input[str], str]:
        """(secret name, key) for the value; config values are stored under `key` in the bundle Secret."""
        if isinstance(value, SecretRefInput):
            return value.secret_key_ref.name, value.secret_key_ref.key
        self._data[key] = plaintext_output(value)
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
