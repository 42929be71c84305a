"""The contract between a database (in-cluster, external, later managed cloud) and the servers that use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi


@dataclass
class DatabaseConnection:
    """Everything a client needs, with credentials only as Secret references in the client's namespace."""

    engine: str  # "mysql" | "postgres"
    host: pulumi.Input[str]
    port: int
    database: str
    username: str
    password_secret: pulumi.Input[str]
    password_key: str
    tls: bool
    verify_server_cert: bool
    ca_secret: Optional[pulumi.Input[str]] = None
    ca_key: str = "ca.crt"
    # NetworkPolicy egress peers that reach the database (pods in-cluster, CIDRs outside).
    egress_peers: list[dict[str, Any]] = field(default_factory=list)
    # Label a client pod must carry to pass the database's ingress policy.
    client_labels: dict[str, str] = field(default_factory=dict)
    # The password as a secret Output, for consumers that cannot take a Secret reference (chart values).
    password: Optional[pulumi.Output[str]] = None
    depends_on: list[pulumi.Resource] = field(default_factory=list)

    def url(self, scheme: Optional[str] = None) -> pulumi.Output[str]:
        """URL without credentials; they travel separately as Secret references."""
        return pulumi.Output.concat(scheme or self.engine, "://", self.host, ":", str(self.port), "/", self.database)
