"""The whole stack configuration as one pydantic model.

Keys are camelCase in stack files (`zenml-platform:workspaces[0].database.mode`); unknown keys are errors.
Defaults keep a minimal stack file to a few lines; `profile` fills in sizes and protections.
Cross-field rules live in `rules.py` so this file stays a plain description of the shape.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Literal, Optional
from uuid import UUID

from pydantic import AfterValidator, Field, field_validator, model_validator

from stack_config.base import Section, matching
from stack_config.cloud import ArtifactStoreSettings, AwsSettings, GcpSecretStore, GcpSettings, ManagedDatabase
from stack_config.pem import PemCertificates
from stack_config.profiles import PROFILES, Profile, ProfileDefaults
from stack_config.secrets import SecretInput, SecureOnly

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
VERSION = re.compile(r"^\d+\.\d+\.\d+([.-][0-9A-Za-z.]+)?$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")
SECRET_LIKE_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY|CREDENTIALS?)$")


def _https(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError("must be an https:// URL")
    return value.rstrip("/")


HostName = Annotated[str, matching(HOSTNAME, "must be a fully qualified lower-case host name")]
DomainName = Annotated[str, matching(HOSTNAME, "must be a lower-case DNS name with at least two labels, e.g. zenml.example.com")]
ReleaseVersion = Annotated[str, matching(VERSION, "must be a release version such as 0.98.0")]
HttpsUrl = Annotated[str, AfterValidator(_https)]


class Scenario(str, Enum):
    airgapped = "airgapped"
    hybrid = "hybrid"
    saas = "saas"


class Target(str, Enum):
    kubernetes = "kubernetes"
    aws = "aws"
    gcp = "gcp"


def _quantity(value: Optional[str]) -> Optional[str]:
    if value is not None and not QUANTITY.match(str(value)):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 10Gi)")
    return value


class ResourceAmounts(Section):
    cpu: Optional[str] = None
    memory: Optional[str] = None

    _check = field_validator("cpu", "memory")(classmethod(lambda cls, v: _quantity(v)))


class ResourcesSpec(Section):
    """Container resources in Kubernetes form; unset parts come from the size profile."""

    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()


class Toleration(Section):
    key: Optional[str] = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: Optional[str] = None
    effect: Optional[Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]] = None
    toleration_seconds: Optional[int] = None


class KubernetesSettings(Section):
    """How to reach the cluster and the cluster-wide names the stack depends on."""

    kubeconfig: Optional[str] = Field(None, description="Path to a kubeconfig file; default: the ambient one.")
    context: Optional[str] = Field(None, description="kubeconfig context; default: the current context.")
    namespace_prefix: str = Field("zenml", description="Prefix of every namespace the stack creates.")
    cluster_domain: str = "cluster.local"
    storage_class_name: Optional[str] = Field(None, description="StorageClass for database volumes; default: the cluster default.")
    ingress_class_name: str = "nginx"
    ingress_controller_namespace: str = Field(
        "ingress-nginx", description="Namespace of the ingress controller, the only source allowed to reach the servers."
    )
    api_server_cidrs: list[str] = Field(
        default_factory=list,
        description="Addresses of the Kubernetes API server; narrows the workload manager's egress (default: any address on 443/6443).",
    )

    @field_validator("namespace_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not DNS_LABEL.match(v) or len(v) > 20:
            raise ValueError("must be a DNS label of at most 20 characters")
        return v


class TlsMode(str, Enum):
    cert_manager = "cert-manager"
    provided = "provided"
    internal_ca = "internal-ca"
    disabled = "disabled"


class CertManagerTls(Section):
    issuer_name: str
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    acme: bool = Field(False, description="True when the issuer uses ACME (needs internet access).")


class ProvidedTls(Section):
    secret_name: str = Field(description="Existing kubernetes.io/tls Secret, present in every namespace that has an Ingress.")
    ca_certificate: Optional[PemCertificates] = Field(None, description="PEM of the CA that signed it, trusted by the servers.")


class InternalCaTls(Section):
    ca_certificate: Optional[PemCertificates] = Field(None, description="PEM of an existing CA; default: a new CA is created.")
    ca_private_key: Optional[SecureOnly] = None
    organization: str = "zenml-platform"
    ca_validity_hours: int = Field(87600, ge=24)
    certificate_validity_hours: int = Field(8760, ge=24)


class TlsSettings(Section):
    mode: TlsMode = TlsMode.internal_ca
    cert_manager: Optional[CertManagerTls] = None
    provided: Optional[ProvidedTls] = None
    internal_ca: InternalCaTls = InternalCaTls()

    @model_validator(mode="after")
    def _mode_settings(self) -> "TlsSettings":
        if self.mode is TlsMode.cert_manager and self.cert_manager is None:
            raise ValueError("mode cert-manager needs tls.certManager.issuerName")
        if self.mode is TlsMode.provided and self.provided is None:
            raise ValueError("mode provided needs tls.provided.secretName")
        ca = self.internal_ca
        if (ca.ca_private_key is None) != (ca.ca_certificate is None):
            raise ValueError("tls.internalCa.caCertificate and caPrivateKey are given together or not at all")
        return self


class RegistryMirror(Section):
    """Every image the stack runs is rewritten to this registry, keeping repository path and tag."""

    registry: str = Field(description="host[:port][/path], e.g. registry.corp.internal:5000/zenml")
    pull_secret: Optional[SecureOnly] = Field(None, description=".dockerconfigjson for the mirror; a pull Secret is created in every namespace.")
    image_pull_secrets: list[str] = Field(default_factory=list, description="Extra pre-existing pull Secret names.")

    @field_validator("registry")
    @classmethod
    def _registry(cls, v: str) -> str:
        if "://" in v or v.endswith("/") or not v:
            raise ValueError("give host[:port][/path] without scheme or trailing slash")
        return v


class Images(Section):
    """Repositories (no tags); tags come from the versions. The mirror rewrites all of them."""

    server: str = "zenmldocker/zenml-server"
    pro_server: str = "715803424590.dkr.ecr.eu-west-1.amazonaws.com/zenml-pro-server"
    control_plane_api: str = "715803424590.dkr.ecr.eu-west-1.amazonaws.com/zenml-pro-api"
    control_plane_dashboard: str = "715803424590.dkr.ecr.eu-west-1.amazonaws.com/zenml-pro-dashboard"
    mysql: str = "mysql:8.4.3"
    mariadb: str = Field("mariadb:10.11", description="Workspace databases with engine mariadb (images/mariadb builds it).")
    postgres: str = "postgres:16.6"
    runner: Optional[str] = Field(None, description="Full runner image; default zenmldocker/zenml:<version>-py3.11.")
    pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"


class OidcSettings(Section):
    discovery_url: HttpsUrl = Field(description="OIDC configuration endpoint (.../.well-known/openid-configuration).")
    client_id: str
    client_secret: SecureOnly


class PasswordAuth(Section):
    admin_password: Optional[SecureOnly] = Field(None, description="Default: generated once and kept in state as a secret.")


class IdentityProvider(Section):
    type: Literal["oidc", "password"] = "password"
    oidc: Optional[OidcSettings] = None
    password: PasswordAuth = PasswordAuth()

    @model_validator(mode="after")
    def _oidc(self) -> "IdentityProvider":
        if self.type == "oidc" and self.oidc is None:
            raise ValueError("type oidc needs identityProvider.oidc (discoveryUrl, clientId, clientSecret)")
        return self


class DatabaseMode(str, Enum):
    in_cluster = "in-cluster"
    external = "external"
    managed = "managed"  # RDS (target aws) or Cloud SQL (target gcp)


class BackupSettings(Section):
    enabled: Optional[bool] = Field(None, description="Default: from the profile.")
    schedule: Optional[str] = None
    retention_days: Optional[int] = Field(None, ge=1)
    storage_size: Optional[str] = None

    _q = field_validator("storage_size")(classmethod(lambda cls, v: _quantity(v)))

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and len(v.split()) != 5:
            raise ValueError("must be a 5-field cron expression")
        return v


class InClusterDatabase(Section):
    engine: Optional[Literal["mysql", "mariadb"]] = Field(
        None,
        description="Workspace databases: mysql (default) or mariadb (works in ZenML's test matrix, not officially "
        "supported by ZenML). The control plane's database is always PostgreSQL.",
    )
    storage_size: Optional[str] = None
    storage_class_name: Optional[str] = None
    tls: bool = Field(True, description="Serve TLS with a certificate from the stack's internal database CA.")
    resources: ResourcesSpec = ResourcesSpec()
    backup: BackupSettings = BackupSettings()

    _q = field_validator("storage_size")(classmethod(lambda cls, v: _quantity(v)))


class ExternalDatabase(Section):
    host: str
    port: Optional[int] = Field(None, ge=1, le=65535)
    database: str
    username: str
    password: SecretInput
    ca_certificate: Optional[PemCertificates] = Field(None, description="PEM of the CA of the database's TLS certificate.")
    verify_server_certificate: bool = True


class DatabaseSettings(Section):
    mode: DatabaseMode = DatabaseMode.in_cluster
    in_cluster: InClusterDatabase = InClusterDatabase()
    external: Optional[ExternalDatabase] = None
    managed: ManagedDatabase = ManagedDatabase()
    migration_backup_strategy: Literal["in-memory", "database", "disabled"] = Field(
        "in-memory", description="ZENML_STORE_BACKUP_STRATEGY used by the migration Job."
    )

    @model_validator(mode="after")
    def _external(self) -> "DatabaseSettings":
        if self.mode is DatabaseMode.external and self.external is None:
            raise ValueError("mode external needs database.external (host, database, username, password)")
        return self


class SecretStoreType(str, Enum):
    sql = "sql"
    hashicorp = "hashicorp"
    aws = "aws"  # AWS Secrets Manager through the server's IRSA role (target aws)
    gcp = "gcp"  # GCP Secret Manager through Workload Identity (target gcp)


class VaultSettings(Section):
    address: str
    namespace: Optional[str] = None
    mount_point: Optional[str] = None
    auth_method: Literal["token", "app_role", "aws"] = "token"
    auth_mount_point: Optional[str] = None
    token: Optional[SecretInput] = None
    app_role_id: Optional[str] = None
    app_secret_id: Optional[SecretInput] = None
    aws_role: Optional[str] = None
    max_versions: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _auth(self) -> "VaultSettings":
        if self.auth_method == "token" and self.token is None:
            raise ValueError("auth method token needs vault.token")
        if self.auth_method == "app_role" and (self.app_role_id is None or self.app_secret_id is None):
            raise ValueError("auth method app_role needs vault.appRoleId and vault.appSecretId")
        if self.auth_method == "aws" and self.aws_role is None:
            raise ValueError("auth method aws needs vault.awsRole")
        return self


class SecretStoreSettings(Section):
    type: SecretStoreType = SecretStoreType.sql
    encryption_key: Optional[SecretInput] = Field(
        None, description="sql store: bring an existing key (migrations); default: generated once, never rotated."
    )
    vault: Optional[VaultSettings] = None
    gcp: Optional[GcpSecretStore] = None

    @model_validator(mode="after")
    def _vault(self) -> "SecretStoreSettings":
        if self.type is SecretStoreType.hashicorp and self.vault is None:
            raise ValueError("type hashicorp needs secretStore.vault")
        return self


class RunnerEgress(Section):
    allow_cidrs: list[str] = Field(default_factory=list, description="Extra destinations (artifact store, registry).")
    allow_namespaces: list[str] = Field(default_factory=list)
    allow_internet: bool = Field(False, description="Allow any destination; off by default.")


class RunnerQuota(Section):
    cpu: str = "8"
    memory: str = "32Gi"
    pods: int = Field(20, ge=1)

    _q = field_validator("cpu", "memory")(classmethod(lambda cls, v: _quantity(v)))


class RunnerSettings(Section):
    enabled: Optional[bool] = Field(None, description="Default: on for Pro workspaces (the workload manager needs Pro).")
    image: Optional[str] = None
    pod_resources: ResourcesSpec = ResourcesSpec(
        requests=ResourceAmounts(cpu="500m", memory="1Gi"), limits=ResourceAmounts(cpu="2", memory="4Gi")
    )
    ttl_seconds_after_finished: int = Field(3600, ge=0)
    backoff_limit: int = Field(0, ge=0)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    quota: RunnerQuota = RunnerQuota()
    egress: RunnerEgress = RunnerEgress()
    build_runner_image: bool = False
    docker_registry: Optional[str] = None

    @model_validator(mode="after")
    def _build(self) -> "RunnerSettings":
        if self.build_runner_image and not self.docker_registry:
            raise ValueError("buildRunnerImage needs runner.dockerRegistry")
        return self


class Edition(str, Enum):
    oss = "oss"
    pro = "pro"


class ProEnrollment(Section):
    """Values from creating the workspace in the control plane (UI or API)."""

    organization_id: UUID
    organization_name: Optional[str] = None
    workspace_id: UUID
    workspace_name: Optional[str] = None
    enrollment_key: SecretInput
    oauth2_audience: Optional[str] = Field(None, description="Default: the Pro API URL.")


class WorkspaceIngress(Section):
    enabled: bool = True
    class_name: Optional[str] = None
    annotations: dict[str, str] = Field(default_factory=dict)


class Workspace(Section):
    name: str = Field(description="DNS label; names the namespace, host and database.")
    edition: Optional[Edition] = Field(None, description="Default: pro when a control plane exists, else oss.")
    zenml_version: Optional[ReleaseVersion] = None
    allow_downgrade: bool = Field(
        False,
        description="Let preview/up deploy a zenmlVersion lower than the deployed one (ZenML does not support "
        "downgrades: only for restoring a backup taken with that version; docs/operations.md).",
    )
    host: Optional[HostName] = Field(None, description="Default: <name>.<domain>.")
    replicas: Optional[int] = Field(None, ge=1, le=50)
    max_replicas: Optional[int] = Field(None, ge=1, le=100)
    resources: ResourcesSpec = ResourcesSpec()
    database: DatabaseSettings = DatabaseSettings()
    secret_store: SecretStoreSettings = SecretStoreSettings()
    runner: RunnerSettings = RunnerSettings()
    pro: Optional[ProEnrollment] = None
    ingress: WorkspaceIngress = WorkspaceIngress()
    env: dict[str, str] = Field(default_factory=dict, description="Extra non-secret environment variables.")
    secret_env: dict[str, SecretInput] = Field(default_factory=dict, description="Extra secret environment variables.")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    service_account_annotations: dict[str, str] = Field(default_factory=dict)
    analytics_opt_in: bool = False
    artifact_store: Optional[ArtifactStoreSettings] = Field(
        None, description="Cloud targets: the workspace's S3/GCS artifact store (default: a bucket; saas: none unless tenant)."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not DNS_LABEL.match(v):
            raise ValueError("must be a DNS label: lower-case letters, digits and '-', starting with a letter")
        if len(v) > 30:
            raise ValueError("must be at most 30 characters (it prefixes namespaces and object names)")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not an environment variable name")
            if SECRET_LIKE_ENV.search(key):
                raise ValueError(f"{key} looks like a secret: put it under secretEnv so it is read from a Secret")
        return v

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, v: dict) -> dict:
        for key in v:
            if not ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not an environment variable name")
        return v


class ControlPlaneChart(Section):
    repository: str = "oci://public.ecr.aws/zenml/zenml-pro"
    version: str = "0.13.0"
    archive: Optional[str] = Field(None, description="Local chart archive (.tgz) for air-gapped installs.")


class ExternalControlPlane(Section):
    api_url: HttpsUrl = "https://cloudapi.zenml.io"
    dashboard_url: HttpsUrl = "https://cloud.zenml.io"


class ControlPlane(Section):
    enabled: bool = Field(False, description="Deploy the Pro control plane in this stack.")
    host: Optional[HostName] = Field(None, description="Default: zenml.<domain>.")
    version: str = Field("0.13.0", description="Control plane image tag.")
    chart: ControlPlaneChart = ControlPlaneChart()
    database: DatabaseSettings = DatabaseSettings()
    replicas: Optional[int] = Field(None, ge=1, le=20)
    resources: ResourcesSpec = ResourcesSpec()
    values: dict = Field(default_factory=dict, description="Extra chart values, merged last. Never put secrets here.")
    external: ExternalControlPlane = ExternalControlPlane()

    @model_validator(mode="after")
    def _postgres_only(self) -> "ControlPlane":
        if self.database.in_cluster.engine is not None:
            raise ValueError(
                "database.inCluster.engine: the control plane's in-cluster database is always PostgreSQL; "
                "engine (mysql | mariadb) applies to workspace databases only"
            )
        return self


class NetworkPolicySettings(Section):
    enabled: bool = Field(True, description="Deny by default in every namespace the stack creates.")
    allow_egress_cidrs: list[str] = Field(
        default_factory=list, description="Extra server egress (OIDC provider, Vault, external databases)."
    )


class StackConfig(Section):
    scenario: Scenario = Field(description="Layout: airgapped (all self-hosted), hybrid (hosted control plane), saas (operator side).")
    target: Target = Field(Target.kubernetes, description="Where stateful services run: in the cluster, or managed on AWS or GCP.")
    profile: Profile = Field(Profile.small, description="Size profile: replicas, resources, storage, backups and data protection.")
    zenml_version: ReleaseVersion = Field("0.98.0", description="ZenML server version (image tag) of every workspace unless overridden.")
    domain: DomainName = Field(description="Parent domain of every host name, e.g. zenml.corp.internal.")
    kubernetes: KubernetesSettings = KubernetesSettings()
    tls: TlsSettings = TlsSettings()
    registry_mirror: Optional[RegistryMirror] = None
    images: Images = Images()
    control_plane: ControlPlane = ControlPlane()
    identity_provider: IdentityProvider = IdentityProvider()
    network_policies: NetworkPolicySettings = NetworkPolicySettings()
    workspaces: list[Workspace] = Field(default_factory=list)
    aws: Optional[AwsSettings] = Field(None, description="target aws: region, account, the given EKS cluster and VPC.")
    gcp: Optional[GcpSettings] = Field(None, description="target gcp: project, region, the given GKE cluster and VPC.")

    @property
    def defaults(self) -> ProfileDefaults:
        return PROFILES[self.profile]

    # Derived values: computed here once so scenarios, components, rules and the CLI agree on them.

    @property
    def control_plane_host(self) -> str:
        return self.control_plane.host or f"zenml.{self.domain}"

    @property
    def control_plane_namespace(self) -> str:
        return f"{self.kubernetes.namespace_prefix}-control-plane"

    @property
    def pro_api_url(self) -> Optional[str]:
        """Where Pro workspaces enroll: this stack's control plane, or the external one (hybrid, saas tenants)."""
        if self.control_plane.enabled:
            return f"https://{self.control_plane_host}"
        if self.scenario is Scenario.airgapped:
            return None
        return self.control_plane.external.api_url

    @property
    def pro_dashboard_url(self) -> Optional[str]:
        if self.control_plane.enabled:
            return f"https://{self.control_plane_host}"
        if self.scenario is Scenario.airgapped:
            return None
        return self.control_plane.external.dashboard_url

    def edition_of(self, ws: Workspace) -> Edition:
        if ws.edition is not None:
            return ws.edition
        return Edition.pro if (self.control_plane.enabled or self.scenario is not Scenario.airgapped) else Edition.oss

    def host_of(self, ws: Workspace) -> str:
        return ws.host or f"{ws.name}.{self.domain}"

    def namespace_of(self, ws: Workspace) -> str:
        return f"{self.kubernetes.namespace_prefix}-{ws.name}"

    def runner_namespace_of(self, ws: Workspace) -> str:
        return f"{self.kubernetes.namespace_prefix}-{ws.name}-runners"

    def runner_enabled(self, ws: Workspace) -> bool:
        if ws.runner.enabled is not None:
            return ws.runner.enabled
        return self.edition_of(ws) is Edition.pro

    def version_of(self, ws: Workspace) -> str:
        return ws.zenml_version or self.zenml_version

    @property
    def scheme(self) -> str:
        return "http" if self.tls.mode is TlsMode.disabled else "https"

    def url_of(self, ws: Workspace) -> str:
        return f"{self.scheme}://{self.host_of(ws)}"
