"""A database server in the cluster: StatefulSet, headless and client Services, PVC, generated passwords,
optional TLS from the internal database CA, a backup CronJob, and an ingress policy that admits only its clients.

One instance serves one database: workspaces never share a server with each other or with the control plane.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.context import DeployContext
from components.database import DatabaseConnection
from components.database_engines import BACKUP_CA_DIR, MARIADB, MYSQL, POSTGRES, TLS_DIR, Engine
from components.internal_ca import InternalCertificateAuthority
from components.kube import container_security_context, labels, pod_security_context, selector, tmp_volume


@dataclass(frozen=True)
class DatabaseBackup:
    """A nightly (or `schedule`) logical dump into its own volume, kept `retention_days`."""

    schedule: str
    retention_days: int
    storage_size: str


@dataclass
class InClusterDatabaseArgs:
    namespace_name: str  # for the service host name and the certificate's names
    image: str
    database: str
    username: str
    instance: str  # the app.kubernetes.io/instance label: the workspace (or control-plane) it serves
    storage_size: str
    resources: dict[str, Any]  # Kubernetes requests/limits of the database container
    storage_class_name: Optional[str] = None
    tls: bool = True  # serve TLS when `ca` is given
    ca: Optional[InternalCertificateAuthority] = None  # the stack's internal database CA
    backup: Optional[DatabaseBackup] = None  # None: no backup CronJob
    init_sql: Optional[str] = None  # run once on the first start (docker-entrypoint-initdb.d)
    admit_namespace: bool = False  # a vendor chart's pods cannot be labelled: admit the whole namespace
    namespace: Optional[pulumi.Input[str]] = None  # set by the owner that creates the namespace


class InClusterDatabaseServer(pulumi.ComponentResource):
    """Output: `connection` (DatabaseConnection), `credentials` (the generated passwords' Secret)."""

    engine: Engine
    type_token: str

    def __init__(self, name: str, args: InClusterDatabaseArgs, ctx: DeployContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(self.type_token, name, None, opts)
        a = args
        namespace, namespace_name, image, database, username, instance, ca = (
            a.namespace, a.namespace_name, a.image, a.database, a.username, a.instance, a.ca
        )
        init_sql, admit_namespace = a.init_sql, a.admit_namespace
        engine = self.engine
        component = f"{engine.kind}"
        svc = f"{name}"
        host = ctx.service_host(svc, namespace_name)
        match = selector(component, instance)
        meta_labels = labels(component, instance)
        client_labels = {f"zenml-platform.io/{name}-client": "true"}
        tls_on = a.tls and ca is not None

        passwords = {key: ctx.generated(self, f"{name}-{key}", 32) for key in ("password", "root-password")}
        self.credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": f"{name}-credentials", "namespace": namespace, "labels": meta_labels},
            string_data={
                "username": username,
                "password": passwords["password"],
                "root-password": passwords["root-password"],
            },
            opts=ctx.stateful_opts(self, additional_secret_outputs=["stringData", "data"]),
        )

        volumes = [tmp_volume(p.strip("/").replace("/", "-"), "256Mi") for p in engine.run_paths]
        mounts: list[dict[str, Any]] = [{"name": p.strip("/").replace("/", "-"), "mountPath": p} for p in engine.run_paths]
        config_hash = ""
        ca_secret = None
        if tls_on:
            assert ca is not None
            issued = ca.issue(
                f"{name}-server",
                [host, svc, f"{svc}.{namespace_name}", f"{svc}.{namespace_name}.svc"],
                validity_hours=8760,
                parent=self,
            )
            tls_secret = k8s.core.v1.Secret(
                f"{name}-tls",
                metadata={"name": f"{name}-tls", "namespace": namespace, "labels": meta_labels},
                type="kubernetes.io/tls",
                string_data={"tls.crt": issued.cert_pem, "tls.key": issued.key_pem, "ca.crt": issued.ca_pem},
                opts=ctx.opts(self, additional_secret_outputs=["stringData", "data"]),
            )
            ca_secret = k8s.core.v1.Secret(
                f"{name}-ca",
                metadata={"name": f"{name}-ca", "namespace": namespace, "labels": meta_labels},
                string_data={"ca.crt": issued.ca_pem},
                opts=ctx.opts(self),
            ).metadata.name
            volumes.append({"name": "tls", "secret": {"secretName": tls_secret.metadata.name, "defaultMode": 0o440}})
            mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})

        files = engine.config_files(tls_on, TLS_DIR)
        if files:
            config_hash = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:12]
            cm = k8s.core.v1.ConfigMap(
                f"{name}-config",
                metadata={"name": f"{name}-config", "namespace": namespace, "labels": meta_labels},
                data=files,
                opts=ctx.opts(self),
            )
            volumes.append({"name": "config", "configMap": {"name": cm.metadata.name}})
            mounts.append({"name": "config", "mountPath": engine.config_path, "readOnly": True})
        if init_sql:
            init = k8s.core.v1.ConfigMap(
                f"{name}-init",
                metadata={"name": f"{name}-init", "namespace": namespace, "labels": meta_labels},
                data={"10-zenml.sql": init_sql},
                opts=ctx.opts(self),
            )
            volumes.append({"name": "init", "configMap": {"name": init.metadata.name}})
            mounts.append({"name": "init", "mountPath": "/docker-entrypoint-initdb.d", "readOnly": True})

        headless = k8s.core.v1.Service(
            f"{name}-headless",
            metadata={"name": f"{svc}-headless", "namespace": namespace, "labels": meta_labels},
            spec={
                "clusterIP": "None",
                "selector": match,
                "ports": [{"name": engine.kind, "port": engine.port, "targetPort": engine.port}],
                "publishNotReadyAddresses": True,
            },
            opts=ctx.opts(self),
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": svc, "namespace": namespace, "labels": meta_labels},
            spec={"selector": match, "ports": [{"name": engine.kind, "port": engine.port, "targetPort": engine.port}]},
            opts=ctx.opts(self),
        )
        storage = a.storage_size
        storage_class = a.storage_class_name
        claim_spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
        if storage_class:
            claim_spec["storageClassName"] = storage_class
        env = engine.env(f"{name}-credentials", database, username)
        self.statefulset = k8s.apps.v1.StatefulSet(
            name,
            metadata={"name": name, "namespace": namespace, "labels": meta_labels},
            spec={
                "serviceName": headless.metadata.name,
                "replicas": 1,
                "selector": {"matchLabels": match},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "template": {
                    "metadata": {
                        "labels": meta_labels,
                        "annotations": {"zenml-platform.io/config-hash": config_hash} if config_hash else {},
                    },
                    "spec": {
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": pod_security_context(engine.uid, engine.uid, engine.uid),
                        "imagePullSecrets": ctx.image_pull_secrets,
                        "terminationGracePeriodSeconds": 60,
                        "containers": [
                            {
                                "name": engine.kind,
                                "image": image,
                                "imagePullPolicy": ctx.image_pull_policy,
                                "args": engine.args(tls_on),
                                "env": env,
                                "ports": [{"name": engine.kind, "containerPort": engine.port}],
                                "readinessProbe": {
                                    "exec": {"command": engine.readiness},
                                    "periodSeconds": 10,
                                    "timeoutSeconds": 5,
                                },
                                "livenessProbe": {
                                    "tcpSocket": {"port": engine.port},
                                    "initialDelaySeconds": 60,
                                    "periodSeconds": 20,
                                    "failureThreshold": 6,
                                },
                                "startupProbe": {
                                    "tcpSocket": {"port": engine.port},
                                    "periodSeconds": 5,
                                    "failureThreshold": 60,
                                },
                                "resources": a.resources,
                                "securityContext": container_security_context(read_only_root=True),
                                "volumeMounts": [{"name": "data", "mountPath": engine.data_path}, *mounts],
                            }
                        ],
                        "volumes": volumes,
                    },
                },
                "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": meta_labels}, "spec": claim_spec}],
            },
            # Claim templates are immutable: a changed template (e.g. a larger volume) replaces the StatefulSet; the
            # claim and its data stay (Retain policy) and keep their size until the claim itself is expanded.
            # In production the StatefulSet is protected, so such an up stops with a clear message instead.
            opts=ctx.stateful_opts(
                self,
                depends_on=[self.credentials],
                replace_on_changes=["spec.volumeClaimTemplates"],
                delete_before_replace=True,
            ),
        )

        if ctx.network_policies:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-clients",
                metadata={"name": f"{name}-clients", "namespace": namespace, "labels": meta_labels},
                spec={
                    "podSelector": {"matchLabels": match},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            # A vendor chart's pods cannot be labelled by us: then the whole namespace is the client.
                            "from": [{"podSelector": {} if admit_namespace else {"matchLabels": client_labels}}],
                            "ports": [{"protocol": "TCP", "port": engine.port}],
                        }
                    ],
                },
                opts=ctx.opts(self),
            )
            # Every client (server, migration Job, backup Job) carries client_labels and so may reach the server.
            k8s.networking.v1.NetworkPolicy(
                f"{name}-client-egress",
                metadata={"name": f"{name}-client-egress", "namespace": namespace, "labels": meta_labels},
                spec={
                    "podSelector": {"matchLabels": client_labels},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [{"podSelector": {"matchLabels": match}}],
                            "ports": [{"protocol": "TCP", "port": engine.port}],
                        }
                    ],
                },
                opts=ctx.opts(self),
            )

        if a.backup is not None:
            self._backup(name, namespace, ctx, engine, image, a.backup, a.storage_class_name, host, database, username, meta_labels, client_labels, ca_secret)

        self.connection = DatabaseConnection(
            engine=engine.scheme,
            host=host,
            port=engine.port,
            database=database,
            username=username,
            password_secret=self.credentials.metadata.name,
            password_key="password",
            tls=tls_on,
            verify_server_cert=tls_on,
            ca_secret=ca_secret,
            egress_peers=[{"podSelector": {"matchLabels": match}}],
            client_labels=client_labels,
            password=pulumi.Output.secret(passwords["password"]),
            depends_on=[self.statefulset, service],
        )
        self.register_outputs({"host": host, "port": engine.port, "database": database})

    def _backup(self, name, namespace, ctx, engine, image, backup: DatabaseBackup, storage_class_name, host, database, username,
                meta_labels, client_labels, ca_secret):
        tls_on = ca_secret is not None
        ca_file = f"{BACKUP_CA_DIR}/ca.crt" if tls_on else None
        size = backup.storage_size
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-backups",
            # A claim only binds when its first consumer runs (WaitForFirstConsumer): do not wait for it.
            metadata={
                "name": f"{name}-backups",
                "namespace": namespace,
                "labels": meta_labels,
                "annotations": {"pulumi.com/skipAwait": "true"},
            },
            spec={
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": size}},
                **({"storageClassName": storage_class_name} if storage_class_name else {}),
            },
            # A claim only binds when its first consumer runs; do not wait for it at deploy time.
            opts=ctx.stateful_opts(self),
        )
        job_labels = {**labels(f"{engine.kind}-backup", meta_labels["app.kubernetes.io/instance"]), **client_labels}
        retention = backup.retention_days
        k8s.batch.v1.CronJob(
            f"{name}-backup",
            metadata={"name": f"{name}-backup", "namespace": namespace, "labels": meta_labels},
            spec={
                "schedule": backup.schedule,
                "concurrencyPolicy": "Forbid",
                # A run missed by more than 10 minutes (controller down) is skipped, not started late in a burst.
                "startingDeadlineSeconds": 600,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 2,
                        "ttlSecondsAfterFinished": 86400,
                        "template": {
                            "metadata": {"labels": job_labels},
                            "spec": {
                                "restartPolicy": "Never",
                                "automountServiceAccountToken": False,
                                "enableServiceLinks": False,
                                "securityContext": pod_security_context(engine.uid, engine.uid, engine.uid),
                                "imagePullSecrets": ctx.image_pull_secrets,
                                "containers": [
                                    {
                                        "name": "backup",
                                        "image": image,
                                        "imagePullPolicy": ctx.image_pull_policy,
                                        "command": ["sh", "-c", engine.dump_script(tls_on)],
                                        "env": [
                                            *engine.dump_env(f"{name}-credentials", host, database, username, ca_file),
                                            {"name": "RETENTION_DAYS", "value": str(retention)},
                                        ],
                                        "resources": {
                                            "requests": {"cpu": "100m", "memory": "256Mi"},
                                            "limits": {"cpu": "1", "memory": "1Gi"},
                                        },
                                        "securityContext": container_security_context(read_only_root=True),
                                        "volumeMounts": [
                                            {"name": "backups", "mountPath": "/backups"},
                                            {"name": "tmp", "mountPath": "/tmp"},
                                            *([{"name": "db-ca", "mountPath": BACKUP_CA_DIR, "readOnly": True}]
                                              if tls_on else []),
                                        ],
                                    }
                                ],
                                "volumes": [
                                    {"name": "backups", "persistentVolumeClaim": {"claimName": claim.metadata.name}},
                                    tmp_volume(),
                                    *([{"name": "db-ca", "secret": {"secretName": ca_secret, "defaultMode": 0o444}}]
                                      if tls_on else []),
                                ],
                            },
                        },
                    }
                },
            },
            opts=ctx.opts(self),
        )


class MySqlDatabase(InClusterDatabaseServer):
    """MySQL 8 for one workspace's metadata."""

    engine = MYSQL
    type_token = "zenml-platform:database:MySqlDatabase"


class MariaDbDatabase(InClusterDatabaseServer):
    """MariaDB 10.11 (Debian's, images/mariadb) for one workspace's metadata: database.inCluster.engine mariadb."""

    engine = MARIADB
    type_token = "zenml-platform:database:MariaDbDatabase"


class PostgresDatabase(InClusterDatabaseServer):
    """PostgreSQL for the control plane's metadata."""

    engine = POSTGRES
    type_token = "zenml-platform:database:PostgresDatabase"
