"""`residency`: where each kind of data lives for this stack, in the form of ZenML's "Where Data Lives" table.

Derived from the validated config only (scenario, air gap, control plane here or external, database modes, secret
stores, registry mirror, identity provider): no engine, no plan. The wording lives here, not in stack_config.
"""

from __future__ import annotations

from typing import Any

import typer

from cli_app import options
from cli_app.common import emit_json, md_table

DESCRIPTIONS = {
    "Pipeline Metadata": "Run status, step execution details, artifact pointers",
    "Artifacts": "Model weights, datasets, evaluation results",
    "Container Images": "Platform images, and images with your code and dependencies",
    "Logs": "Execution logs from pipeline runs; server logs",
    "Secrets": "Credentials and sensitive configuration",
    "User/Org Data": "Authentication, RBAC, organization settings",
}

MOVEMENT = {
    "self-hosted": "All data stays in this cluster and your own registries and stores; nothing reaches ZenML.",
    "hybrid": "Only authentication/authorization data crosses to the ZenML-hosted control plane; metadata, secrets and artifacts stay in your infrastructure.",
    "saas": "This stack is the SaaS side: tenants' metadata and stored credentials live here; their artifacts stay in their own clouds.",
}


AIR_GAP = "Air-gapped (airGap.enabled): nothing leaves your network; images and the chart come from your mirror."


def data_movement(cfg) -> str:
    """What crosses to ZenML for this layout, and what the air gap adds."""
    return MOVEMENT[cfg.scenario.value] + (f" {AIR_GAP}" if cfg.air_gapped else "")


def _database(cfg, db, what: str, ns: str, default_engine: str) -> str:
    from stack_config.model import DatabaseMode

    if db.mode is DatabaseMode.in_cluster:
        size = db.in_cluster.storage_size or cfg.defaults.database_storage
        return f"{what}: in-cluster {default_engine} in namespace `{ns}` (volume {size})"
    if db.mode is DatabaseMode.managed:
        return _managed_database(cfg, db, what)
    ext = db.external
    port = f":{ext.port}" if ext.port else ""
    return f"{what}: external database `{ext.host}{port}/{ext.database}`"


def residency_rows(cfg) -> list[dict[str, Any]]:
    from stack_config.model import SecretStoreType

    ws_list = list(cfg.workspaces)
    rows: dict[str, list[str]] = {k: [] for k in DESCRIPTIONS}

    for ws in ws_list:
        engine = "MariaDB" if ws.database.in_cluster.engine == "mariadb" else "MySQL"
        rows["Pipeline Metadata"].append(_database(cfg, ws.database, f"workspace `{ws.name}`", cfg.namespace_of(ws), engine))
    if not ws_list:
        rows["Pipeline Metadata"].append("no workspaces in this stack: each workspace enrolled with this control plane keeps its own")

    rows["Artifacts"].extend(_artifact_stores(cfg))
    cidrs = sorted({*cfg.network_policies.allow_egress_cidrs, *(c for ws in ws_list for c in ws.runner.egress.allow_cidrs)})
    if not rows["Artifacts"]:
        text = "your artifact store (S3, GCS, MinIO, ...) registered in ZenML stacks; not deployed by this stack"
        if cfg.network_policies.enabled:
            text += (f"; servers/runners may reach {', '.join(cidrs)}" if cidrs
                     else "; no egress to it is allowed yet (networkPolicies.allowEgressCidrs, runner.egress.allowCidrs)")
        rows["Artifacts"].append(text)

    if cfg.registry_mirror is not None:
        rows["Container Images"].append(f"platform images: mirror `{cfg.registry_mirror.registry}` (every image rewritten; list with `zenml-platform images`)")
    else:
        registries = sorted({_registry(getattr(cfg.images, f)) for f in ("server", "pro_server", "mysql", "mariadb", "postgres", "control_plane_api")})
        rows["Container Images"].append("platform images: public registries " + ", ".join(f"`{r}`" for r in registries))
    pipeline_registries = sorted({ws.runner.docker_registry for ws in ws_list if ws.runner.docker_registry})
    rows["Container Images"].append(
        "pipeline images: your container registry" + (f" ({', '.join(f'`{r}`' for r in pipeline_registries)})" if pipeline_registries else "")
    )

    rows["Logs"].append("step logs: your configured log backend (the artifact store by default)")
    namespaces = [cfg.namespace_of(ws) for ws in ws_list] + [cfg.runner_namespace_of(ws) for ws in ws_list if cfg.runner_enabled(ws)]
    if cfg.control_plane.enabled:
        namespaces.insert(0, cfg.control_plane_namespace)
    aws = getattr(cfg, "aws", None)
    if cfg.target.value == "aws" and aws is not None and aws.workload_manager == "aws":
        rows["Logs"].append(f"runs started from the dashboard: run logs in S3 in account {aws.account_id} (aws.workloadManager aws)")
    if namespaces:
        rows["Logs"].append("server and runner pod logs: this cluster's log collection (namespaces " + ", ".join(f"`{n}`" for n in namespaces) + ")")

    for ws in ws_list:
        if ws.secret_store.type is SecretStoreType.sql:
            rows["Secrets"].append(
                f"workspace `{ws.name}`: its own database (sql store), encrypted with a generated key in Secret "
                f"`{ws.name}-secrets-encryption-key` of `{cfg.namespace_of(ws)}`"
            )
        elif ws.secret_store.type is SecretStoreType.hashicorp:
            rows["Secrets"].append(f"workspace `{ws.name}`: HashiCorp Vault at `{ws.secret_store.vault.address}`")
        else:
            rows["Secrets"].append(_cloud_secrets(cfg, ws))
    rows["Secrets"].append("generated passwords and keys of the stack: Pulumi state, encrypted with the stack's passphrase")

    if cfg.control_plane.enabled:
        rows["User/Org Data"].append(_database(cfg, cfg.control_plane.database, "this stack's control plane", cfg.control_plane_namespace, "PostgreSQL"))
        if cfg.identity_provider.type == "oidc" and cfg.identity_provider.oidc is not None:
            rows["User/Org Data"].append(f"user credentials: your OIDC provider `{_host(cfg.identity_provider.oidc.discovery_url)}`")
    elif cfg.pro_api_url:
        rows["User/Org Data"].append(f"ZenML-hosted control plane `{cfg.pro_api_url}` (users, roles, organization, workspace registry)")
    else:
        rows["User/Org Data"].append("each OSS workspace's own database (users and roles live in the workspace)")

    return [{"dataType": k, "description": DESCRIPTIONS[k], "location": v} for k, v in rows.items()]


def _managed_database(cfg, db, what: str) -> str:
    """A managed database's location, in the words of the residency table."""
    m = db.managed
    if cfg.target.value == "aws" and cfg.aws is not None:
        where = f"shared RDS MySQL `{cfg.aws.name_prefix}-shared-mysql` (own database and user)" if m.instance == "shared" else "dedicated RDS instance"
        return f"{what}: {where} in AWS account {cfg.aws.account_id} ({cfg.aws.region}), private subnets only"
    if cfg.target.value == "gcp" and cfg.gcp is not None:
        return f"{what}: dedicated Cloud SQL instance in project `{cfg.gcp.project}` ({cfg.gcp.region}), private IP only"
    return f"{what}: managed database (target {cfg.target.value})"


def _cloud_secrets(cfg, ws) -> str:
    if ws.secret_store.type.value == "aws" and cfg.aws is not None:
        return (
            f"workspace `{ws.name}`: AWS Secrets Manager ({cfg.aws.account_id}, {cfg.aws.region}), secrets `zenml/*` tagged with "
            "this workspace's server ID; only its server's IAM role can use them"
        )
    if ws.secret_store.type.value == "gcp" and cfg.gcp is not None:
        project = (ws.secret_store.gcp.project if ws.secret_store.gcp else None) or cfg.gcp.project
        return f"workspace `{ws.name}`: GCP Secret Manager in project `{project}` (secrets `zenml-*`), through its server's service account"
    return f"workspace `{ws.name}`: {ws.secret_store.type.value} secrets store"


def _artifact_stores(cfg) -> list[str]:
    """Artifact stores deployed by a cloud stack (empty on target kubernetes)."""
    if cfg.target.value == "kubernetes":
        return []
    rows = []
    for ws in cfg.workspaces:
        art = ws.artifact_store
        mode = cfg.artifact_mode_of(ws)
        if mode == "bucket":
            kind = "S3 bucket in this account" if cfg.target.value == "aws" else "GCS bucket in this project"
            rows.append(f"workspace `{ws.name}`: {kind} (server reads, runners read/write)")
        elif mode == "tenant" and art is not None and art.tenant is not None:
            rows.append(f"workspace `{ws.name}`: the tenant's bucket `{art.tenant.bucket}` in the tenant's own cloud (read through the tenant's grant)")
    return rows


def _registry(image: str) -> str:
    first, sep, _ = image.partition("/")
    return first if sep and ("." in first or ":" in first) else "docker.io"


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def render_markdown(cfg, stack: str) -> str:
    rows = residency_rows(cfg)
    layout = cfg.scenario.value + (", air-gapped" if cfg.air_gapped else "")
    out = [f"## Where data lives: stack `{stack}` ({layout})", "", data_movement(cfg), ""]
    out.append(md_table(["Data Type", "Description", "Location"], [[f"**{r['dataType']}**", r["description"], "; ".join(r["location"])] for r in rows]))
    return "\n".join(out) + "\n"


def residency(stack: options.Stack = None, config_file: options.ConfigFile = None, as_json: options.Json = False) -> None:
    """Where each kind of data lives for this stack (metadata, artifacts, images, logs, secrets, user/org data)."""
    from cli_app.stack_files import load

    name, _, cfg = load(stack, config_file)
    if as_json:
        emit_json({"stack": name, "scenario": cfg.scenario.value, "airGapped": cfg.air_gapped, "dataMovement": data_movement(cfg),
                   "data": residency_rows(cfg)})
    else:
        typer.echo(render_markdown(cfg, name), nl=False)
