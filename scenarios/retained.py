"""Generated passwords and keys whose Secret a production stack retains, and how a later `up` reuses them.

With `profile: production` the Secrets holding the generated database passwords, the secrets-store key, the JWT key
and the admin password are protected and retained on delete. The generated values themselves (pulumi_random
RandomPassword) live only in the state: after `pulumi state unprotect --all` and `destroy` they are gone while the
Secrets and the database they unlock stay in the cluster. A later `up` would generate new values that do not match.

`retained_secrets(cfg)` names, for one stack config, every such value: the RandomPassword resource name, the
Secret (namespace, name, key) the component writes it to, and the labels the component gives that Secret. The CLI
(cli_app/recovery.py, `adoption`) checks the cluster against this list before `up` and passes the confirmed ones to
the program in ADOPT_ENV (names only, never a value); the components then read the value from the retained Secret
(`DeployContext.generated`) instead of generating one. Only names and labels are here: no value ever passes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.context import RETAINED_SUFFIX  # noqa: F401  (re-exported for the CLI)

ADOPT_ENV = "ZENML_PLATFORM_ADOPT"


@dataclass(frozen=True)
class RetainedValue:
    generated: str  # the RandomPassword resource name the component uses
    namespace: str
    secret: str
    key: str
    labels: tuple[tuple[str, str], ...]

    @property
    def secret_id(self) -> str:
        return f"{self.namespace}/{self.secret}"


def _labels(component: str, instance: str) -> tuple[tuple[str, str], ...]:
    from components.kube import labels

    return tuple(sorted(labels(component, instance).items()))


def retained_secrets(cfg: Any) -> list[RetainedValue]:
    """The generated values of `cfg` that a production stack keeps in a retained Secret (empty otherwise)."""
    from stack_config.model import DatabaseMode, Edition, SecretStoreType

    if not cfg.defaults.protect_data:
        return []
    out: list[RetainedValue] = []
    for ws in cfg.workspaces:
        n, ns = ws.name, cfg.namespace_of(ws)
        if ws.database.mode is DatabaseMode.in_cluster:
            kind = "mariadb" if ws.database.in_cluster.engine == "mariadb" else "mysql"
            for key in ("password", "root-password"):
                out.append(RetainedValue(f"{n}-{kind}-{key}", ns, f"{n}-{kind}-credentials", key, _labels(kind, n)))
        if ws.secret_store.type is SecretStoreType.sql and ws.secret_store.encryption_key is None:
            out.append(RetainedValue(f"{n}-secrets-encryption-key", ns, f"{n}-secrets-encryption-key", "encryption-key",
                                     _labels("zenml", n)))
        out.append(RetainedValue(f"{n}-server-jwt-secret", ns, "zenml-server-jwt", "jwt-secret-key", _labels("zenml-server", n)))
        if cfg.edition_of(ws) is not Edition.pro:
            out.append(RetainedValue(f"{n}-server-admin-password", ns, "zenml-server-admin", "password",
                                     _labels("zenml-server", n)))
    return out


@dataclass(frozen=True)
class RetainedWorkload:
    """A retained StatefulSet: a new object of its name conflicts with the old one's server-side-apply field owner
    (defaulted fields such as volumeClaimTemplates) and its pod serves a certificate of the lost internal CA, so the
    CLI deletes it with its pods first; its volume claims stay (retention policy Retain) and the new pod uses them."""

    resource: str  # the Pulumi resource name
    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    type: str = "kubernetes:apps/v1:StatefulSet"

    @property
    def ident(self) -> str:
        return f"{self.namespace}/{self.name}"


def retained_workloads(cfg: Any) -> list[RetainedWorkload]:
    from stack_config.model import DatabaseMode

    if not cfg.defaults.protect_data:
        return []
    out = []
    for ws in cfg.workspaces:
        if ws.database.mode is DatabaseMode.in_cluster:
            kind = "mariadb" if ws.database.in_cluster.engine == "mariadb" else "mysql"
            out.append(RetainedWorkload(f"{ws.name}-{kind}", cfg.namespace_of(ws), f"{ws.name}-{kind}", _labels(kind, ws.name)))
    return out


def encode(adopted: list[RetainedValue]) -> str:
    return json.dumps({r.generated: {"secret": r.secret_id, "key": r.key} for r in adopted}, sort_keys=True)


def decode(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """RandomPassword name -> (namespace/name, key) of the retained Secret to read it from."""
    raw = environ.get(ADOPT_ENV)
    if not raw:
        return {}
    doc = json.loads(raw)
    return {str(k): (str(v["secret"]), str(v["key"])) for k, v in doc.items()}
