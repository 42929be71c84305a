"""AWS services behind the platform's interfaces, per workspace and for the control plane.

`AwsCloud` is what the shared Kubernetes assembly calls (see components/workspace.py `CloudServices`):
- `workspace(...)` -> `AwsWorkspaceServices`: RDS MySQL (dedicated, or a database and user on the shared
  instance), the Secrets Manager store binding, the S3 artifact bucket, and IRSA roles for exactly the workspace
  server's and the runners' ServiceAccounts.
- `control_plane_database(...)` -> a dedicated RDS PostgreSQL for the control plane.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import PACKAGE
from components.aws import policies
from components.aws.db_bootstrap import MySqlUserBootstrap
from components.aws.identity import IrsaRole
from components.aws.rds import MYSQL, POSTGRES, RdsArgs, RdsInstance
from components.aws.s3 import ArtifactBucket
from components.context import DeployContext
from components.database import DatabaseConnection
from components.kube import env_value, labels
from components.namespace import PlatformNamespace
from components.secret_store import PREFIX, SecretStoreBinding
from components.workspace_server import MIGRATION_SA
from stack_config.cloud import AwsSettings, ManagedInstance
from stack_config.model import DatabaseMode, Edition, Scenario, SecretStoreType, StackConfig
from stack_config.model import Workspace as WorkspaceSettings

SERVER_SA = "zenml-server"
RUNNER_SA = "zenml-runner"
AWS_WORKLOAD_MANAGER = "zenml_cloud_plugins.aws_kubernetes_workload_manager.AWSKubernetesWorkloadManager"
RUNNER_LOGS_PREFIX = "runner-logs"


def server_id_of(cfg: StackConfig, ws: WorkspaceSettings) -> str:
    """The ID ZenML tags secrets with: a Pro workspace's ID, or a stable ID set through ZENML_SERVER_EXTERNAL_SERVER_ID."""
    return cfg.server_id_of(ws)


def runner_logs_url(bucket_name: str) -> str:
    """Where the AWS workload manager writes run logs, in the documented `s3://bucket/prefix` form."""
    return f"s3://{bucket_name}/{RUNNER_LOGS_PREFIX}"


def bounded(name: str, limit: int) -> str:
    """Cloud names have length limits; keep a readable prefix and a hash that keeps distinct names distinct."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


def sql_name(ws_name: str) -> str:
    return ws_name.replace("-", "_")


class AwsCloud:
    """Stack-wide AWS context: provider, settings, database-admin namespace, shared instance (created on first use)."""

    target = "aws"

    def __init__(self, cfg: StackConfig, ctx: DeployContext, provider: pulumi.ProviderResource):
        assert cfg.aws is not None
        self.cfg = cfg
        self.aws: AwsSettings = cfg.aws
        self.ctx = ctx
        self.provider = provider
        self.protect = ctx.protect_data
        self.airgapped = cfg.scenario is Scenario.airgapped
        self.tags = {"managed-by": "zenml-platform", "zenml-platform/domain": cfg.domain, **self.aws.tags}
        self._admin_ns: Optional[PlatformNamespace] = None
        self._shared: Optional[tuple[RdsInstance, Any]] = None

    # -- network ----------------------------------------------------------------------------------------

    def api_egress(self) -> list[dict[str, Any]]:
        """AWS APIs (STS, Secrets Manager, S3): interface endpoints in the VPC when air-gapped, else HTTPS."""
        if self.airgapped:
            return [{"to": [{"ipBlock": {"cidr": self.aws.vpc_cidr}}], "ports": [{"protocol": "TCP", "port": 443}]}]
        return [{"ports": [{"protocol": "TCP", "port": 443}]}]

    # -- database administration ---------------------------------------------------------------------

    @property
    def admin_namespace_name(self) -> str:
        return f"{self.cfg.kubernetes.namespace_prefix}-db-admin"

    def admin_namespace(self) -> PlatformNamespace:
        """Where bootstrap Jobs run: no workspace can read the master secret through its own identities."""
        if self._admin_ns is None:
            ctx = self.ctx
            self._admin_ns = PlatformNamespace(
                "db-admin-ns", self.admin_namespace_name, ctx, labels={"zenml-platform.io/role": "database-admin"}
            )
            if ctx.network_policies:
                k8s.networking.v1.NetworkPolicy(
                    "db-admin-egress",
                    metadata={"name": "database-bootstrap", "namespace": self._admin_ns.name},
                    spec={
                        "podSelector": {},
                        "policyTypes": ["Egress"],
                        "egress": [
                            {"to": [{"ipBlock": {"cidr": self.aws.vpc_cidr}}], "ports": [{"protocol": "TCP", "port": MYSQL.port}]},
                            *self.api_egress(),
                        ],
                    },
                    opts=ctx.opts(self._admin_ns),
                )
        return self._admin_ns

    def bootstrap_identity(self, instance: RdsInstance, parent: pulumi.Resource) -> pulumi.Input[str]:
        """An IRSA role + ServiceAccount in the admin namespace that may read this instance's master secret only."""
        a = self.aws
        ns = self.admin_namespace()
        sa_name = bounded(f"bootstrap-{instance.identifier}", 63)
        role_name = bounded(f"{instance.identifier}-bootstrap", 64)  # the identifier already carries the prefix
        role = IrsaRole(
            f"{instance.identifier}-bootstrap-role",
            role_name=role_name,
            role_arn=a.role_arn(role_name),
            oidc_provider_arn=a.eks.oidc_provider_arn,
            issuer=a.eks.issuer,
            namespace=self.admin_namespace_name,
            service_account=sa_name,
            policies={
                "read-master-secret": instance.master_secret_arn.apply(
                    lambda arn: policies.read_master_secret_policy(arn, a.kms_key_arn, a.region)
                )
            },
            provider=self.provider,
            tags=self.tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        sa = k8s.core.v1.ServiceAccount(
            f"{instance.identifier}-bootstrap-sa",
            metadata={
                "name": sa_name,
                "namespace": ns.name,
                "labels": labels("db-bootstrap", instance.identifier),
                "annotations": role.annotations,
            },
            automount_service_account_token=False,
            opts=self.ctx.opts(parent, depends_on=[ns]),
        )
        return sa.metadata.name

    def rds_args(self, identifier: str, engine, settings: ManagedInstance, db_name: Optional[str] = None, managed_master: bool = True) -> RdsArgs:
        a = self.aws
        return RdsArgs(
            identifier=identifier,
            engine=engine,
            settings=settings,
            defaults=self.cfg.defaults,
            profile=self.cfg.profile.value,
            vpc_id=a.vpc_id,
            subnet_ids=list(a.database_subnet_ids),
            node_security_group_id=a.eks.node_security_group_id,
            kms_key_arn=a.kms_key_arn,
            tags=self.tags,
            db_name=db_name,
            managed_master_password=managed_master,
        )

    def shared_instance(self) -> tuple[RdsInstance, pulumi.Input[str]]:
        if self._shared is None:
            assert self.aws.shared_database is not None
            holder = SharedDatabase("shared-mysql")
            identifier = f"{self.aws.name_prefix}-shared-mysql"
            instance = RdsInstance(
                "shared-mysql-rds",
                self.rds_args(identifier, MYSQL, self.aws.shared_database),
                self.provider,
                self.protect,
                opts=pulumi.ResourceOptions(parent=holder),
            )
            sa = self.bootstrap_identity(instance, holder)
            holder.register_outputs({"identifier": identifier})
            self._shared = (instance, sa)
        return self._shared

    # -- the interfaces -------------------------------------------------------------------------------

    def workspace(self, ws: WorkspaceSettings, namespace: pulumi.Input[str], parent: pulumi.Resource, depends_on: list[pulumi.Resource]):
        return AwsWorkspaceServices(f"{ws.name}-aws", ws, self, namespace, opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on))

    def control_plane_database(self, namespace: pulumi.Input[str], parent_opts: pulumi.ResourceOptions) -> DatabaseConnection:
        cp = self.cfg.control_plane
        holder = ControlPlaneDatabase("control-plane-rds-db", opts=parent_opts)
        instance = RdsInstance(
            "control-plane-rds",
            self.rds_args(f"{self.aws.name_prefix}-control-plane", POSTGRES, cp.database.managed, db_name="zenml_pro", managed_master=False),
            self.provider,
            self.protect,
            opts=pulumi.ResourceOptions(parent=holder),
        )
        assert instance.master_password is not None
        secret = k8s.core.v1.Secret(
            "control-plane-rds-credentials",
            metadata={"name": "control-plane-db-credentials", "namespace": namespace, "labels": labels("zenml-pro", "control-plane")},
            string_data={"password": instance.master_password},
            opts=self.ctx.opts(holder, additional_secret_outputs=["stringData", "data"]),
        )
        holder.register_outputs({"identifier": instance.identifier})
        return DatabaseConnection(
            engine="postgres",
            host=instance.address,
            port=POSTGRES.port,
            database="zenml_pro",
            username="zenml_admin",
            password_secret=secret.metadata.name,
            password_key="password",
            tls=True,
            verify_server_cert=self.aws.rds_ca_certificate is not None,
            egress_peers=[{"ipBlock": {"cidr": self.aws.vpc_cidr}}],
            password=instance.master_password,
            depends_on=[instance.instance, secret],
        )


class SharedDatabase(pulumi.ComponentResource):
    def __init__(self, name: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{PACKAGE}:aws:SharedDatabase", name, None, opts)


class ControlPlaneDatabase(pulumi.ComponentResource):
    def __init__(self, name: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{PACKAGE}:aws:ControlPlaneDatabase", name, None, opts)


class AwsWorkspaceServices(pulumi.ComponentResource):
    """Everything AWS for one workspace; nothing here names another workspace's resources."""

    def __init__(
        self,
        name: str,
        ws: WorkspaceSettings,
        cloud: AwsCloud,
        namespace: pulumi.Input[str],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__(f"{PACKAGE}:aws:WorkspaceServices", name, None, opts)
        cfg, a, ctx = cloud.cfg, cloud.aws, cloud.ctx
        n = ws.name
        ns_name = cfg.namespace_of(ws)
        runner_ns = cfg.runner_namespace_of(ws)
        runner_on = cfg.runner_enabled(ws)
        meta = labels("zenml", n)
        tags = {**cloud.tags, "zenml-platform/workspace": n}
        self._cloud = cloud
        self.summary: dict[str, Any] = {"target": "aws", "region": a.region}

        # Artifact store.
        art = ws.artifact_store
        mode = art.mode if art is not None else ("none" if cfg.scenario is Scenario.saas else "bucket")
        self.bucket: Optional[ArtifactBucket] = None
        bucket_arn: Optional[str] = None
        if mode == "bucket":
            bucket_name = (art.bucket_name if art else None) or bounded(f"{a.name_prefix}-{n}-artifacts-{a.account_id}", 63)
            self.bucket = ArtifactBucket(
                f"{n}-artifacts",
                bucket_name,
                a.partition,
                a.kms_key_arn,
                art.noncurrent_version_days if art else 30,
                tags,
                cloud.provider,
                cloud.protect,
                opts=pulumi.ResourceOptions(parent=self),
            )
            bucket_arn = self.bucket.arn
            self.summary["artifactStore"] = f"s3://{bucket_name}"
        elif mode == "tenant" and art is not None and art.tenant is not None:
            self.summary["artifactStore"] = f"s3://{art.tenant.bucket} (tenant account, via {art.tenant.role_arn})"

        # Database.
        self.database: Optional[DatabaseConnection] = None
        if ws.database.mode is DatabaseMode.managed:
            self.database = self._database(ws, namespace, meta)

        # Server identity: secrets store, artifact read, workload manager, tenant role.
        server_policies: dict[str, Any] = {}
        self.secret_store: Optional[SecretStoreBinding] = None
        server_id = server_id_of(cfg, ws)
        if ws.secret_store.type is SecretStoreType.aws:
            server_policies["zenml-secrets-store"] = policies.secrets_store_policy(a.partition, a.region, a.account_id, server_id)
        if bucket_arn:
            server_policies["artifact-read"] = policies.s3_read_policy(bucket_arn, a.kms_key_arn)
        if mode == "tenant" and art is not None and art.tenant is not None and art.tenant.role_arn:
            server_policies["assume-tenant-role"] = policies.assume_tenant_role_policy(art.tenant.role_arn)
        self.runner_source: Optional[str] = None
        self.runner_env: list[dict[str, Any]] = []
        if runner_on and a.workload_manager == "aws":
            server_policies["workload-manager"] = policies.workload_manager_policy(
                a.partition, a.region, a.account_id, a.eks.name, bucket_arn, RUNNER_LOGS_PREFIX, ws.runner.docker_registry and _ecr_repo(ws.runner.docker_registry)
            )
            self.runner_source = AWS_WORKLOAD_MANAGER
            self.runner_env = [env_value("ZENML_AWS_KUBERNETES_WORKLOAD_MANAGER_REGION", a.region)]
            if self.bucket is not None:
                self.runner_env += [
                    # Documented form s3://<bucket>/<prefix> (docs.zenml.io "deploy workspace snapshots"); the IAM
                    # policy above grants exactly this prefix.
                    env_value("ZENML_AWS_KUBERNETES_WORKLOAD_MANAGER_BUCKET", runner_logs_url(self.bucket.name)),
                    env_value("ZENML_KUBERNETES_WORKLOAD_MANAGER_ENABLE_EXTERNAL_LOGS", "true"),
                ]
        def irsa_role(kind: str, namespace: Any, service_account: Any, role_policies: dict[str, Any]) -> IrsaRole:
            """A role for exactly one ServiceAccount of this workspace, named after the workspace and its kind."""
            role_name = bounded(f"{a.name_prefix}-{n}-{kind}", 64)
            return IrsaRole(
                f"{n}-{kind}-role",
                role_name=role_name,
                role_arn=a.role_arn(role_name),
                oidc_provider_arn=a.eks.oidc_provider_arn,
                issuer=a.eks.issuer,
                namespace=namespace,
                service_account=service_account,
                policies=role_policies,
                provider=cloud.provider,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.server_annotations: dict[str, str] = {}
        if server_policies:
            # The migration Job initialises the AWS secrets store too, as its own ServiceAccount (no API token).
            accounts = [SERVER_SA, MIGRATION_SA] if ws.secret_store.type is SecretStoreType.aws else SERVER_SA
            self.server_role = irsa_role("server", ns_name, accounts, server_policies)
            self.server_annotations = self.server_role.annotations
            self.summary["serverRoleArn"] = self.server_role.arn
        if ws.secret_store.type is SecretStoreType.aws:
            env = [
                env_value(f"{PREFIX}TYPE", "aws"),
                env_value(f"{PREFIX}AUTH_METHOD", "implicit"),
                env_value(f"{PREFIX}AUTH_CONFIG", json.dumps({"region": a.region})),
            ]
            if cfg.edition_of(ws) is not Edition.pro:
                # Pro servers take their ID from the workspace ID; OSS servers get a stable one so IAM can name it.
                env.append(env_value("ZENML_SERVER_EXTERNAL_SERVER_ID", server_id))
            self.secret_store = SecretStoreBinding(kind="aws", env=env, service_account_annotations=self.server_annotations)
            self.summary["secretsStore"] = f"secretsmanager:{a.region} zenml/* tagged zenml={server_id}"

        # Runner identity: read/write on this workspace's bucket only (or the tenant's role, saas).
        self.runner_annotations: dict[str, str] = {}
        tenant_role = art.tenant.role_arn if (mode == "tenant" and art is not None and art.tenant is not None) else None
        if runner_on and tenant_role and not bucket_arn:
            self.runner_role = irsa_role("runner", runner_ns, RUNNER_SA, {"assume-tenant-role": policies.assume_tenant_role_policy(tenant_role)})
            self.runner_annotations = self.runner_role.annotations
            self.summary["runnerRoleArn"] = self.runner_role.arn
        if runner_on and bucket_arn:
            doc = policies.s3_read_write_policy(bucket_arn, a.kms_key_arn) if (art is None or art.runner_write) else policies.s3_read_policy(bucket_arn, a.kms_key_arn)
            self.runner_role = irsa_role("runner", runner_ns, RUNNER_SA, {"artifact-read-write" if (art is None or art.runner_write) else "artifact-read": doc})
            self.runner_annotations = self.runner_role.annotations
            self.summary["runnerRoleArn"] = self.runner_role.arn

        self.server_egress: list[dict[str, Any]] = cloud.api_egress()
        # Runners reach AWS through the VPC's interface endpoints (STS, ECR, ...) on HTTPS only: never the VPC on every
        # port, which would include every workspace's and the control plane's database (RDS admits the node security
        # group, and pods egress from the nodes). S3 (gateway endpoint, public ranges) needs runner.egress.allowCidrs.
        self.runner_egress_cidrs: list[str] = []
        self.runner_egress_rules: list[dict[str, Any]] = [
            {"to": [{"ipBlock": {"cidr": a.vpc_cidr}}], "ports": [{"protocol": "TCP", "port": 443}]}
        ]
        self.register_outputs({"summary": self.summary})

    def _database(self, ws: WorkspaceSettings, namespace: pulumi.Input[str], meta: dict[str, str]) -> DatabaseConnection:
        cloud, a, ctx = self._cloud, self._cloud.aws, self._cloud.ctx
        n = ws.name
        m = ws.database.managed
        if m.instance == "shared":
            instance, bootstrap_sa = cloud.shared_instance()
            database, username = f"zenml_{sql_name(n)}", f"z_{sql_name(n)}"[:32]
        else:
            instance = RdsInstance(
                f"{n}-rds", cloud.rds_args(f"{a.name_prefix}-{n}", MYSQL, m), cloud.provider, cloud.protect, opts=pulumi.ResourceOptions(parent=self)
            )
            bootstrap_sa = cloud.bootstrap_identity(instance, self)
            database, username = "zenml", "zenml"
        password = pulumi.Output.secret(
            random.RandomPassword(f"{n}-db-password", length=32, special=False, opts=ctx.secret_opts(self)).result
        )
        credentials = k8s.core.v1.Secret(
            f"{n}-db-credentials",
            metadata={"name": "zenml-db-credentials", "namespace": namespace, "labels": meta},
            string_data={"username": username, "password": password},
            opts=ctx.opts(self, additional_secret_outputs=["stringData", "data"]),
        )
        ca_secret = admin_ca = None
        if a.rds_ca_certificate:
            ca_secret = k8s.core.v1.Secret(
                f"{n}-db-ca", metadata={"name": "zenml-db-ca", "namespace": namespace, "labels": meta},
                string_data={"ca.crt": a.rds_ca_certificate}, opts=ctx.opts(self),
            ).metadata.name
            admin_ca = k8s.core.v1.Secret(
                f"{n}-db-admin-ca", metadata={"name": bounded(f"{n}-db-ca", 63), "namespace": cloud.admin_namespace().name},
                string_data={"ca.crt": a.rds_ca_certificate}, opts=ctx.opts(self),
            ).metadata.name
        bootstrap = MySqlUserBootstrap(
            bounded(f"{n}-db-bootstrap", 50),
            admin_namespace=cloud.admin_namespace().name,
            service_account=bootstrap_sa,
            ctx=ctx,
            image=ctx.images(cloud.cfg.images.server, cloud.cfg.version_of(ws)),
            region=a.region,
            host=instance.address,
            port=MYSQL.port,
            master_secret_arn=instance.master_secret_arn,
            database=database,
            username=username,
            password=password,
            ca_secret=admin_ca,
            depends_on=[instance.instance],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.summary["database"] = {"engine": "rds-mysql", "instance": instance.identifier, "database": database, "user": username}
        return DatabaseConnection(
            engine="mysql",
            host=instance.address,
            port=MYSQL.port,
            database=database,
            username=username,
            password_secret=credentials.metadata.name,
            password_key="password",
            tls=True,
            verify_server_cert=ca_secret is not None,
            ca_secret=ca_secret,
            egress_peers=[{"ipBlock": {"cidr": a.vpc_cidr}}],
            depends_on=[credentials, bootstrap.job],
        )

    def bind_runner(self, runner_namespace: pulumi.Resource, namespace: pulumi.Input[str]) -> None:
        """Give the runner ServiceAccount (created by RunnerNamespace) its IRSA role through a server-side patch."""
        if self.runner_annotations:
            k8s.core.v1.ServiceAccountPatch(
                f"{self._name}-runner-irsa",
                metadata={"name": RUNNER_SA, "namespace": namespace, "annotations": self.runner_annotations},
                opts=self._cloud.ctx.opts(self, depends_on=[runner_namespace]),
            )


def _ecr_repo(registry: str) -> Optional[str]:
    """`<account>.dkr.ecr.<region>.amazonaws.com/<repo>` -> `<repo>`; other registries need no ECR grant."""
    host, _, path = registry.partition("/")
    if ".dkr.ecr." not in host:
        return None
    return path or None
