"""The ZenML Pro control plane from the vendor's chart (`helm.v3.Release`: a real, inspectable Helm release).

Typed values only; `values` from config are merged last. Helm ignores unknown value keys without a word, so every
key set here is either shown in ZenML's docs (DOCUMENTED_KEYS, docs.zenml.io Pro "Kubernetes with Helm" for the
control plane) or listed in UNCONFIRMED_KEYS with the reason it is still set; `chart_key_problems` enforces it.

Passwords: chart 0.13.12 accepts Secret references for the database, admin and OIDC passwords (zenml-io/zenml#4042),
but the value keys for them are not in ZenML's public docs and the chart source is not public, so they are not used
yet: the database password, OIDC client secret and admin password are chart values, and the whole `values` input is
marked secret (Pulumi encrypts it in state; Helm keeps it in its release Secret inside the cluster). The same holds
for the database's sslmode/CA: no documented key, so none is set. What was searched: docs/security.md "Still open".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.context import DeployContext
from components.database import DatabaseConnection
from components.images import ImageResolver
from components.ingress import HostTls, host_tls
from components.internal_ca import InternalCertificateAuthority
from components.kube import labels


@dataclass(frozen=True)
class ChartSource:
    """Where the vendor chart comes from: a local archive of `version`, or `repository` at `version`."""

    repository: str
    version: str  # also the API and dashboard image tag (docs.zenml.io: image tags match the chart version)
    archive: Optional[str] = None
    values: dict[str, Any] = field(default_factory=dict)  # extra chart values from config, merged last


@dataclass(frozen=True)
class OidcLogin:
    discovery_url: str
    client_id: str
    client_secret: pulumi.Output  # secret Output


@dataclass(frozen=True)
class ControlPlaneLogin:
    """SSO through an OIDC provider, or password login with `admin_password` (None: generated once)."""

    oidc: Optional[OidcLogin] = None
    admin_password: Optional[pulumi.Output] = None


@dataclass
class ControlPlaneArgs:
    host: str
    chart: ChartSource
    login: ControlPlaneLogin
    tls: HostTls
    ca: Optional[InternalCertificateAuthority]
    ingress_class: str
    images: ImageResolver
    api_repository: str
    dashboard_repository: str
    resources: dict[str, Any]
    custom_ca_pem: Optional[pulumi.Input[str]] = None
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    # Set by the owner (components/control_plane_platform.py): its namespace and database.
    namespace: Optional[pulumi.Input[str]] = None
    database: Optional[DatabaseConnection] = None


# Shown in docs.zenml.io Pro "Kubernetes with Helm" (control plane) and "Self-hosted Deployment on Kubernetes with
# Helm" (zenml-io/zenml docs/book/getting-started/zenml-pro/deploy-control-plane-k8s.md, self-hosted-deployment-helm.md).
DOCUMENTED_KEYS = frozenset({
    "imagePullSecrets",
    "zenml.image.api.repository", "zenml.image.api.tag",
    "zenml.image.dashboard.repository", "zenml.image.dashboard.tag",
    "zenml.serverURL",
    "zenml.database.external.type", "zenml.database.external.host", "zenml.database.external.username",
    "zenml.database.external.password", "zenml.database.external.database",
    "zenml.auth.sso.enabled", "zenml.auth.sso.oidcConfigurationEndpoint", "zenml.auth.sso.clientID",
    "zenml.auth.sso.clientSecret",
    "zenml.auth.password.enabled", "zenml.auth.password.adminPassword",
    "zenml.auth.authCookieDomain",
    "zenml.ingress.enabled", "zenml.ingress.host",
    "resources",  # documented as a whole ("Kubernetes resources allocated to the pods (`resources`)")
})
# Set, though the docs do not show the exact key (only the section: "additional Ingress settings (`zenml.ingress`)",
# "custom CA certificates (`zenml.certificates`)"); without them the chart's defaults apply, so they stay, and the
# closing note of issue 11 lists them as unconfirmed. Removed: zenml.replicaCount, zenml.database.external.port.
UNCONFIRMED_KEYS = frozenset({
    "zenml.ingress.className", "zenml.ingress.annotations", "zenml.ingress.tls.enabled", "zenml.ingress.tls.secretName",
    "zenml.certificates.customCAs",
    "podSecurityContext", "securityContext",
})


def key_paths(values: dict, prefix: str = "") -> set[str]:
    """Dotted paths to the leaves; documented whole-object keys (resources, annotations, ...) are leaves."""
    out: set[str] = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in DOCUMENTED_KEYS | UNCONFIRMED_KEYS:
            out |= key_paths(value, f"{path}.")
        else:
            out.add(path)
    return out


def chart_key_problems(values: dict) -> list[str]:
    return sorted(p for p in key_paths(values) if p not in DOCUMENTED_KEYS | UNCONFIRMED_KEYS)


def _sealed(values: dict) -> pulumi.Output:
    """The chart values as one secret Output (passwords are among them)."""
    return pulumi.Output.secret(values)


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
        super().__init__("zenml-platform:kubernetes:ControlPlane", name, None, opts)
        a = args
        assert a.namespace is not None and a.database is not None, "set by the owner"
        chart_source = a.chart
        meta = labels("zenml-pro", "control-plane")
        secret_name, annotations = host_tls(f"{name}-ingress", a.host, a.namespace, meta, a.tls, a.ca, ctx, self)

        auth: dict[str, Any]
        self.admin_password: Optional[pulumi.Output[str]] = None
        if a.login.oidc is not None:
            oidc = a.login.oidc
            auth = {
                "sso": {
                    "enabled": True,
                    "oidcConfigurationEndpoint": oidc.discovery_url,
                    "clientID": oidc.client_id,
                    "clientSecret": oidc.client_secret,
                },
                "password": {"enabled": False},
            }
        else:
            if a.login.admin_password is not None:
                self.admin_password = a.login.admin_password
            else:
                self.admin_password = random.RandomPassword(
                    f"{name}-admin-password", length=24, special=False, opts=ctx.secret_opts(self)
                ).result
            auth = {"password": {"enabled": True, "adminPassword": self.admin_password}, "sso": {"enabled": False}}
        auth["authCookieDomain"] = a.host

        db = a.database
        # The chart's image tags default to its appVersion; given explicitly (documented `tag`) from the one
        # chart.version setting, so the mirror list and the chart cannot drift apart.
        api_image = a.images(a.api_repository, chart_source.version)
        dashboard_image = a.images(a.dashboard_repository, chart_source.version)
        values: dict[str, Any] = {
            "imagePullSecrets": ctx.image_pull_secrets,
            "zenml": {
                "serverURL": f"https://{a.host}",
                "image": {
                    "api": _repo_tag(api_image),
                    "dashboard": _repo_tag(dashboard_image),
                },
                "database": {
                    "external": {
                        "type": db.engine,
                        "host": db.host,
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
        problems = chart_key_problems(values)
        assert not problems, f"chart values neither documented nor listed as unconfirmed: {problems}"
        values = deep_merge(values, chart_source.values)

        chart = chart_source.archive or chart_source.repository
        self.release = k8s.helm.v3.Release(
            name,
            name="zenml-pro",
            chart=chart,
            version=None if chart_source.archive else chart_source.version,
            namespace=a.namespace,
            values=_sealed(values),
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
