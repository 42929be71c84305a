"""An RDS instance in the given private subnets: TLS enforced by its parameter group, encrypted, backed up, and
reachable only from the cluster's nodes on the database port.

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

from components import PACKAGE
from stack_config.cloud import ManagedInstance
from stack_config.profiles import ProfileDefaults

CA_IDENTIFIER = "rds-ca-rsa2048-g1"


@dataclass(frozen=True)
class RdsEngine:
    engine: str
    kind: str  # mysql | postgres
    default_version: str
    family: str
    port: int
    tls_parameters: tuple[tuple[str, str], ...]


MYSQL = RdsEngine("mysql", "mysql", "8.0", "mysql8.0", 3306, (("require_secure_transport", "ON"),))
POSTGRES = RdsEngine("postgres", "postgres", "16", "postgres16", 5432, (("rds.force_ssl", "1"),))

INSTANCE_CLASS = {"dev": "db.t4g.micro", "small": "db.t4g.small", "production": "db.m7g.large"}
STORAGE_GB = {"dev": 20, "small": 20, "production": 100}


@dataclass
class RdsArgs:
    identifier: str
    engine: RdsEngine
    settings: ManagedInstance
    defaults: ProfileDefaults
    profile: str
    vpc_id: str
    subnet_ids: list[str]
    node_security_group_id: str
    kms_key_arn: Optional[str]
    tags: dict[str, str]
    db_name: Optional[str] = None
    managed_master_password: bool = True


class RdsInstance(pulumi.ComponentResource):
    def __init__(self, name: str, args: RdsArgs, provider: pulumi.ProviderResource, protect: bool, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{PACKAGE}:aws:RdsInstance", name, None, opts)
        a, s, e = args, args.settings, args.engine
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        tags = {**a.tags, "zenml-platform/database": a.identifier}

        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", name=a.identifier, subnet_ids=a.subnet_ids, description=f"{a.identifier} private subnets", tags=tags, opts=child
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=f"{a.identifier}-db",
            description=f"{a.identifier}: {e.kind} port from the cluster nodes only",
            vpc_id=a.vpc_id,
            tags=tags,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-nodes",
            security_group_id=sg.id,
            referenced_security_group_id=a.node_security_group_id,
            ip_protocol="tcp",
            from_port=e.port,
            to_port=e.port,
            description="database port from the EKS nodes",
            tags=tags,
            opts=child,
        )
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

        storage = s.storage_gb or STORAGE_GB[a.profile]
        backup_days = max(7, s.backup_retention_days or a.defaults.backup_retention_days)
        multi_az = s.high_availability if s.high_availability is not None else a.profile == "production"
        self.instance = aws.rds.Instance(
            name,
            identifier=a.identifier,
            engine=e.engine,
            engine_version=version,
            instance_class=s.instance_class or INSTANCE_CLASS[a.profile],
            allocated_storage=storage,
            max_allocated_storage=s.max_storage_gb or storage * 4,
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
            multi_az=multi_az,
            ca_cert_identifier=CA_IDENTIFIER,
            backup_retention_period=backup_days,
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
