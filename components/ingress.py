"""One Ingress per host, with TLS from cert-manager, an existing Secret, or the internal CA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components import PACKAGE
from components.context import DeployContext
from components.internal_ca import InternalCertificateAuthority
from stack_config.model import TlsMode, TlsSettings


@dataclass
class IngressArgs:
    host: str
    namespace: pulumi.Input[str]
    service_name: pulumi.Input[str]
    service_port: int
    labels: dict[str, str]
    class_name: str
    annotations: dict[str, str]
    tls: TlsSettings
    ca: Optional[InternalCertificateAuthority]


def host_tls(
    name: str,
    host: str,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    tls: TlsSettings,
    ca: Optional[InternalCertificateAuthority],
    ctx: DeployContext,
    parent: pulumi.Resource,
) -> tuple[Optional[str], dict[str, str]]:
    """(TLS Secret name or None, annotations) for one host; the internal CA issues into a Secret it owns."""
    mode = tls.mode
    secret_name = f"{name}-tls"
    if mode is TlsMode.cert_manager:
        cm = tls.cert_manager
        assert cm is not None
        key = "cert-manager.io/cluster-issuer" if cm.issuer_kind == "ClusterIssuer" else "cert-manager.io/issuer"
        return secret_name, {key: cm.issuer_name}
    if mode is TlsMode.provided:
        assert tls.provided is not None
        return tls.provided.secret_name, {}
    if mode is TlsMode.internal_ca:
        assert ca is not None
        issued = ca.issue(f"{name}-cert", [host], validity_hours=tls.internal_ca.certificate_validity_hours, parent=parent)
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
        super().__init__(f"{PACKAGE}:kubernetes:IngressHost", name, None, opts)
        a = args
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
