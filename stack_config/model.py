"""The whole stack configuration as one pydantic model.

Keys are camelCase in stack files (`zenml-platform:workspaces[0].database.mode`); unknown keys are errors.
Defaults keep a minimal stack file to a few lines; `profile` fills in sizes and protections.
Cross-field rules live in `rules.py` so this file stays a plain description of the shape.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal, Optional
from uuid import UUID, uuid5

from pydantic import AfterValidator, Field, PrivateAttr, field_validator, model_validator

from stack_config.base import (
    INT32_MAX,
    Cidr,
    ImageRef,
    K8sLabel,
    K8sName,
    RegistryRef,
    Section,
    Text,
    cron_problem,
    matching,
    problem_check,
    quantity_value,
    url_of,
)
from stack_config.cloud import ArtifactStoreSettings, AwsSettings, GcpSecretStore, GcpSettings, ManagedDatabase
from stack_config.pem import PemCertificates
from stack_config.profiles import PROFILES, Profile, ProfileDefaults
from stack_config.secrets import SecretInput, SecureOnly

# Patterns are applied with fullmatch (`$` alone would accept a trailing newline) and hold ASCII classes only.
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+([.-][0-9A-Za-z.]+)?$")
# Namespace of the stable server IDs of OSS workspaces (uuid5 of "<domain>/<workspace name>").
OSS_SERVER_ID_NAMESPACE = UUID("6f1c3b7e-2a4d-5c8e-9b0f-7a6d5e4c3b2a")
SECRET_LIKE_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY|CREDENTIALS?)$")


def _https(value: str) -> str:
    return value.rstrip("/")


HostName = Annotated[str, matching(HOSTNAME, "must be a fully qualified lower-case host name")]
DomainName = Annotated[str, matching(HOSTNAME, "must be a lower-case DNS name with at least two labels, e.g. zenml.example.com")]
ReleaseVersion = Annotated[str, matching(VERSION, "must be a release version such as 0.98.0")]
HttpsUrl = Annotated[str, url_of(("https",)), AfterValidator(_https)]
VaultUrl = Annotated[str, url_of(("https", "http"))]


class Scenario(str, Enum):
    """Where the control plane runs. What the network lets out is a separate setting (`airGap`)."""

    self_hosted = "self-hosted"
    hybrid = "hybrid"
    saas = "saas"


class Target(str, Enum):
    kubernetes = "kubernetes"
    aws = "aws"
    gcp = "gcp"


def _quantity(value: Optional[str], kind: str = "bytes") -> Optional[str]:
    """A positive Kubernetes quantity: cores or millicores for CPU, bytes (no `m` suffix) for memory and storage."""
    if value is not None:
        quantity_value(value, kind)
    return value


LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
LabelKey = Annotated[str, matching(LABEL_KEY, "must be a Kubernetes label key ([prefix/]name, name at most 63 characters)")]
LabelValue = Annotated[str, matching(LABEL_VALUE, "must be a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')")]


class ResourceAmounts(Section):
    cpu: Optional[str] = None
    memory: Optional[str] = None

    _check_cpu = field_validator("cpu")(classmethod(lambda cls, v: _quantity(v, "cpu")))
    _check_memory = field_validator("memory")(classmethod(lambda cls, v: _quantity(v)))


class ResourcesSpec(Section):
    """Container resources in Kubernetes form; unset parts come from the size profile."""

    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ResourcesSpec:
        for part, kind in (("cpu", "cpu"), ("memory", "bytes")):
            request, limit = getattr(self.requests, part), getattr(self.limits, part)
            if request is not None and limit is not None and quantity_value(request, kind) > quantity_value(limit, kind):
                raise ValueError(f"requests.{part} {request} is above limits.{part} {limit}: Kubernetes refuses the Pod")
        return self


class Toleration(Section):
    key: Optional[LabelKey] = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: Optional[LabelValue] = None
    effect: Optional[Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]] = None
    toleration_seconds: Optional[int] = Field(None, ge=0, le=2**63 - 1)


class KubernetesSettings(Section):
    """How to reach the cluster and the cluster-wide names the stack depends on."""

    kubeconfig: Optional[Text] = Field(None, description="Path to a kubeconfig file; default: the ambient one.")
    context: Optional[Text] = Field(None, description="kubeconfig context; default: the current context.")
    namespace_prefix: str = Field("zenml", description="Prefix of every namespace the stack creates.")
    cluster_domain: K8sName = "cluster.local"
    storage_class_name: Optional[K8sName] = Field(None, description="StorageClass for database volumes; default: the cluster default.")
    ingress_class_name: K8sName = "nginx"
    ingress_controller_namespace: K8sLabel = Field(
        "ingress-nginx", description="Namespace of the ingress controller, the only source allowed to reach the servers."
    )
    api_server_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Addresses of the Kubernetes API server; narrows the workload manager's egress (default: any address on 443/6443).",
    )

    ingress_controller_cidrs: list[str] = Field(
        default_factory=list,
        description="Pod addresses of the ingress controller: the only sources whose X-Forwarded-* headers the servers "
        "trust (client IP, scheme). Default: none (runner pods reach the servers directly and could forge them).",
    )

    @field_validator("ingress_controller_cidrs")
    @classmethod
    def _proxy_cidrs(cls, v: list[str]) -> list[str]:
        from ipaddress import ip_network

        for cidr in v:
            try:
                net = ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR block") from None
            if net.prefixlen == 0:
                raise ValueError("trusting forwarded headers from every address lets any pod forge its client address")
        return v

    @field_validator("namespace_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not DNS_LABEL.fullmatch(v) or len(v) > 20:
            raise ValueError("must be a DNS label of at most 20 characters")
        return v


class TlsMode(str, Enum):
    cert_manager = "cert-manager"
    provided = "provided"
    internal_ca = "internal-ca"
    disabled = "disabled"


class CertManagerTls(Section):
    issuer_name: K8sName
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    acme: bool = Field(False, description="True when the issuer uses ACME (needs internet access).")


class ProvidedTls(Section):
    secret_name: K8sName = Field(description="Existing kubernetes.io/tls Secret, present in every namespace that has an Ingress.")
    ca_certificate: Optional[PemCertificates] = Field(None, description="PEM of the CA that signed it, trusted by the servers.")


class InternalCaTls(Section):
    ca_certificate: Optional[PemCertificates] = Field(None, description="PEM of an existing CA; default: a new CA is created.")
    ca_private_key: Optional[SecureOnly] = None
    organization: Text = "zenml-platform"
    # At most 100 years: Go's time.Duration (the TLS provider) overflows near 292 years.
    ca_validity_hours: int = Field(87600, ge=24, le=876000)
    certificate_validity_hours: int = Field(8760, ge=24, le=876000)


class TlsSettings(Section):
    mode: TlsMode = TlsMode.internal_ca
    cert_manager: Optional[CertManagerTls] = None
    provided: Optional[ProvidedTls] = None
    internal_ca: InternalCaTls = InternalCaTls()
    trusted_ca_certificates: Optional[PemCertificates] = Field(
        None,
        description="Corporate CAs (PEM) the servers and the control plane trust for outbound HTTPS (OIDC provider, Vault, "
        "proxies), in addition to the system trust store and the stack's own CA.",
    )

    @model_validator(mode="after")
    def _mode_settings(self) -> TlsSettings:
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

    registry: RegistryRef = Field(description="host[:port][/path], e.g. registry.corp.internal:5000/zenml")
    pull_secret: Optional[SecureOnly] = Field(None, description=".dockerconfigjson for the mirror; a pull Secret is created in every namespace.")
    image_pull_secrets: list[K8sName] = Field(default_factory=list, description="Extra pre-existing pull Secret names.")


class Images(Section):
    """Repositories (no tags); tags come from the versions. The mirror rewrites all of them.

    ZenML's registries (docs.zenml.io, Pro "Self-hosted Deployment Prerequisites"): the Pro workspace server image is
    in ECR eu-central-1, the control-plane API and dashboard images in ECR eu-west-1.
    """

    server: ImageRef = "zenmldocker/zenml-server"
    pro_server: ImageRef = "715803424590.dkr.ecr.eu-central-1.amazonaws.com/zenml-pro-server"
    control_plane_api: ImageRef = "715803424590.dkr.ecr.eu-west-1.amazonaws.com/zenml-pro-api"
    control_plane_dashboard: ImageRef = "715803424590.dkr.ecr.eu-west-1.amazonaws.com/zenml-pro-dashboard"
    mysql: ImageRef = "mysql:8.4.3"
    mariadb: ImageRef = Field("mariadb:10.11", description="Workspace databases with engine mariadb (images/mariadb builds it).")
    postgres: ImageRef = "postgres:16.6"
    runner: Optional[ImageRef] = Field(None, description="Full runner image; default zenmldocker/zenml:<version>-py3.11.")
    pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"


class OidcSettings(Section):
    discovery_url: HttpsUrl = Field(description="OIDC configuration endpoint (.../.well-known/openid-configuration).")
    client_id: Text
    client_secret: SecureOnly


class PasswordAuth(Section):
    admin_password: Optional[SecureOnly] = Field(None, description="Default: generated once and kept in state as a secret.")


class IdentityProvider(Section):
    type: Literal["oidc", "password"] = "password"
    oidc: Optional[OidcSettings] = None
    password: PasswordAuth = PasswordAuth()

    @model_validator(mode="after")
    def _oidc(self) -> IdentityProvider:
        if self.type == "oidc" and self.oidc is None:
            raise ValueError("type oidc needs identityProvider.oidc (discoveryUrl, clientId, clientSecret)")
        return self


class DatabaseMode(str, Enum):
    in_cluster = "in-cluster"
    external = "external"
    managed = "managed"  # RDS (target aws) or Cloud SQL (target gcp)


class BackupSettings(Section):
    enabled: Optional[bool] = Field(None, description="Default: from the profile.")
    schedule: Optional[Text] = None
    retention_days: Optional[int] = Field(None, ge=1, le=3650)
    storage_size: Optional[str] = None

    _q = field_validator("storage_size")(classmethod(lambda cls, v: _quantity(v)))

    def enabled_under(self, defaults: Any) -> bool:
        """Whether backups are on: the stack file's `enabled`, else the profile's default (`defaults.backup_enabled`)."""
        return self.enabled if self.enabled is not None else defaults.backup_enabled

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: Optional[str]) -> Optional[str]:
        reason = cron_problem(v) if v is not None else None
        if reason:
            raise ValueError(reason)
        return v


class InClusterDatabase(Section):
    engine: Optional[Literal["mysql", "mariadb"]] = Field(
        None,
        description="Workspace databases: mysql (default) or mariadb (works in ZenML's test matrix, not officially "
        "supported by ZenML). The control plane's database is always PostgreSQL.",
    )
    storage_size: Optional[str] = None
    storage_class_name: Optional[K8sName] = None
    tls: bool = Field(True, description="Serve TLS with a certificate from the stack's internal database CA.")
    resources: ResourcesSpec = ResourcesSpec()
    backup: BackupSettings = BackupSettings()

    _q = field_validator("storage_size")(classmethod(lambda cls, v: _quantity(v)))


def _database_host(value: str) -> str:
    from ipaddress import ip_address

    try:
        ip_address(value)
        return value
    except ValueError:
        pass
    if len(value) > 253 or not DB_HOST.fullmatch(value):
        raise ValueError("must be a host name or IP address (no scheme, port or path: the port is database.external.port)")
    return value


DB_HOST = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*")
DatabaseHost = Annotated[str, AfterValidator(_database_host)]


class ExternalDatabase(Section):
    host: DatabaseHost
    port: Optional[int] = Field(None, ge=1, le=65535)
    database: Text
    username: Text
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
    def _external(self) -> DatabaseSettings:
        if self.mode is DatabaseMode.external and self.external is None:
            raise ValueError("mode external needs database.external (host, database, username, password)")
        return self


class SecretStoreType(str, Enum):
    sql = "sql"
    hashicorp = "hashicorp"
    aws = "aws"  # AWS Secrets Manager through the server's IRSA role (target aws)
    gcp = "gcp"  # GCP Secret Manager through Workload Identity (target gcp)


class VaultSettings(Section):
    address: VaultUrl
    namespace: Optional[Text] = None
    mount_point: Optional[Text] = None
    auth_method: Literal["token", "app_role", "aws"] = "token"
    auth_mount_point: Optional[str] = None
    token: Optional[SecretInput] = None
    app_role_id: Optional[str] = None
    app_secret_id: Optional[SecretInput] = None
    aws_role: Optional[str] = None
    max_versions: int = Field(1, ge=1, le=INT32_MAX)

    @model_validator(mode="after")
    def _auth(self) -> VaultSettings:
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
    def _vault(self) -> SecretStoreSettings:
        if self.type is SecretStoreType.hashicorp and self.vault is None:
            raise ValueError("type hashicorp needs secretStore.vault")
        return self


class RunnerEgress(Section):
    allow_cidrs: list[Cidr] = Field(default_factory=list, description="Extra destinations (artifact store, registry).")
    allow_namespaces: list[K8sLabel] = Field(default_factory=list)
    allow_internet: bool = Field(
        False,
        description="Allow public internet destinations; off by default. Private, CGNAT, loopback and link-local ranges "
        "(cluster, nodes, VPC, instance metadata) stay excluded: list them in allowCidrs to reach them.",
    )


class RunnerQuota(Section):
    cpu: str = "8"
    memory: str = "32Gi"
    pods: int = Field(20, ge=1, le=INT32_MAX)

    _q_cpu = field_validator("cpu")(classmethod(lambda cls, v: _quantity(v, "cpu")))
    _q_memory = field_validator("memory")(classmethod(lambda cls, v: _quantity(v)))


class RunnerSettings(Section):
    enabled: Optional[bool] = Field(None, description="Default: on for Pro workspaces (the workload manager needs Pro).")
    image: Optional[ImageRef] = None
    pod_resources: ResourcesSpec = ResourcesSpec(
        requests=ResourceAmounts(cpu="500m", memory="1Gi"), limits=ResourceAmounts(cpu="2", memory="4Gi")
    )
    ttl_seconds_after_finished: int = Field(3600, ge=0, le=INT32_MAX)
    backoff_limit: int = Field(0, ge=0, le=INT32_MAX)
    node_selector: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    quota: RunnerQuota = RunnerQuota()
    egress: RunnerEgress = RunnerEgress()
    build_runner_image: bool = False
    docker_registry: Optional[RegistryRef] = None

    @model_validator(mode="after")
    def _build(self) -> RunnerSettings:
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
    oauth2_audience: Optional[str] = Field(
        None, description="Default: the Pro API URL (https://<control plane host>/api/v1 when self-hosted); required by ZenML 0.98."
    )


class MigrationSettings(Section):
    """The migration Job (`python -m zenml.zen_server.database_migration`) before each version change."""

    resources: ResourcesSpec = Field(
        ResourcesSpec(), description="Unset parts: the server's resources. Large migrations can need more memory than the server."
    )


class WorkspaceIngress(Section):
    enabled: bool = True
    class_name: Optional[K8sName] = None
    annotations: dict[LabelKey, str] = Field(default_factory=dict)


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
    migration: MigrationSettings = MigrationSettings()
    database: DatabaseSettings = DatabaseSettings()
    secret_store: SecretStoreSettings = SecretStoreSettings()
    runner: RunnerSettings = RunnerSettings()
    pro: Optional[ProEnrollment] = None
    ingress: WorkspaceIngress = WorkspaceIngress()
    env: dict[str, str] = Field(default_factory=dict, description="Extra non-secret environment variables.")
    secret_env: dict[str, SecretInput] = Field(default_factory=dict, description="Extra secret environment variables.")
    node_selector: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    service_account_annotations: dict[LabelKey, str] = Field(default_factory=dict)
    analytics_opt_in: bool = False
    artifact_store: Optional[ArtifactStoreSettings] = Field(
        None, description="Cloud targets: the workspace's S3/GCS artifact store (default: a bucket; saas: none unless tenant)."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not DNS_LABEL.fullmatch(v):
            raise ValueError("must be a DNS label: lower-case letters, digits and '-', starting with a letter")
        if len(v) > 30:
            raise ValueError("must be at most 30 characters (it prefixes namespaces and object names)")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not ENV_NAME.fullmatch(key):
                raise ValueError(f"{key!r} is not an environment variable name")
            if SECRET_LIKE_ENV.search(key):
                raise ValueError(f"{key} looks like a secret: put it under secretEnv so it is read from a Secret")
        return v

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, v: dict) -> dict:
        for key in v:
            if not ENV_NAME.fullmatch(key):
                raise ValueError(f"{key!r} is not an environment variable name")
        return v


def chart_values_problem(value) -> Optional[str]:
    """Why `value` is not plain chart data (JSON: string keys, strings, finite numbers, booleans, null, lists)."""
    import math

    from stack_config.secrets import SecureValue, yaml_kind

    stack = [(value, "")]
    while stack:
        node, where = stack.pop()
        at = f"at {where}: " if where else ""
        if isinstance(node, SecureValue):
            return (
                f"{at}a secret: chart values are stored in the Helm release in clear, so secrets never go in "
                "controlPlane.values; set them through the stack's secret settings (controlPlane.database.external.password, "
                "identityProvider.oidc.clientSecret, identityProvider.password.adminPassword) with `pulumi config set --secret`"
            )
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    return f"{at}a key is {yaml_kind(key)}: chart value keys are strings (quote the key)"
                stack.append((item, f"{where}.{key}" if where else key))
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            return f"{at}not a finite number (.nan/.inf cannot be written as JSON)"
        elif node is not None and not isinstance(node, (str, int, float, bool)):
            return f"{at}{yaml_kind(node)}: chart values are strings, numbers, booleans, lists and mappings"
    return None


class ControlPlaneChart(Section):
    repository: str = "oci://public.ecr.aws/zenml/zenml-pro"
    version: ReleaseVersion = Field(
        "0.13.12",
        description="Chart version; the API and dashboard image tags are the same (docs.zenml.io Pro prerequisites: "
        "image tags match the chart version). UI enrollment needs a control plane newer than 0.13.1.",
    )
    archive: Optional[Text] = Field(None, description="Local chart archive (.tgz) of chart.version, for air-gapped installs.")


class ExternalControlPlane(Section):
    api_url: HttpsUrl = "https://cloudapi.zenml.io"
    dashboard_url: HttpsUrl = "https://cloud.zenml.io"


class ControlPlane(Section):
    enabled: bool = Field(False, description="Deploy the Pro control plane in this stack.")
    host: Optional[HostName] = Field(None, description="Default: zenml.<domain>.")
    chart: ControlPlaneChart = ControlPlaneChart()
    database: DatabaseSettings = DatabaseSettings()
    resources: ResourcesSpec = ResourcesSpec()
    values: Annotated[dict, problem_check(chart_values_problem)] = Field(
        default_factory=dict, description="Extra chart values, merged last. Never put secrets here.")
    external: ExternalControlPlane = ExternalControlPlane()

    @model_validator(mode="after")
    def _postgres_only(self) -> ControlPlane:
        if self.database.in_cluster.engine is not None:
            raise ValueError(
                "database.inCluster.engine: the control plane's in-cluster database is always PostgreSQL; "
                "engine (mysql | mariadb) applies to workspace databases only"
            )
        return self


class AirGap(Section):
    """A cluster with no route to the internet. Independent of `scenario` (where the control plane runs): a
    self-hosted stack may pull from public registries, or live behind an air gap."""

    enabled: bool = Field(
        False,
        description="No internet: every image from registryMirror, the control plane chart local or in the mirror, no "
        "ACME issuer, no runner internet egress, cloud APIs through private endpoints only.",
    )


class NetworkPolicySettings(Section):
    enabled: bool = Field(True, description="Deny by default in every namespace the stack creates.")
    allow_egress_cidrs: list[Cidr] = Field(
        default_factory=list, description="Extra server egress (OIDC provider, Vault, external databases)."
    )


class StackConfig(Section):
    scenario: Scenario = Field(
        description="Where the control plane runs: self-hosted (in this stack, or none: OSS workspaces), hybrid (ZenML-hosted), "
        "saas (this stack is the operator side). `airgapped` is read as self-hosted with airGap.enabled (deprecated: docs/upgrading.md)."
    )
    target: Target = Field(Target.kubernetes, description="Where stateful services run: in the cluster, or managed on AWS or GCP.")
    profile: Profile = Field(Profile.small, description="Size profile: replicas, resources, storage, backups and data protection.")
    zenml_version: ReleaseVersion = Field("0.98.0", description="ZenML server version (image tag) of every workspace unless overridden.")
    domain: DomainName = Field(description="Parent domain of every host name, e.g. zenml.corp.internal.")
    kubernetes: KubernetesSettings = KubernetesSettings()
    tls: TlsSettings = TlsSettings()
    air_gap: AirGap = Field(
        AirGap(), description="What the network lets out, apart from the layout: docs/layouts.md#air-gapped-airgapenabled."
    )
    registry_mirror: Optional[RegistryMirror] = None
    images: Images = Images()
    control_plane: ControlPlane = ControlPlane()
    identity_provider: IdentityProvider = IdentityProvider()
    network_policies: NetworkPolicySettings = NetworkPolicySettings()
    workspaces: list[Workspace] = Field(default_factory=list)
    aws: Optional[AwsSettings] = Field(None, description="target aws: region, account, the given EKS cluster and VPC.")
    gcp: Optional[GcpSettings] = Field(None, description="target gcp: project, region, the given GKE cluster and VPC.")

    # How the stack file was written, not what it says: notes on deprecated spellings the loader read (set by
    # stack_config.loader, shown once by the command that loaded the file).
    _deprecations: tuple[str, ...] = PrivateAttr(default=())

    @property
    def deprecations(self) -> tuple[str, ...]:
        return self._deprecations

    @property
    def defaults(self) -> ProfileDefaults:
        return PROFILES[self.profile]

    @property
    def air_gapped(self) -> bool:
        return self.air_gap.enabled

    # Derived values: computed here once so scenarios, components, rules and the CLI agree on them.

    @property
    def control_plane_host(self) -> str:
        return self.control_plane.host or f"zenml.{self.domain}"

    @property
    def control_plane_namespace(self) -> str:
        return f"{self.kubernetes.namespace_prefix}-control-plane"

    @property
    def pro_api_url(self) -> Optional[str]:
        """Where Pro workspaces enroll: this stack's control plane, or the external one (hybrid, saas tenants).

        A self-hosted control plane serves its API under `/api/v1` on the same host as the dashboard: the workspace
        server calls `{api_url}/auth/login` (zenml 0.98.0 wheel, zenml/zen_server/cloud_utils.py) and
        `{api_url}/users/authorize_server`. The hosted one (`https://cloudapi.zenml.io`) has no suffix.
        Source: docs.zenml.io "Enroll Workspaces" / "Kubernetes with Helm" (workspace) pages.
        """
        if self.control_plane.enabled:
            return f"https://{self.control_plane_host}/api/v1"
        if self.scenario is Scenario.self_hosted:
            return None
        return self.control_plane.external.api_url

    @property
    def pro_dashboard_url(self) -> Optional[str]:
        if self.control_plane.enabled:
            return f"https://{self.control_plane_host}"
        if self.scenario is Scenario.self_hosted:
            return None
        return self.control_plane.external.dashboard_url

    def edition_of(self, ws: Workspace) -> Edition:
        if ws.edition is not None:
            return ws.edition
        return Edition.pro if (self.control_plane.enabled or self.scenario is not Scenario.self_hosted) else Edition.oss

    def artifact_mode_of(self, ws: Workspace) -> str:
        """bucket | tenant | none: as set, else none in the saas layout (artifacts stay with tenants), else bucket.
        Only cloud targets create artifact stores (rules refuse `artifactStore` on target kubernetes)."""
        if ws.artifact_store is not None:
            return ws.artifact_store.mode
        return "none" if self.scenario is Scenario.saas else "bucket"

    def host_of(self, ws: Workspace) -> str:
        return ws.host or f"{ws.name}.{self.domain}"

    def namespace_of(self, ws: Workspace) -> str:
        return f"{self.kubernetes.namespace_prefix}-{ws.name}"

    def runner_namespace_of(self, ws: Workspace) -> str:
        return f"{self.kubernetes.namespace_prefix}-{ws.name}-runners"

    def server_id_of(self, ws: Workspace) -> str:
        """The ID a workspace server is known by (ZenML tags its AWS secrets with it): a Pro workspace's ID, or a
        stable ID derived from domain and name for OSS servers (set through ZENML_SERVER_EXTERNAL_SERVER_ID)."""
        if self.edition_of(ws) is Edition.pro and ws.pro is not None:
            return str(ws.pro.workspace_id)
        return str(uuid5(OSS_SERVER_ID_NAMESPACE, f"{self.domain}/{ws.name}"))

    @property
    def reserved_namespaces(self) -> dict[str, str]:
        """Namespaces the stack creates for itself, whatever the layout: no workspace may be named onto them."""
        prefix = self.kubernetes.namespace_prefix
        return {
            self.control_plane_namespace: "the control plane's namespace",
            f"{prefix}-db-admin": "the database administration namespace (managed database bootstrap Jobs)",
        }

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
