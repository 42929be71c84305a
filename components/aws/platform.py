"""AWS services behind the platform's interfaces, per workspace and for the control plane.

`AwsCloud` is what the shared Kubernetes assembly calls (see components/workspace.py `CloudServices`):
- `workspace(...)` -> `AwsWorkspaceServices`: RDS MySQL (dedicated, or a database and user on the shared
  instance), the Secrets Manager store binding, the S3 artifact bucket, and IRSA roles for exactly the workspace
  server's and the runners' ServiceAccounts.
- `control_plane_database(...)` -> a dedicated RDS PostgreSQL for the control plane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.aws import policies
from components.aws.db_bootstrap import MySqlUserBootstrap, MySqlUserBootstrapArgs
from components.aws.identity import IrsaRole, IrsaRoleArgs
from components.aws.pod_network import DatabaseClientGroup, DatabaseClientGroupArgs
from components.aws.rds import MYSQL, POSTGRES, RdsArgs, RdsInstance
from components.aws.s3 import ArtifactBucket, ArtifactBucketArgs
from components.backend import (
    CloudBackend,
    CloudServicesOutputs,
    CloudWorkspaceServices,
    ManagedDatabaseOutputs,
    ResourceGroup,
    WorkspaceBackendArgs,
    https_api_egress,
)
from components.context import DeployContext
from components.database import DatabaseConnection, ManagedSizing
from components.kube import env_value, labels, selector
from components.names import MIGRATION_SA, RUNNER_SA, SERVER_SA, bounded
from components.namespace import NamespaceArgs, PlatformNamespace
from components.secret_store import SecretStoreBinding, cloud_store_env

AWS_WORKLOAD_MANAGER = "zenml_cloud_plugins.aws_kubernetes_workload_manager.AWSKubernetesWorkloadManager"
RUNNER_LOGS_PREFIX = "runner-logs"


def runner_logs_url(bucket_name: str) -> str:
    """Where the AWS workload manager writes run logs, in the documented `s3://bucket/prefix` form."""
    return f"s3://{bucket_name}/{RUNNER_LOGS_PREFIX}"


def sql_name(ws_name: str) -> str:
    return ws_name.replace("-", "_")


@dataclass(frozen=True)
class AwsTarget:
    """The AWS account, cluster and network this stack deploys into (the stack file's `aws`, translated)."""

    region: str
    account_id: str
    partition: str
    name_prefix: str  # prefix of IAM roles, RDS identifiers and buckets
    eks_name: str
    oidc_provider_arn: str
    issuer: str  # the cluster's OIDC issuer, without https://
    node_security_group_id: str
    vpc_id: str
    vpc_cidr: str
    database_subnet_ids: tuple[str, ...]
    admin_namespace: str  # where database bootstrap Jobs run
    tags: dict[str, str]  # on every AWS resource of the stack
    kms_key_arn: Optional[str] = None
    rds_ca_certificate: Optional[str] = None
    shared_database: Optional[ManagedSizing] = None
    workload_manager: str = "aws"  # "aws" | "kubernetes"
    air_gapped: bool = False  # AWS APIs through the VPC's interface endpoints only

    def role_arn(self, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{role_name}"


@dataclass
class AwsServicesOutputs(CloudServicesOutputs):
    """A workspace's AWS services as its stack output reports them (`workspaces.<name>.cloud`)."""

    region: str = ""
    server_role_arn: Optional[pulumi.Input[str]] = None  # the server's (and migration Job's) IRSA role
    runner_role_arn: Optional[pulumi.Input[str]] = None  # the runners' IRSA role


class AwsCloud(CloudBackend):
    """Stack-wide AWS backend: provider, target, database-admin namespace, shared instance (created on first use)."""

    target = "aws"

    def __init__(self, target: AwsTarget, ctx: DeployContext, provider: pulumi.ProviderResource):
        super().__init__(ctx, provider, AwsWorkspaceServices)
        self.aws = target
        self.tags = target.tags
        self._admin_ns: Optional[PlatformNamespace] = None
        self._shared: Optional[tuple[RdsInstance, Any, DatabaseClientGroup]] = None

    # -- network ----------------------------------------------------------------------------------------

    def api_egress(self) -> list[dict[str, Any]]:
        """AWS APIs (STS, Secrets Manager, S3): interface endpoints in the VPC when air-gapped, else HTTPS."""
        return https_api_egress(self.aws.air_gapped, [self.aws.vpc_cidr])

    # -- database administration ---------------------------------------------------------------------

    @property
    def admin_namespace_name(self) -> str:
        return self.aws.admin_namespace

    def admin_namespace(self) -> PlatformNamespace:
        """Where bootstrap Jobs run: no workspace can read the master secret through its own identities."""
        if self._admin_ns is None:
            ctx = self.ctx
            self._admin_ns = PlatformNamespace(
                "db-admin-ns", NamespaceArgs(self.admin_namespace_name, labels={"zenml-platform.io/role": "database-admin"}), ctx
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

    def database_clients(
        self,
        name: str,
        what: str,
        namespace: pulumi.Input[str],
        policy_name: str,
        pods: dict[str, Any],
        parent: pulumi.Resource,
        depends_on: Optional[list[pulumi.Resource]] = None,
    ) -> DatabaseClientGroup:
        """The pod security group of one database client identity (see components/aws/pod_network.py)."""
        a = self.aws
        return DatabaseClientGroup(
            name,
            DatabaseClientGroupArgs(
                group_name=bounded(f"{a.name_prefix}-{name}", 255),
                description=f"{what}: pods that may open the database port",
                vpc_id=a.vpc_id,
                node_security_group_id=a.node_security_group_id,
                namespace=namespace,
                policy_name=policy_name,
                selector=pods,
                tags=self.tags,
                provider=self.provider,
                depends_on=depends_on,
            ),
            self.ctx,
            opts=pulumi.ResourceOptions(parent=parent),
        )

    def irsa_role(self, name: str, role_name: str, namespace: Any, service_account: Any, role_policies: dict[str, Any],
                  tags: dict[str, str], parent: pulumi.Resource) -> IrsaRole:
        """An IRSA role of this cluster's OIDC provider for exactly `namespace`/`service_account`."""
        a = self.aws
        return IrsaRole(
            name,
            IrsaRoleArgs(
                role_name=role_name,
                role_arn=a.role_arn(role_name),
                oidc_provider_arn=a.oidc_provider_arn,
                issuer=a.issuer,
                namespace=namespace,
                service_account=service_account,
                policies=role_policies,
                provider=self.provider,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )

    def bootstrap_identity(self, instance: RdsInstance, parent: pulumi.Resource) -> tuple[pulumi.Input[str], DatabaseClientGroup]:
        """An IRSA role + ServiceAccount in the admin namespace that may read this instance's master secret only,
        and the pod security group that lets pods of that ServiceAccount reach this instance's port."""
        a = self.aws
        ns = self.admin_namespace()
        sa_name = bounded(f"bootstrap-{instance.identifier}", 63)
        role_name = bounded(f"{instance.identifier}-bootstrap", 64)  # the identifier already carries the prefix
        role = self.irsa_role(
            f"{instance.identifier}-bootstrap-role",
            role_name,
            self.admin_namespace_name,
            sa_name,
            {
                "read-master-secret": instance.master_secret_arn.apply(
                    lambda arn: policies.read_master_secret_policy(arn, a.kms_key_arn, a.region)
                )
            },
            self.tags,
            parent,
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
        clients = self.database_clients(
            f"{instance.identifier}-bootstrap-clients",
            f"{instance.identifier} bootstrap Job",
            ns.name,
            sa_name,
            {"serviceAccountSelector": {"matchLabels": selector("db-bootstrap", instance.identifier)}},
            parent,
            depends_on=[ns],
        )
        clients.reach("db", instance.security_group_id, instance.port, instance.identifier)
        return sa.metadata.name, clients

    def rds_args(self, identifier: str, engine, sizing: ManagedSizing, db_name: Optional[str] = None, managed_master: bool = True) -> RdsArgs:
        a = self.aws
        return RdsArgs(
            identifier=identifier,
            engine=engine,
            sizing=sizing,
            vpc_id=a.vpc_id,
            subnet_ids=list(a.database_subnet_ids),
            kms_key_arn=a.kms_key_arn,
            tags=self.tags,
            provider=self.provider,
            protect=self.protect,
            db_name=db_name,
            managed_master_password=managed_master,
        )

    def shared_instance(self) -> tuple[RdsInstance, pulumi.Input[str], DatabaseClientGroup]:
        if self._shared is None:
            assert self.aws.shared_database is not None
            holder = ResourceGroup("zenml-platform:aws:SharedDatabase", "shared-mysql")
            identifier = f"{self.aws.name_prefix}-shared-mysql"
            instance = RdsInstance(
                "shared-mysql-rds",
                self.rds_args(identifier, MYSQL, self.aws.shared_database),
                opts=pulumi.ResourceOptions(parent=holder),
            )
            sa, clients = self.bootstrap_identity(instance, holder)
            holder.register_outputs({"identifier": identifier})
            self._shared = (instance, sa, clients)
        return self._shared

    # -- the interfaces -------------------------------------------------------------------------------

    def control_plane_database(self, namespace: pulumi.Input[str], sizing: ManagedSizing, parent_opts: pulumi.ResourceOptions) -> DatabaseConnection:
        holder = ResourceGroup("zenml-platform:aws:ControlPlaneDatabase", "control-plane-rds-db", opts=parent_opts)
        instance = RdsInstance(
            "control-plane-rds",
            self.rds_args(f"{self.aws.name_prefix}-control-plane", POSTGRES, sizing, db_name="zenml_pro", managed_master=False),
            opts=pulumi.ResourceOptions(parent=holder),
        )
        assert instance.master_password is not None
        # The vendor chart's pod labels are not documented, and only the chart runs in this namespace: all its pods.
        clients = self.database_clients(
            "control-plane-db-clients", "ZenML Pro control plane", namespace, "control-plane-database-clients", {"podSelector": {}}, holder
        )
        clients.reach("db", instance.security_group_id, POSTGRES.port, instance.identifier)
        connection = self._control_plane_connection(
            holder,
            "control-plane-rds",
            namespace,
            host=instance.address,
            port=POSTGRES.port,
            username="zenml_admin",
            password=instance.master_password,
            server_ca_pem=None,  # the client trusts the RDS CA bundle when it is configured (rdsCaCertificate)
            verify_server_cert=self.aws.rds_ca_certificate is not None,
            egress_cidr=self.aws.vpc_cidr,
            depends_on=[instance.instance, clients.policy],
        )
        holder.register_outputs({"identifier": instance.identifier})
        return connection


class AwsWorkspaceServices(CloudWorkspaceServices):
    """Everything AWS for one workspace; nothing here names another workspace's resources."""

    runner_patch_suffix = "runner-irsa"

    def __init__(
        self,
        name: str,
        args: WorkspaceBackendArgs,
        cloud: AwsCloud,
        namespace: pulumi.Input[str],
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__("zenml-platform:aws:WorkspaceServices", name, cloud.ctx, opts)
        a = cloud.aws
        n = args.workspace
        ns_name = args.namespace
        runner_ns = args.runner_namespace
        runner_on = runner_ns is not None
        meta = labels("zenml", n)
        tags = {**cloud.tags, "zenml-platform/workspace": n}
        self._cloud = cloud
        out = AwsServicesOutputs(target="aws", region=a.region)

        # Artifact store.
        art = args.artifacts
        mode = art.mode
        self.bucket: Optional[ArtifactBucket] = None
        bucket_arn: Optional[str] = None
        if mode == "bucket":
            bucket_name = art.bucket_name or bounded(f"{a.name_prefix}-{n}-artifacts-{a.account_id}", 63)
            self.bucket = ArtifactBucket(
                f"{n}-artifacts",
                ArtifactBucketArgs(
                    bucket_name=bucket_name,
                    partition=a.partition,
                    provider=cloud.provider,
                    kms_key_arn=a.kms_key_arn,
                    noncurrent_version_days=art.noncurrent_version_days,
                    tags=tags,
                    protect=cloud.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            bucket_arn = self.bucket.arn
            self.artifact_store = out.artifact_store = f"s3://{bucket_name}"
        elif mode == "tenant" and art.tenant_bucket is not None:
            self.artifact_store = f"s3://{art.tenant_bucket}"
            out.artifact_store = f"s3://{art.tenant_bucket} (tenant account, via {art.tenant_role_arn})"

        # Database.
        if args.database is not None:
            self.database, out.database = self._database(args, namespace, meta)

        # Server identity: secrets store, artifact read, workload manager, tenant role.
        server_policies: dict[str, Any] = {}
        server_id = args.server_id
        aws_store = args.secret_store == "aws"
        if aws_store:
            server_policies["zenml-secrets-store"] = policies.secrets_store_policy(a.partition, a.region, a.account_id, server_id)
        if bucket_arn:
            server_policies["artifact-read"] = policies.s3_read_policy(bucket_arn, a.kms_key_arn)
        tenant_role = art.tenant_role_arn if mode == "tenant" else None
        if tenant_role:
            server_policies["assume-tenant-role"] = policies.assume_tenant_role_policy(tenant_role)
        if runner_on and a.workload_manager == "aws":
            registry = args.runner_docker_registry
            server_policies["workload-manager"] = policies.workload_manager_policy(
                a.partition, a.region, a.account_id, a.eks_name, bucket_arn, RUNNER_LOGS_PREFIX, registry and _ecr_repo(registry)
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
            return cloud.irsa_role(f"{n}-{kind}-role", role_name, namespace, service_account, role_policies, tags, self)

        if server_policies:
            # The migration Job initialises the AWS secrets store too, as its own ServiceAccount (no API token).
            accounts = [SERVER_SA, MIGRATION_SA] if aws_store else SERVER_SA
            self.server_role = irsa_role("server", ns_name, accounts, server_policies)
            self.server_annotations = self.server_role.annotations
            out.server_role_arn = self.server_role.arn
        if aws_store:
            env = cloud_store_env("aws", {"region": a.region})
            if not args.pro:
                # Pro servers take their ID from the workspace ID; OSS servers get a stable one so IAM can name it.
                env.append(env_value("ZENML_SERVER_EXTERNAL_SERVER_ID", server_id))
            self.secret_store = SecretStoreBinding(kind="aws", env=env, service_account_annotations=self.server_annotations)
            out.secrets_store = f"secretsmanager:{a.region} zenml/* tagged zenml={server_id}"

        # Runner identity: read/write on this workspace's bucket only, or the tenant's role (saas). It exists whenever
        # runners do, with no permission before an artifact store is set, so that a tenant can trust its ARN first
        # (docs/layouts.md, the operator/tenant handshake).
        if runner_on:
            runner_policies: dict[str, Any] = {}
            if bucket_arn:
                doc = (policies.s3_read_write_policy(bucket_arn, a.kms_key_arn) if art.runner_write
                       else policies.s3_read_policy(bucket_arn, a.kms_key_arn))
                runner_policies["artifact-read-write" if art.runner_write else "artifact-read"] = doc
            elif tenant_role:
                runner_policies["assume-tenant-role"] = policies.assume_tenant_role_policy(tenant_role)
            self.runner_role = irsa_role("runner", runner_ns, RUNNER_SA, runner_policies)
            self.runner_annotations = self.runner_role.annotations
            out.runner_role_arn = self.runner_role.arn

        self.server_egress = cloud.api_egress()
        # Runners reach AWS through the VPC's interface endpoints (STS, ECR, ...) on HTTPS only: never the VPC on every
        # port. Two layers keep runners off the databases: this policy (where a network policy agent enforces it) and
        # the databases' security groups, which admit only their clients' pod security groups, never the nodes'.
        # S3 (gateway endpoint, public ranges) needs runner.egress.allowCidrs.
        self.runner_egress_rules = [
            {"to": [{"ipBlock": {"cidr": a.vpc_cidr}}], "ports": [{"protocol": "TCP", "port": 443}]}
        ]
        self.outputs = out
        self.register_outputs({"cloud": out.stack_output()})

    def _database(self, args: WorkspaceBackendArgs, namespace: pulumi.Input[str],
                  meta: dict[str, str]) -> tuple[DatabaseConnection, ManagedDatabaseOutputs]:
        cloud, a, ctx = self._cloud, self._cloud.aws, self._cloud.ctx
        n = args.workspace
        assert args.database is not None
        if args.database.shared:
            instance, bootstrap_sa, bootstrap_clients = cloud.shared_instance()
            database, username = f"zenml_{sql_name(n)}", f"z_{sql_name(n)}"[:32]
        else:
            instance = RdsInstance(
                f"{n}-rds", cloud.rds_args(f"{a.name_prefix}-{n}", MYSQL, args.database.sizing), opts=pulumi.ResourceOptions(parent=self)
            )
            bootstrap_sa, bootstrap_clients = cloud.bootstrap_identity(instance, self)
            database, username = "zenml", "zenml"
        password: pulumi.Output[str] = pulumi.Output.secret(
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
            MySqlUserBootstrapArgs(
                admin_namespace=cloud.admin_namespace().name,
                service_account=bootstrap_sa,
                image=args.server_image,
                region=a.region,
                host=instance.address,
                port=MYSQL.port,
                master_secret_arn=instance.master_secret_arn,
                database=database,
                username=username,
                password=password,
                ca_secret=admin_ca,
                depends_on=[instance.instance, bootstrap_clients.policy],
            ),
            ctx,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The server's and the migration Job's pods (both ServiceAccounts carry the server's name labels), and no
        # other pod, reach this database's port: runner pods keep the node security group, which RDS does not admit.
        clients = cloud.database_clients(
            f"{n}-db-clients", f"workspace {n} server", namespace, "zenml-database-clients",
            {"serviceAccountSelector": {"matchLabels": selector("zenml-server", n)}}, self,
        )
        clients.reach("rds", instance.security_group_id, MYSQL.port, instance.identifier)
        named = ManagedDatabaseOutputs(engine="rds-mysql", instance=instance.identifier, database=database, user=username)
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
            depends_on=[credentials, bootstrap.job, clients.policy],
        ), named


def _ecr_repo(registry: str) -> Optional[str]:
    """`<account>.dkr.ecr.<region>.amazonaws.com/<repo>` -> `<repo>`; other registries need no ECR grant."""
    host, _, path = registry.partition("/")
    if ".dkr.ecr." not in host:
        return None
    return path or None
