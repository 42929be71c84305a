"""Secrets stores: where a workspace keeps the credentials of its users' infrastructure.

Every store yields a `SecretStoreBinding` (environment for the server, service account annotations, egress),
the one interface the workspace server consumes. Cloud stores (AWS Secrets Manager, GCP Secret Manager) plug in
by returning the same binding, with the pod identity in `service_account_annotations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import PACKAGE
from components.context import DeployContext
from components.kube import env_secret, env_value
from components.secret_values import SecretBundle
from stack_config.model import SecretStoreSettings, VaultSettings

PREFIX = "ZENML_SECRETS_STORE_"


@dataclass
class SecretStoreBinding:
    kind: str
    env: list[dict[str, Any]]
    service_account_annotations: dict[str, str] = field(default_factory=dict)
    egress_cidrs: list[str] = field(default_factory=list)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class SqlSecretStore(pulumi.ComponentResource):
    """Secrets in the workspace database, encrypted with a key generated once and never rotated by an `up`."""

    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        ctx: DeployContext,
        settings: SecretStoreSettings,
        labels: dict[str, str],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__(f"{PACKAGE}:secrets:SqlSecretStore", name, None, opts)
        if settings.encryption_key is not None:
            bundle = SecretBundle(f"{name}-key", f"{name}-encryption-key", namespace, ctx, self)
            secret, key = bundle.ref("encryption-key", settings.encryption_key)
            deps = [r for r in [bundle.create(labels)] if r is not None]
        else:
            generated = random.RandomPassword(f"{name}-encryption-key", length=64, special=False, opts=ctx.secret_opts(self))
            res = k8s.core.v1.Secret(
                f"{name}-encryption-key",
                metadata={"name": f"{name}-encryption-key", "namespace": namespace, "labels": labels},
                string_data={"encryption-key": generated.result},
                opts=ctx.stateful_opts(self, additional_secret_outputs=["stringData", "data"]),
            )
            secret, key, deps = res.metadata.name, "encryption-key", [res]
        self.binding = SecretStoreBinding(
            kind="sql",
            env=[env_value(f"{PREFIX}TYPE", "sql"), env_secret(f"{PREFIX}ENCRYPTION_KEY", secret, key)],
            depends_on=deps,
        )
        self.register_outputs({"kind": "sql"})


class VaultSecretStore(pulumi.ComponentResource):
    """HashiCorp Vault; its token or AppRole secret is read from a Secret, never from plain config."""

    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        ctx: DeployContext,
        settings: VaultSettings,
        labels: dict[str, str],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__(f"{PACKAGE}:secrets:VaultSecretStore", name, None, opts)
        bundle = SecretBundle(f"{name}-credentials", f"{name}-vault", namespace, ctx, self)
        env = [
            env_value(f"{PREFIX}TYPE", "hashicorp"),
            env_value(f"{PREFIX}VAULT_ADDR", settings.address),
            env_value(f"{PREFIX}AUTH_METHOD", settings.auth_method),
            env_value(f"{PREFIX}MAX_VERSIONS", str(settings.max_versions)),
        ]
        for key, value in (
            ("VAULT_NAMESPACE", settings.namespace),
            ("MOUNT_POINT", settings.mount_point),
            ("AUTH_MOUNT_POINT", settings.auth_mount_point),
            ("APP_ROLE_ID", settings.app_role_id),
            ("AWS_ROLE", settings.aws_role),
        ):
            if value:
                env.append(env_value(f"{PREFIX}{key}", value))
        for key, secret_value in (("VAULT_TOKEN", settings.token), ("APP_SECRET_ID", settings.app_secret_id)):
            if secret_value is not None:
                secret, skey = bundle.ref(key.lower().replace("_", "-"), secret_value)
                env.append(env_secret(f"{PREFIX}{key}", secret, skey))
        created = bundle.create(labels)
        self.binding = SecretStoreBinding(kind="hashicorp", env=env, depends_on=[r for r in [created] if r is not None])
        self.register_outputs({"kind": "hashicorp", "address": settings.address})
