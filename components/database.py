"""The contract between a database (in-cluster, external, later managed cloud) and the servers that use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi

# The client protocols and their default ports: the one catalogue the in-cluster engines, the external link and
# the managed (RDS, Cloud SQL) engines read.
PORTS = {"mysql": 3306, "postgres": 5432}


@dataclass(frozen=True)
class ManagedSizing:
    """A managed instance (RDS, Cloud SQL) with the profile's defaults already applied (scenarios/args.py)."""

    instance_class: str  # RDS instance class or Cloud SQL tier
    storage_gb: int
    max_storage_gb: int  # storage autoscaling ceiling
    high_availability: bool  # RDS Multi-AZ / Cloud SQL REGIONAL
    backup_retention_days: int  # at least 7
    engine_version: Optional[str] = None  # None: the engine's default version


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


def database_egress(connection: DatabaseConnection) -> dict[str, Any]:
    """The NetworkPolicy egress rule a client needs for its database: to the database's peers when they are known
    (pods, CIDRs), else the port alone (a DNS host cannot be pinned)."""
    ports = [{"protocol": "TCP", "port": connection.port}]
    if connection.egress_peers:
        return {"to": connection.egress_peers, "ports": ports}
    return {"ports": ports}
