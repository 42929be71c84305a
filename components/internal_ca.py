"""A private certificate authority (pulumi-tls): created once, or an existing one; issues server certificates.

The CA certificate is public and becomes a stack output; its key stays a secret in state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_tls as tls


@dataclass
class IssuedCertificate:
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    ca_pem: pulumi.Output[str]


@dataclass
class CertificateAuthorityArgs:
    common_name: str
    organization: str
    validity_hours: int
    # An existing CA (both or neither); default: a new ECDSA P-256 CA, generated once.
    ca_certificate: Optional[str] = None
    ca_private_key: Optional[pulumi.Input[str]] = None  # a secret Output
    protect: bool = False  # the generated key is protected (losing it invalidates every issued certificate)


class InternalCertificateAuthority(pulumi.ComponentResource):
    """Outputs: `cert_pem`, `key_pem` (secret); `issue(...)` signs a server certificate."""

    def __init__(self, name: str, args: CertificateAuthorityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:tls:InternalCertificateAuthority", name, None, opts)
        a = args
        common_name, organization, validity_hours = a.common_name, a.organization, a.validity_hours
        ca_certificate, ca_private_key, protect = a.ca_certificate, a.ca_private_key, a.protect
        if ca_certificate is not None and ca_private_key is not None:
            self.cert_pem: pulumi.Output[str] = pulumi.Output.from_input(ca_certificate)
            self.key_pem: pulumi.Output[str] = pulumi.Output.secret(ca_private_key)
        else:
            key = tls.PrivateKey(
                f"{name}-key",
                algorithm="ECDSA",
                ecdsa_curve="P256",
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )
            cert = tls.SelfSignedCert(
                f"{name}-cert",
                private_key_pem=key.private_key_pem,
                is_ca_certificate=True,
                validity_period_hours=validity_hours,
                early_renewal_hours=validity_hours // 10,
                allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
                subject={"common_name": common_name, "organization": organization},
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )
            self.cert_pem = cert.cert_pem
            self.key_pem = key.private_key_pem
        self.register_outputs({"cert_pem": self.cert_pem})

    def issue(
        self,
        name: str,
        dns_names: list[str],
        validity_hours: int,
        parent: pulumi.Resource,
        organization: str = "zenml-platform",
    ) -> IssuedCertificate:
        """Issue a server certificate as a child of `parent`, so one workspace's certificate never moves another's URN."""
        key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=pulumi.ResourceOptions(parent=parent))
        request = tls.CertRequest(
            f"{name}-csr",
            private_key_pem=key.private_key_pem,
            dns_names=dns_names,
            subject={"common_name": dns_names[0][:64], "organization": organization},
            opts=pulumi.ResourceOptions(parent=parent),
        )
        cert = tls.LocallySignedCert(
            f"{name}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=self.key_pem,
            ca_cert_pem=self.cert_pem,
            validity_period_hours=validity_hours,
            early_renewal_hours=max(validity_hours // 10, 24),
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return IssuedCertificate(cert_pem=cert.cert_pem, key_pem=pulumi.Output.secret(key.private_key_pem), ca_pem=self.cert_pem)
