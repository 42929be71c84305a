"""The ZenML workspace server as native Kubernetes objects (no chart, so every field is typed and reviewable).

A migration Job named after the version runs to completion before the Deployment changes, so replicas never race
on a schema migration; server pods run with DISABLE_DATABASE_MIGRATION=True. The JWT key is generated once and
shared by all replicas through a Secret (ZenML's default is random per process, which breaks sessions).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.database import DatabaseConnection
from components.kube import (
    container_security_context,
    env_secret,
    env_value,
    labels,
    pod_security_context,
    selector,
    spread,
    tmp_volume,
)
from components.names import MIGRATION_SA, SERVER_SA
from components.secret_store import SecretStoreBinding

SERVER_UID = 1000
PORT = 8080
CONFIG_PATH = "/zenml/.zenconfig"
DB_CA_DIR = "/etc/zenml/db-ca"
TRUST_DIR = "/etc/zenml/trust"
ADMIN_USERNAME = "admin"  # the activated OSS server's first admin account
BUNDLE_DIR = "/etc/zenml/ca-bundle"
BUNDLE = f"{BUNDLE_DIR}/ca-bundle.crt"
# REQUESTS_CA_BUNDLE *replaces* the trust store of requests (and SSL_CERT_FILE OpenSSL's): pointing it at the
# stack's CA alone would break every other TLS peer (cloud APIs, a Vault or OIDC provider signed by a public CA).
# An init container writes the image's own trust (certifi, what requests uses by default, plus the Debian system
# bundle when present) followed by the extra CAs into an emptyDir; the variables point at that file.
CA_BUNDLE_SCRIPT = (
    "import os, sys\n"
    "import certifi\n"
    "out, extra = sys.argv[1], sys.argv[2:]\n"
    "sources = [certifi.where()] + [p for p in ['/etc/ssl/certs/ca-certificates.crt'] if os.path.exists(p)] + extra\n"
    "parts = [open(p).read().strip() for p in sources]\n"
    "open(out, 'w').write('\\n'.join(p for p in parts if p) + '\\n')\n"
)
# How long a migration may run (the Job's activeDeadlineSeconds), and how long `up` waits for it: a little longer,
# so the Job's own failure (with its log) is what `up` reports.
MIGRATION_DEADLINE_S = 3600
MIGRATION_WAIT = f"{MIGRATION_DEADLINE_S + 120}s"


@dataclass
class ProSettings:
    api_url: str
    dashboard_url: str
    organization_id: str
    workspace_id: str
    enrollment_key_secret: pulumi.Input[str]
    enrollment_key_key: str
    organization_name: Optional[str] = None
    workspace_name: Optional[str] = None
    oauth2_audience: Optional[str] = None


@dataclass
class WorkspaceServerArgs:
    workspace: str
    image: str
    version: str
    server_url: str
    replicas: int
    max_replicas: int
    resources: dict[str, Any]
    # Set by the owning Workspace (its namespace, database and secrets store):
    namespace: Optional[pulumi.Input[str]] = None
    database: Optional[DatabaseConnection] = None
    secret_store: Optional[SecretStoreBinding] = None
    migration_backup_strategy: str = "in-memory"
    migration_resources: Optional[dict[str, Any]] = None  # default: the server's
    migration_service_account_annotations: dict[str, str] = field(default_factory=dict)
    pro: Optional[ProSettings] = None
    workload_manager_env: list[dict[str, Any]] = field(default_factory=list)
    needs_kubernetes_api: bool = False
    env: dict[str, str] = field(default_factory=dict)
    secret_env: list[dict[str, Any]] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    service_account_annotations: dict[str, str] = field(default_factory=dict)
    trusted_ca_pem: Optional[pulumi.Input[str]] = None
    analytics_opt_in: bool = False
    ingress_sources: list[dict[str, Any]] = field(default_factory=list)
    egress_rules: list[dict[str, Any]] = field(default_factory=list)


class WorkspaceServer(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkspaceServerArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("zenml-platform:kubernetes:WorkspaceServer", name, None, opts)
        a = args
        assert a.namespace is not None and a.database is not None and a.secret_store is not None, "set by the Workspace"
        meta = labels("zenml-server", a.workspace)
        match = selector("zenml-server", a.workspace)
        db = a.database
        pod_labels = {**meta, **db.client_labels, "app.kubernetes.io/version": a.version}

        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": SERVER_SA, "namespace": a.namespace, "labels": meta, "annotations": {
                **a.secret_store.service_account_annotations, **a.service_account_annotations}},
            # The token is mounted only when the workload manager must call the Kubernetes API.
            automount_service_account_token=a.needs_kubernetes_api,
            opts=ctx.opts(self),
        )
        self.migration_service_account = k8s.core.v1.ServiceAccount(
            f"{name}-migration-sa",
            metadata={"name": MIGRATION_SA, "namespace": a.namespace, "labels": {**meta, "app.kubernetes.io/component": "migration"},
                      "annotations": a.migration_service_account_annotations},
            automount_service_account_token=False,
            opts=ctx.opts(self),
        )
        # Retained like the database credentials (production): the key and the admin password outlive the state.
        jwt = ctx.generated(self, f"{name}-jwt-secret", 64)
        self.jwt_secret = k8s.core.v1.Secret(
            f"{name}-jwt",
            metadata={"name": "zenml-server-jwt", "namespace": a.namespace, "labels": meta},
            string_data={"jwt-secret-key": jwt},
            opts=ctx.stateful_opts(self, additional_secret_outputs=["stringData", "data"]),
        )

        # An OSS server nobody has activated is claimed by whoever reaches it first: activate it at database
        # initialisation with a generated admin password (ZenML's auto_activate + ZENML_DEFAULT_USER_*,
        # zenml/zen_stores/sql_zen_store.py `_auto_activate_server`, 0.98.0). The password is generated once and
        # kept in state like the JWT key; ZenML reads it only when it first initialises the database. Pro
        # workspaces are activated by their control plane instead.
        self.admin_username: Optional[str] = None
        self.admin_password: Optional[pulumi.Output[str]] = None
        self.admin_secret: Optional[k8s.core.v1.Secret] = None
        if a.pro is None:
            admin_pw = ctx.generated(self, f"{name}-admin-password", 32)
            self.admin_username = ADMIN_USERNAME
            self.admin_password = admin_pw
            self.admin_secret = k8s.core.v1.Secret(
                f"{name}-admin",
                metadata={"name": "zenml-server-admin", "namespace": a.namespace, "labels": meta},
                string_data={"username": ADMIN_USERNAME, "password": admin_pw},
                opts=ctx.stateful_opts(self, additional_secret_outputs=["stringData", "data"]),
            )

        volumes: list[dict[str, Any]] = [tmp_volume("tmp", "1Gi"), tmp_volume("config", "256Mi")]
        mounts: list[dict[str, Any]] = [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "config", "mountPath": CONFIG_PATH},
        ]
        store_env = [
            env_value("ZENML_STORE_URL", db.url("mysql" if db.engine == "mysql" else db.engine)),
            env_value("ZENML_STORE_USERNAME", db.username),
            env_secret("ZENML_STORE_PASSWORD", db.password_secret, db.password_key),
        ]
        if db.tls:
            store_env.append(env_value("ZENML_STORE_SSL", "True"))
            store_env.append(env_value("ZENML_STORE_SSL_VERIFY_SERVER_CERT", str(db.verify_server_cert)))
        if db.ca_secret is not None:
            volumes.append({"name": "db-ca", "secret": {"secretName": db.ca_secret, "items": [{"key": db.ca_key, "path": "ca.crt"}]}})
            mounts.append({"name": "db-ca", "mountPath": DB_CA_DIR, "readOnly": True})
            store_env.append(env_value("ZENML_STORE_SSL_CA", f"{DB_CA_DIR}/ca.crt"))

        if a.trusted_ca_pem is not None:
            trust = k8s.core.v1.ConfigMap(
                f"{name}-trust",
                metadata={"name": "zenml-server-trust", "namespace": a.namespace, "labels": meta},
                data={"ca.crt": a.trusted_ca_pem},
                opts=ctx.opts(self),
            )
            volumes.append({"name": "trust", "configMap": {"name": trust.metadata.name}})
            volumes.append(tmp_volume("ca-bundle", "16Mi"))
            mounts.append({"name": "ca-bundle", "mountPath": BUNDLE_DIR, "readOnly": True})

        common_env = [
            *store_env,
            *a.secret_store.env,
            env_value("ZENML_CONFIG_PATH", CONFIG_PATH),
            env_value("ZENML_ANALYTICS_OPT_IN", str(a.analytics_opt_in)),
            env_value("ZENML_LOGGING_VERBOSITY", "INFO"),
        ]
        init_containers: list[dict[str, Any]] = []
        if a.trusted_ca_pem is not None:
            common_env.append(env_value("REQUESTS_CA_BUNDLE", BUNDLE))
            common_env.append(env_value("SSL_CERT_FILE", BUNDLE))
            init_containers.append({
                "name": "ca-bundle",
                "image": a.image,
                "imagePullPolicy": ctx.image_pull_policy,
                "command": ["python", "-c", CA_BUNDLE_SCRIPT, BUNDLE, f"{TRUST_DIR}/ca.crt"],
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
                "securityContext": container_security_context(read_only_root=True),
                "volumeMounts": [
                    {"name": "trust", "mountPath": TRUST_DIR, "readOnly": True},
                    {"name": "ca-bundle", "mountPath": BUNDLE_DIR},
                ],
            })
        # Who the server is: shared by the server and the migration Job. ZENML_SERVER=true makes the migration
        # initialise the database as this server (no auto-activation, no passwordless default admin), which
        # it otherwise does when it runs as a client.
        identity_env = [
            *common_env,
            env_value("ZENML_SERVER", "true"),
            env_value("ZENML_SERVER_SERVER_URL", a.server_url),
            env_value("ZENML_SERVER_DEPLOYMENT_TYPE", "cloud" if a.pro else "kubernetes"),
            env_secret("ZENML_SERVER_JWT_SECRET_KEY", self.jwt_secret.metadata.name, "jwt-secret-key"),
        ]
        if self.admin_secret is not None:
            identity_env += [
                env_value("ZENML_SERVER_AUTO_ACTIVATE", "True"),
                env_value("ZENML_DEFAULT_USER_NAME", ADMIN_USERNAME),
                env_secret("ZENML_DEFAULT_USER_PASSWORD", self.admin_secret.metadata.name, "password"),
            ]
        if a.pro is not None:
            p = a.pro
            identity_env += [
                env_value("ZENML_SERVER_PRO_API_URL", p.api_url),
                env_value("ZENML_SERVER_PRO_DASHBOARD_URL", p.dashboard_url),
                env_value("ZENML_SERVER_PRO_ORGANIZATION_ID", p.organization_id),
                env_value("ZENML_SERVER_PRO_WORKSPACE_ID", p.workspace_id),
                env_value("ZENML_SERVER_PRO_WORKSPACE_NAME", p.workspace_name or a.workspace),
                env_value("ZENML_SERVER_PRO_OAUTH2_AUDIENCE", p.oauth2_audience or p.api_url),
                env_secret("ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET", p.enrollment_key_secret, p.enrollment_key_key),
            ]
            if p.organization_name:
                identity_env.append(env_value("ZENML_SERVER_PRO_ORGANIZATION_NAME", p.organization_name))
        identity_env += [env_value(k, v) for k, v in sorted(a.env.items())]
        identity_env += a.secret_env
        server_env = [*identity_env, env_value("DISABLE_DATABASE_MIGRATION", "True"), *a.workload_manager_env]

        pod_common = {
            "enableServiceLinks": False,
            "securityContext": pod_security_context(SERVER_UID, SERVER_UID, SERVER_UID),
            "imagePullSecrets": ctx.image_pull_secrets,
            "nodeSelector": a.node_selector,
            "tolerations": a.tolerations,
            "volumes": volumes,
            **({"initContainers": init_containers} if init_containers else {}),
        }

        # The Job's name carries the version and image, so a version change creates a new Job and migrates again.
        digest = hashlib.sha256(a.image.encode()).hexdigest()[:6]
        job_name = f"zenml-migrate-{a.version.replace('.', '-')}-{digest}"[:63].rstrip("-")
        migration_env = [*identity_env, env_value("ZENML_STORE_BACKUP_STRATEGY", a.migration_backup_strategy)]
        if a.migration_backup_strategy == "database":
            migration_env.append(env_value("ZENML_STORE_BACKUP_DATABASE", f"{db.database}_backup"))
        self.migration = k8s.batch.v1.Job(
            f"{name}-migrate",
            metadata={
                "name": job_name,
                "namespace": a.namespace,
                "labels": {**meta, "app.kubernetes.io/component": "migration"},
                # A Job that failed (a migration the database refused) is replaced by the next `up` and runs again
                # once the cause is fixed; without this the engine re-awaits the failed Job and fails forever.
                "annotations": {"pulumi.com/replaceUnready": "true"},
            },
            spec={
                "backoffLimit": 0,
                "activeDeadlineSeconds": MIGRATION_DEADLINE_S,
                "template": {
                    "metadata": {"labels": {**pod_labels, "app.kubernetes.io/component": "migration"}},
                    "spec": {
                        **pod_common,
                        "serviceAccountName": self.migration_service_account.metadata.name,
                        "automountServiceAccountToken": False,
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "migrate",
                                "image": a.image,
                                "imagePullPolicy": ctx.image_pull_policy,
                                "command": ["python", "-m", "zenml.zen_server.database_migration"],
                                "env": migration_env,
                                "resources": a.migration_resources or a.resources,
                                "securityContext": container_security_context(read_only_root=True),
                                "volumeMounts": mounts,
                            }
                        ],
                    },
                },
            },
            opts=ctx.opts(
                self,
                depends_on=[*db.depends_on, *a.secret_store.depends_on],
                delete_before_replace=True,
                # The engine waits as long as Kubernetes lets the migration run (its default is 10 minutes):
                # a long migration must not fail `up` while the Job goes on migrating.
                custom_timeouts=pulumi.CustomTimeouts(create=MIGRATION_WAIT, update=MIGRATION_WAIT),
            ),
        )

        probe: dict[str, Any] = {"httpGet": {"path": "/health", "port": PORT}}
        startup_probe = {**probe, "periodSeconds": 5, "failureThreshold": 60}
        readiness_probe = {**probe, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}
        liveness_probe = {**probe, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 6}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": "zenml-server", "namespace": a.namespace, "labels": meta},
            spec={
                # With an autoscaler the HPA owns the replica count: declaring it here would reset it on each up.
                **({} if a.replicas > 1 else {"replicas": a.replicas}),
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": match},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": {**pod_labels, "app.kubernetes.io/component": "server"}},
                    "spec": {
                        **pod_common,
                        "serviceAccountName": self.service_account.metadata.name,
                        "automountServiceAccountToken": a.needs_kubernetes_api,
                        "terminationGracePeriodSeconds": 30,
                        "topologySpreadConstraints": spread(match),
                        "containers": [
                            {
                                "name": "zenml-server",
                                "image": a.image,
                                "imagePullPolicy": ctx.image_pull_policy,
                                "command": [
                                    "uvicorn", "zenml.zen_server.zen_server_api:app",
                                    "--host", "0.0.0.0", "--port", str(PORT),
                                    # Forwarded headers only from the ingress controller's addresses: runner pods
                                    # reach the server directly and must not set their client IP or scheme.
                                    # Without configured addresses, only loopback (uvicorn's own default).
                                    "--proxy-headers", "--forwarded-allow-ips", ",".join(ctx.proxy_cidrs) or "127.0.0.1",
                                ],
                                "env": server_env,
                                "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                                "startupProbe": startup_probe,
                                "readinessProbe": readiness_probe,
                                "livenessProbe": liveness_probe,
                                "resources": a.resources,
                                "securityContext": container_security_context(read_only_root=True),
                                "volumeMounts": mounts,
                            }
                        ],
                    },
                },
            },
            opts=ctx.opts(self, depends_on=[self.migration]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": "zenml-server", "namespace": a.namespace, "labels": meta},
            # Server pods only: the migration Job's pod carries the same name/instance labels and, having no
            # readiness probe, is Ready while it runs, so a selector without the component sent requests to a pod
            # that does not serve (502s through the ingress during every migration, seen on the real node).
            spec={"selector": {**match, "app.kubernetes.io/component": "server"},
                  "ports": [{"name": "http", "port": 80, "targetPort": PORT, "protocol": "TCP"}]},
            opts=ctx.opts(self),
        )

        if a.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={"name": "zenml-server", "namespace": a.namespace, "labels": meta},
                spec={"minAvailable": 1, "selector": {"matchLabels": match}},
                opts=ctx.opts(self),
            )
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata={"name": "zenml-server", "namespace": a.namespace, "labels": meta},
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "zenml-server"},
                    "minReplicas": a.replicas,
                    "maxReplicas": max(a.max_replicas, a.replicas),
                    "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
                    ],
                },
                opts=ctx.opts(self),
            )

        if ctx.network_policies:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol",
                metadata={"name": "zenml-server", "namespace": a.namespace, "labels": meta},
                spec={
                    "podSelector": {"matchLabels": meta_selector(meta)},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": a.ingress_sources, "ports": [{"protocol": "TCP", "port": PORT}]}]
                    if a.ingress_sources
                    else [],
                    "egress": a.egress_rules,
                },
                opts=ctx.opts(self),
            )

        self.url = a.server_url
        self.register_outputs({"url": a.server_url, "service": self.service.metadata.name})


def meta_selector(meta: dict[str, str]) -> dict[str, str]:
    """Server and migration pods share name and instance labels, so one policy covers both."""
    return {"app.kubernetes.io/name": meta["app.kubernetes.io/name"], "app.kubernetes.io/instance": meta["app.kubernetes.io/instance"]}
