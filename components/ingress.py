"""One Ingress per host, with TLS from cert-manager, an existing Secret, or the internal CA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.internal_ca import InternalCertificateAuthority


@dataclass(frozen=True)
class HostTls:
    """How a host gets its certificate (the stack's `tls` section, translated by scenarios/args.py)."""

    mode: str  # "cert-manager" | "provided" | "internal-ca" | "disabled"
    # cert-manager: the issuer annotation (key, issuer name) the Ingress carries.
    issuer_annotation: Optional[tuple[str, str]] = None
    # provided: the existing kubernetes.io/tls Secret.
    secret_name: Optional[str] = None
    # internal-ca: how long an issued host certificate is valid.
    certificate_validity_hours: int = 8760


@dataclass
class IngressArgs:
    host: str
    service_port: int
    labels: dict[str, str]
    class_name: str
    annotations: dict[str, str]
    tls: HostTls
    ca: Optional[InternalCertificateAuthority]
    # Set by the owner (the namespace and Service it creates):
    namespace: Optional[pulumi.Input[str]] = None
    service_name: Optional[pulumi.Input[str]] = None


def host_tls(
    name: str,
    host: str,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    tls: HostTls,
    ca: Optional[InternalCertificateAuthority],
    ctx: DeployContext,
    parent: pulumi.Resource,
) -> tuple[Optional[str], dict[str, str]]:
    """(TLS Secret name or None, annotations) for one host; the internal CA issues into a Secret it owns."""
    mode = tls.mode
    secret_name = f"{name}-tls"
    if mode == "cert-manager":
        assert tls.issuer_annotation is not None
        key, issuer = tls.issuer_annotation
        return secret_name, {key: issuer}
    if mode == "provided":
        assert tls.secret_name is not None
        return tls.secret_name, {}
    if mode == "internal-ca":
        assert ca is not None
        issued = ca.issue(f"{name}-cert", [host], validity_hours=tls.certificate_validity_hours, parent=parent)
        k8s.core.v1.Secret(
            f"{name}-tls",
            metadata={"name": secret_name, "namespace": namespace, "labels": labels},
            type="kubernetes.io/tls",
            string_data={"tls.crt": issued.cert_pem, "tls.key": issued.key_pem, "ca.crt": issued.ca_pem},
            opts=ctx.opts(parent, additional_secret_outputs=["stringData", "data"]),
        )
        return secret_name, {}
    return None, {}


class IngressHost(pulumi.ComponentResource):
    def __init__(self, name: str, args: IngressArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:kubernetes:IngressHost", name, None, opts)
        a = args
        assert a.namespace is not None, "set by the owner before construction"
        secret_name, extra = host_tls(name, a.host, a.namespace, a.labels, a.tls, a.ca, ctx, self)
        annotations = {**a.annotations, **extra}
        tls_block = [{"hosts": [a.host], "secretName": secret_name}] if secret_name else []
        if tls_block and a.class_name == "nginx":
            annotations.setdefault("nginx.ingress.kubernetes.io/ssl-redirect", "true")
            annotations.setdefault("nginx.ingress.kubernetes.io/proxy-body-size", "64m")
        self.ingress = k8s.networking.v1.Ingress(
            name,
            metadata={"name": name, "namespace": a.namespace, "labels": a.labels, "annotations": annotations},
            spec={
                "ingressClassName": a.class_name,
                "tls": tls_block,
                "rules": [
                    {
                        "host": a.host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": a.service_name, "port": {"number": a.service_port}}},
                                }
                            ]
                        },
                    }
                ],
            },
            opts=ctx.opts(self),
        )
        self.register_outputs({"host": a.host})
