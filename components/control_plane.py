"""The ZenML Pro control plane from the vendor's chart (`helm.v3.Release`: a real, inspectable Helm release).

Typed values only; `values` from config are merged last. The chart takes the database password, the OIDC client
secret and the admin password as values, not Secret references, so the whole `values` input is marked secret:
Pulumi encrypts it in state, and Helm keeps it in its release Secret inside the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import PACKAGE
from components.context import DeployContext
from components.database import DatabaseConnection
from components.images import ImageResolver
from components.ingress import host_tls
from components.internal_ca import InternalCertificateAuthority
from components.kube import labels
from components.secret_values import plaintext_output
from stack_config.model import ControlPlane as ControlPlaneSettings
from stack_config.model import IdentityProvider, TlsSettings


@dataclass
class ControlPlaneArgs:
    namespace: pulumi.Input[str]
    host: str
    settings: ControlPlaneSettings
    identity: IdentityProvider
    database: DatabaseConnection
    tls: TlsSettings
    ca: Optional[InternalCertificateAuthority]
    ingress_class: str
    images: ImageResolver
    api_repository: str
    dashboard_repository: str
    resources: dict[str, Any]
    replicas: int
    custom_ca_pem: Optional[pulumi.Input[str]] = None
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class ControlPlane(pulumi.ComponentResource):
    def __init__(self, name: str, args: ControlPlaneArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{PACKAGE}:kubernetes:ControlPlane", name, None, opts)
        a = args
        s = a.settings
        meta = labels("zenml-pro", "control-plane")
        secret_name, annotations = host_tls(f"{name}-ingress", a.host, a.namespace, meta, a.tls, a.ca, ctx, self)

        auth: dict[str, Any]
        self.admin_password: Optional[pulumi.Output[str]] = None
        if a.identity.type == "oidc":
            oidc = a.identity.oidc
            assert oidc is not None
            auth = {
                "sso": {
                    "enabled": True,
                    "oidcConfigurationEndpoint": oidc.discovery_url,
                    "clientID": oidc.client_id,
                    "clientSecret": plaintext_output(oidc.client_secret, "identityProvider.oidc.clientSecret"),
                },
                "password": {"enabled": False},
            }
        else:
            given = a.identity.password.admin_password
            if given is not None:
                self.admin_password = plaintext_output(given, "identityProvider.password.adminPassword")
            else:
                self.admin_password = random.RandomPassword(
                    f"{name}-admin-password", length=24, special=False, opts=ctx.secret_opts(self)
                ).result
            auth = {"password": {"enabled": True, "adminPassword": self.admin_password}, "sso": {"enabled": False}}
        auth["authCookieDomain"] = a.host

        db = a.database
        api_image = a.images(a.api_repository, s.version)
        dashboard_image = a.images(a.dashboard_repository, s.version)
        values: dict[str, Any] = {
            "imagePullSecrets": ctx.image_pull_secrets,
            "zenml": {
                "serverURL": f"https://{a.host}",
                "image": {
                    "api": _repo_tag(api_image),
                    "dashboard": _repo_tag(dashboard_image),
                },
                "replicaCount": a.replicas,
                "database": {
                    "external": {
                        "type": db.engine,
                        "host": db.host,
                        "port": db.port,
                        "username": db.username,
                        "password": db.password,
                        "database": db.database,
                    }
                },
                "auth": auth,
                "ingress": {
                    "enabled": True,
                    "host": a.host,
                    "className": a.ingress_class,
                    "annotations": annotations,
                    "tls": {"enabled": secret_name is not None, "secretName": secret_name},
                },
            },
            "resources": a.resources,
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        if a.custom_ca_pem is not None:
            values["zenml"]["certificates"] = {"customCAs": [{"name": "internal-ca", "certificate": a.custom_ca_pem}]}
        values = deep_merge(values, s.values)

        chart = s.chart.archive or s.chart.repository
        self.release = k8s.helm.v3.Release(
            name,
            name="zenml-pro",
            chart=chart,
            version=None if s.chart.archive else s.chart.version,
            namespace=a.namespace,
            values=pulumi.Output.secret(values),
            atomic=True,
            cleanup_on_fail=True,
            max_history=10,
            timeout=900,
            opts=ctx.opts(self, depends_on=[*db.depends_on, *a.depends_on], additional_secret_outputs=["values"]),
        )
        self.url = f"https://{a.host}"
        self.register_outputs({"url": self.url})


def _repo_tag(image: str) -> dict[str, str]:
    repository, _, tag = image.rpartition(":")
    return {"repository": repository, "tag": tag}
