"""Secrets stores: where a workspace keeps the credentials of its users' infrastructure.

Every store yields a `SecretStoreBinding` (environment for the server, service account annotations, egress),
the one interface the workspace server consumes. Cloud stores (AWS Secrets Manager, GCP Secret Manager) plug in
by returning the same binding, with the pod identity in `service_account_annotations`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.kube import env_secret, env_value
from components.secret_values import ConfigSecret, SecretBundle

PREFIX = "ZENML_SECRETS_STORE_"


@dataclass
class SecretStoreBinding:
    kind: str
    env: list[dict[str, Any]]
    service_account_annotations: dict[str, str] = field(default_factory=dict)
    egress_cidrs: list[str] = field(default_factory=list)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def cloud_store_env(kind: str, auth_config: dict[str, str]) -> list[dict[str, Any]]:
    """A cloud store (aws, gcp) reached as the server's pod identity (`implicit`): the env block both clouds share."""
    return [
        env_value(f"{PREFIX}TYPE", kind),
        env_value(f"{PREFIX}AUTH_METHOD", "implicit"),
        env_value(f"{PREFIX}AUTH_CONFIG", json.dumps(auth_config)),
    ]


@dataclass
class SqlSecretStoreArgs:
    labels: dict[str, str]
    # An existing key (migrations); None: a key generated once, protected like the data, never rotated by an `up`.
    encryption_key: Optional[ConfigSecret] = None
    namespace: Optional[pulumi.Input[str]] = None  # set by the owner (the workspace's namespace)


@dataclass
class VaultSecretStoreArgs:
    labels: dict[str, str]
    address: str
    auth_method: str  # token | app_role | aws
    max_versions: int = 1
    vault_namespace: Optional[str] = None
    mount_point: Optional[str] = None
    auth_mount_point: Optional[str] = None
    app_role_id: Optional[str] = None
    aws_role: Optional[str] = None
    token: Optional[ConfigSecret] = None
    app_secret_id: Optional[ConfigSecret] = None
    namespace: Optional[pulumi.Input[str]] = None  # set by the owner (the workspace's namespace)


class SqlSecretStore(pulumi.ComponentResource):
    """Secrets in the workspace database, encrypted with a key generated once and never rotated by an `up`."""

    def __init__(self, name: str, args: SqlSecretStoreArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:secrets:SqlSecretStore", name, None, opts)
        namespace, labels = args.namespace, args.labels
        assert namespace is not None, "set by the owner before construction"
        if args.encryption_key is not None:
            bundle = SecretBundle(f"{name}-key", f"{name}-encryption-key", namespace, ctx, self)
            secret, key = bundle.ref("encryption-key", args.encryption_key)
            deps: list[pulumi.Resource] = [r for r in [bundle.create(labels)] if r is not None]
        else:
            generated = ctx.generated(self, f"{name}-encryption-key", 64)
            res = k8s.core.v1.Secret(
                f"{name}-encryption-key",
                metadata={"name": f"{name}-encryption-key", "namespace": namespace, "labels": labels},
                string_data={"encryption-key": generated},
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

    def __init__(self, name: str, args: VaultSecretStoreArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:secrets:VaultSecretStore", name, None, opts)
        settings, namespace, labels = args, args.namespace, args.labels
        assert namespace is not None, "set by the owner before construction"
        bundle = SecretBundle(f"{name}-credentials", f"{name}-vault", namespace, ctx, self)
        env = [
            env_value(f"{PREFIX}TYPE", "hashicorp"),
            env_value(f"{PREFIX}VAULT_ADDR", settings.address),
            env_value(f"{PREFIX}AUTH_METHOD", settings.auth_method),
            env_value(f"{PREFIX}MAX_VERSIONS", str(settings.max_versions)),
        ]
        for key, value in (
            ("VAULT_NAMESPACE", settings.vault_namespace),
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
