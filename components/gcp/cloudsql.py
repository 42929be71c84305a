"""A Cloud SQL instance for one database: private IP only, TLS only, backed up, protected in production.

Databases and users go through the Cloud SQL API (`gcp.sql.Database`, `gcp.sql.User`); passwords are generated
by pulumi-random and kept as secrets (encrypted in state, then only in the client's Kubernetes Secret).
Cloud SQL gives every instance its own server CA: clients verify the chain against exactly that CA, which pins
the instance (the certificate names the instance, not its private IP, so host-name checks stay off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.database import PORTS, ManagedSizing


@dataclass(frozen=True)
class SqlEngine:
    kind: str
    default_version: str
    port: int


MYSQL = SqlEngine("mysql", "MYSQL_8_0", PORTS["mysql"])
POSTGRES = SqlEngine("postgres", "POSTGRES_16", PORTS["postgres"])


@dataclass
class CloudSqlArgs:
    instance_name: str
    engine: SqlEngine
    sizing: ManagedSizing
    project: str
    region: str
    network: str
    kms_key_name: Optional[str]
    labels: dict[str, str]
    database: str
    username: str
    provider: pulumi.ProviderResource  # the Google provider
    protect: bool = False  # protected and retained, deletion protection (production)


class CloudSqlDatabase(pulumi.ComponentResource):
    def __init__(self, name: str, args: CloudSqlArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:gcp:CloudSqlDatabase", name, None, opts)
        provider, protect = args.provider, args.protect
        a, s, e = args, args.sizing, args.engine
        secret_opts = pulumi.ResourceOptions(parent=self, protect=protect)
        root = random.RandomPassword(f"{name}-root-password", length=32, special=False, opts=secret_opts)
        root_password: pulumi.Output[str] = pulumi.Output.secret(root.result)
        days, ha, disk = s.backup_retention_days, s.high_availability, s.storage_gb
        backup: dict = {
            "enabled": True,
            "start_time": "02:00",
            "transaction_log_retention_days": 7,
            "backup_retention_settings": {"retained_backups": days, "retention_unit": "COUNT"},
        }
        if e.kind == "mysql":
            backup["binary_log_enabled"] = True
        else:
            backup["point_in_time_recovery_enabled"] = True
        self.instance = gcp.sql.DatabaseInstance(  # type: ignore[call-overload]  # the SDK types nested args as TypedDicts; plain dict literals are what its docs show
            name,
            name=a.instance_name,
            project=a.project,
            region=a.region,
            database_version=s.engine_version or e.default_version,
            root_password=root_password,
            encryption_key_name=a.kms_key_name,
            deletion_protection=protect,
            settings={
                "tier": s.instance_class,
                "edition": "ENTERPRISE",
                "availability_type": "REGIONAL" if ha else "ZONAL",
                "disk_type": "PD_SSD",
                "disk_size": disk,
                "disk_autoresize": True,
                "disk_autoresize_limit": s.max_storage_gb,
                "deletion_protection_enabled": protect,
                "ip_configuration": {
                    "ipv4_enabled": False,
                    "private_network": a.network,
                    "ssl_mode": "ENCRYPTED_ONLY",
                },
                "backup_configuration": backup,
                "maintenance_window": {"day": 7, "hour": 3, "update_track": "stable"},
                "user_labels": a.labels,
            },
            opts=pulumi.ResourceOptions(
                parent=self, provider=provider, protect=protect, retain_on_delete=protect, additional_secret_outputs=["rootPassword"]
            ),
        )
        self.database = gcp.sql.Database(
            f"{name}-db",
            name=a.database,
            instance=self.instance.name,
            project=a.project,
            deletion_policy="ABANDON",
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=protect, retain_on_delete=protect),
        )
        self.password: pulumi.Output[str] = pulumi.Output.secret(
            random.RandomPassword(f"{name}-password", length=32, special=False, opts=secret_opts).result
        )
        self.user = gcp.sql.User(
            f"{name}-user",
            name=a.username,
            instance=self.instance.name,
            project=a.project,
            host="%" if e.kind == "mysql" else None,
            password=self.password,
            deletion_policy="ABANDON" if e.kind == "postgres" else None,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, additional_secret_outputs=["password"]),
        )
        # Computed by Cloud SQL on create; None only under offline mocks, which echo inputs as state.
        self.address = self.instance.private_ip_address.apply(lambda v: v if v is not None else "[unknown]")
        self.server_ca_pem: pulumi.Output[str] = self.instance.server_ca_certs.apply(_first_cert)
        self.port = e.port
        self.instance_name = a.instance_name
        self.register_outputs({"instance": a.instance_name, "database": a.database, "user": a.username})


def _first_cert(certs) -> str:
    """The instance's server CA; absent only under offline mocks, which return inputs as state."""
    if not certs:
        return "[unknown]"
    first = certs[0]
    if isinstance(first, dict):
        return first.get("cert") or "[unknown]"
    return getattr(first, "cert", None) or "[unknown]"
