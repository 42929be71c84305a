"""An existing database (managed or on-premises): credentials and CA become Secrets in the client namespace."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components import PACKAGE
from components.context import DeployContext
from components.database import DatabaseConnection
from components.secret_values import SecretBundle, plaintext_output
from stack_config.model import ExternalDatabase
from stack_config.secrets import SecureValue

DEFAULT_PORTS = {"mysql": 3306, "postgres": 5432}


class ExternalDatabaseLink(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        ctx: DeployContext,
        engine: str,
        settings: ExternalDatabase,
        labels: dict[str, str],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__(f"{PACKAGE}:database:ExternalDatabaseLink", name, None, opts)
        bundle = SecretBundle(f"{name}-credentials", f"{name}-credentials", namespace, ctx, self)
        password_secret, password_key = bundle.ref("password", settings.password)
        bundle.create(labels)
        ca_secret = None
        if settings.ca_certificate:
            ca_secret = k8s.core.v1.Secret(
                f"{name}-ca",
                metadata={"name": f"{name}-ca", "namespace": namespace, "labels": labels},
                string_data={"ca.crt": settings.ca_certificate},
                opts=ctx.opts(self),
            ).metadata.name
        port = settings.port or DEFAULT_PORTS[engine]
        # An IP host can be pinned in the egress policy; a DNS name cannot, so the port is opened instead.
        try:
            peer = [{"ipBlock": {"cidr": f"{ip_address(settings.host)}/32"}}]
        except ValueError:
            peer = []
        self.connection = DatabaseConnection(
            engine=engine,
            host=settings.host,
            port=port,
            database=settings.database,
            username=settings.username,
            password_secret=password_secret,
            password_key=password_key,
            tls=ca_secret is not None or settings.verify_server_certificate,
            verify_server_cert=settings.verify_server_certificate,
            ca_secret=ca_secret,
            egress_peers=peer,
            password=plaintext_output(settings.password, "database.external.password") if isinstance(settings.password, SecureValue) else None,
            depends_on=[r for r in [bundle.resource] if r is not None],
        )
        self.register_outputs({"host": settings.host, "port": port})
