"""An existing database (managed or on-premises): credentials and CA become Secrets in the client namespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.database import PORTS, DatabaseConnection
from components.secret_values import ConfigSecret, SecretBundle, SecretKeyRef


@dataclass
class ExternalDatabaseArgs:
    engine: str  # client protocol: "mysql" | "postgres"
    host: str  # host name or IP address; an IP is pinned in the client's egress policy
    database: str
    username: str
    password: ConfigSecret  # a Secret reference is used as it is; a value is stored in an owned Secret
    port: Optional[int] = None  # default: the engine's port
    ca_certificate: Optional[str] = None  # PEM of the CA of the database's certificate
    verify_server_certificate: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    # The client's namespace, where the credentials and CA Secrets go: set by the owner that creates it.
    namespace: Optional[pulumi.Input[str]] = None


class ExternalDatabaseLink(pulumi.ComponentResource):
    """Output: `connection` (DatabaseConnection)."""

    def __init__(self, name: str, args: ExternalDatabaseArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:database:ExternalDatabaseLink", name, None, opts)
        a = args
        assert a.namespace is not None, "set by the owner"
        bundle = SecretBundle(f"{name}-credentials", f"{name}-credentials", a.namespace, ctx, self)
        password_secret, password_key = bundle.ref("password", a.password)
        bundle.create(a.labels)
        ca_secret = None
        if a.ca_certificate:
            ca_secret = k8s.core.v1.Secret(
                f"{name}-ca",
                metadata={"name": f"{name}-ca", "namespace": a.namespace, "labels": a.labels},
                string_data={"ca.crt": a.ca_certificate},
                opts=ctx.opts(self),
            ).metadata.name
        port = a.port or PORTS[a.engine]
        # An IP host can be pinned in the egress policy; a DNS name cannot, so the port is opened instead.
        try:
            peer = [{"ipBlock": {"cidr": f"{ip_address(a.host)}/32"}}]
        except ValueError:
            peer = []
        self.connection = DatabaseConnection(
            engine=a.engine,
            host=a.host,
            port=port,
            database=a.database,
            username=a.username,
            password_secret=password_secret,
            password_key=password_key,
            tls=ca_secret is not None or a.verify_server_certificate,
            verify_server_cert=a.verify_server_certificate,
            ca_secret=ca_secret,
            egress_peers=peer,
            password=None if isinstance(a.password, SecretKeyRef) else a.password,
            depends_on=[r for r in [bundle.resource] if r is not None],
        )
        self.register_outputs({"host": a.host, "port": port})
