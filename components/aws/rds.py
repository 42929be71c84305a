"""An RDS instance in the given private subnets: TLS enforced by its parameter group, encrypted, backed up, and
reachable on the database port only from the security groups of its clients' pods (components/aws/pod_network.py),
never from the cluster's nodes.

Passwords (see docs/layouts.md):
- MySQL (workspaces): the master password is managed by RDS in Secrets Manager (`manage_master_user_password`),
  so it never exists in Pulumi state; a bootstrap Job reads it to create one least-privilege user per database.
- PostgreSQL (control plane): the vendor chart takes the password as a chart value, so it is a pulumi-random
  password, a secret in state (encrypted) and in the Helm release, never a plain value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.database import PORTS, ManagedSizing

CA_IDENTIFIER = "rds-ca-rsa2048-g1"


@dataclass(frozen=True)
class RdsEngine:
    engine: str
    kind: str  # mysql | postgres
    default_version: str
    family: str
    port: int
    tls_parameters: tuple[tuple[str, str], ...]


MYSQL = RdsEngine("mysql", "mysql", "8.0", "mysql8.0", PORTS["mysql"], (("require_secure_transport", "ON"),))
POSTGRES = RdsEngine("postgres", "postgres", "16", "postgres16", PORTS["postgres"], (("rds.force_ssl", "1"),))


@dataclass
class RdsArgs:
    identifier: str
    engine: RdsEngine
    sizing: ManagedSizing
    vpc_id: str
    subnet_ids: list[str]
    kms_key_arn: Optional[str]
    tags: dict[str, str]
    provider: pulumi.ProviderResource  # the AWS provider
    protect: bool = False  # protected and retained, deletion protection and a final snapshot (production)
    db_name: Optional[str] = None
    managed_master_password: bool = True


class RdsInstance(pulumi.ComponentResource):
    def __init__(self, name: str, args: RdsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:aws:RdsInstance", name, None, opts)
        provider, protect = args.provider, args.protect
        a, s, e = args, args.sizing, args.engine
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        tags = {**a.tags, "zenml-platform/database": a.identifier}

        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", name=a.identifier, subnet_ids=a.subnet_ids, description=f"{a.identifier} private subnets", tags=tags, opts=child
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=f"{a.identifier}-db",
            # Kept as created: a security group's name and description cannot change without replacing it, and a
            # replacement under the same name fails. The rules, not this text, say who may connect.
            description=f"{a.identifier}: {e.kind} port from the cluster nodes only",
            vpc_id=a.vpc_id,
            tags=tags,
            opts=child,
        )
        # No ingress here: each client's DatabaseClientGroup adds one rule naming its own pod security group.
        version = s.engine_version or e.default_version
        family = e.family if s.engine_version is None else f"{e.engine}{'.'.join(version.split('.')[:2]) if e.kind == 'mysql' else version.split('.')[0]}"
        params = aws.rds.ParameterGroup(
            f"{name}-params",
            name=f"{a.identifier}-tls",
            family=family,
            description=f"{a.identifier}: TLS required",
            parameters=[{"name": k, "value": v, "apply_method": "immediate"} for k, v in e.tls_parameters],
            tags=tags,
            opts=child,
        )

        self.master_password: Optional[pulumi.Output[str]] = None
        password_args: dict = {}
        if a.managed_master_password:
            password_args = {"manage_master_user_password": True, "master_user_secret_kms_key_id": a.kms_key_arn}
        else:
            generated = random.RandomPassword(
                f"{name}-master-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self, protect=protect)
            )
            self.master_password = pulumi.Output.secret(generated.result)
            password_args = {"password": self.master_password}

        self.instance = aws.rds.Instance(
            name,
            identifier=a.identifier,
            engine=e.engine,
            engine_version=version,
            instance_class=s.instance_class,
            allocated_storage=s.storage_gb,
            max_allocated_storage=s.max_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=a.kms_key_arn,
            db_name=a.db_name,
            username="zenml_admin",
            port=e.port,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[sg.id],
            parameter_group_name=params.name,
            publicly_accessible=False,
            multi_az=s.high_availability,
            ca_cert_identifier=CA_IDENTIFIER,
            backup_retention_period=s.backup_retention_days,
            backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            copy_tags_to_snapshot=True,
            delete_automated_backups=not protect,
            deletion_protection=protect,
            skip_final_snapshot=not protect,
            final_snapshot_identifier=f"{a.identifier}-final" if protect else None,
            auto_minor_version_upgrade=True,
            apply_immediately=not protect,
            iam_database_authentication_enabled=False,
            tags=tags,
            **password_args,
            opts=pulumi.ResourceOptions(
                parent=self, provider=provider, protect=protect, retain_on_delete=protect, additional_secret_outputs=["password"]
            ),
        )
        # Computed by AWS on create; None only under offline mocks, which echo inputs as state.
        self.address = self.instance.address.apply(lambda v: v if v is not None else "[unknown]")
        self.port = e.port
        self.engine = e
        self.identifier = a.identifier
        # Known once RDS created the secret; absent only under offline mocks, which return inputs as state.
        self.master_secret_arn: pulumi.Output[str] = (
            self.instance.master_user_secrets.apply(_first_secret_arn) if a.managed_master_password else pulumi.Output.from_input("")
        )
        self.security_group_id = sg.id
        self.register_outputs({"address": self.address, "identifier": a.identifier})


def _first_secret_arn(secrets) -> str:
    if not secrets:
        return "[unknown]"
    first = secrets[0]
    if isinstance(first, dict):
        return first.get("secret_arn") or first.get("secretArn") or "[unknown]"
    return getattr(first, "secret_arn", None) or "[unknown]"
