"""Cross-field rules: what no single field can check alone. Each problem names the key path to fix."""

from __future__ import annotations

import re
from collections import Counter

from stack_config.cloud import check_cloud
from stack_config.errors import Problem
from stack_config.model import DatabaseMode, Edition, Scenario, SecretStoreType, StackConfig, TlsMode
from stack_config.secrets import SecureValue


def check_stack(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    add = lambda path, reason: problems.append(Problem(path, reason))  # noqa: E731

    # Cloud targets (aws, gcp): settings present, managed services only where they exist, tenant isolation.
    problems.extend(check_cloud(cfg))

    if not cfg.workspaces and not cfg.control_plane.enabled:
        add("workspaces", "the stack deploys nothing: add a workspace or enable the control plane")

    # Layout rules: where the control plane runs.
    if cfg.scenario is Scenario.self_hosted:
        for i, ws in enumerate(cfg.workspaces):
            if cfg.edition_of(ws) is Edition.pro and not cfg.control_plane.enabled:
                add(f"workspaces[{i}].edition", "a Pro workspace in a self-hosted stack needs this stack's control plane "
                    "(controlPlane.enabled); to enroll with the ZenML-hosted one use scenario hybrid")
    elif cfg.scenario is Scenario.hybrid:
        if cfg.control_plane.enabled:
            add("controlPlane.enabled", "in the hybrid layout the control plane is hosted elsewhere: set controlPlane.external instead")
        if not cfg.workspaces:
            add("workspaces", "a hybrid stack needs at least one workspace")
        if cfg.air_gapped:
            add("airGap.enabled", "hybrid workspaces enroll with the ZenML-hosted control plane over the internet, which an "
                "air-gapped stack cannot reach: use scenario self-hosted with controlPlane.enabled")
    elif cfg.scenario is Scenario.saas:
        if not cfg.control_plane.enabled:
            add("controlPlane.enabled", "the saas layout runs the operator's control plane: set controlPlane.enabled true")

    # Air gap rules: what the network lets out, whatever the layout.
    if cfg.air_gapped:
        if cfg.registry_mirror is None:
            add("registryMirror", "an air-gapped stack (airGap.enabled) needs registryMirror.registry: its images cannot come from public registries")
        if cfg.tls.mode is TlsMode.cert_manager and cfg.tls.cert_manager and cfg.tls.cert_manager.acme:
            add("tls.certManager.acme", "an air-gapped stack (airGap.enabled) cannot use an ACME issuer; use internal-ca, provided, or a private issuer")
        if cfg.control_plane.enabled and cfg.control_plane.chart.archive is None:
            mirror = cfg.registry_mirror.registry if cfg.registry_mirror else None
            repo_host = cfg.control_plane.chart.repository.split("://", 1)[-1].split("/")[0]
            if not (mirror and repo_host == mirror.split("/")[0]):
                add(
                    "controlPlane.chart.archive",
                    "an air-gapped stack (airGap.enabled) cannot pull the chart from "
                    f"{cfg.control_plane.chart.repository}: set a local chart archive or a repository in the mirror",
                )
        for i, ws in enumerate(cfg.workspaces):
            if ws.runner.egress.allow_internet:
                add(f"workspaces[{i}].runner.egress.allowInternet", "an air-gapped stack (airGap.enabled) has no internet egress")

    if cfg.identity_provider.type == "oidc" and not cfg.control_plane.enabled:
        add("identityProvider", "an identity provider is configured on the control plane, which this stack does not deploy")

    # TLS.
    if cfg.tls.mode is TlsMode.disabled and cfg.profile.value == "production":
        add("tls.mode", "TLS cannot be disabled in the production profile")

    # Workspaces: unique names, hosts and namespaces; Pro settings where Pro is used.
    for name, n in Counter(ws.name for ws in cfg.workspaces).items():
        if n > 1:
            idx = [i for i, ws in enumerate(cfg.workspaces) if ws.name == name]
            add(f"workspaces[{idx[1]}].name", f"duplicate workspace name {name!r} (also workspaces[{idx[0]}])")

    duplicated = {name for name, n in Counter(ws.name for ws in cfg.workspaces).items() if n > 1}
    hosts: dict[str, str] = {}
    if cfg.control_plane.enabled:
        hosts[cfg.control_plane_host] = "controlPlane.host"
    namespaces: dict[str, str] = dict(cfg.reserved_namespaces)
    server_ids: dict[str, str] = {}
    for i, ws in enumerate(cfg.workspaces):
        path = f"workspaces[{i}]"
        if ws.name not in duplicated:
            host = cfg.host_of(ws)
            if host in hosts:
                add(f"{path}.host", f"host {host} is already used by {hosts[host]}")
            hosts.setdefault(host, f"{path}.host")
            for ns in (cfg.namespace_of(ws), cfg.runner_namespace_of(ws)):
                if ns in namespaces:
                    add(f"{path}.name", f"namespace {ns} collides with {namespaces[ns]}")
                namespaces.setdefault(ns, path)

        # The server ID is what separates tenants' secrets on AWS (the `zenml` tag): never shared.
        server_id = cfg.server_id_of(ws)
        if server_id in server_ids and (ws.pro is not None or ws.name not in duplicated):
            key = f"{path}.pro.workspaceId" if ws.pro is not None else f"{path}.name"
            add(key, f"server ID {server_id} is already the ID of {server_ids[server_id]}: each workspace needs its own "
                     "(create the workspace in the control plane and copy its ID)")
        server_ids.setdefault(server_id, path)

        edition = cfg.edition_of(ws)
        if edition is Edition.pro and ws.pro is None:
            add(f"{path}.pro", "a Pro workspace needs its enrollment values (organizationId, workspaceId, enrollmentKey)")
        if edition is Edition.oss and ws.pro is not None:
            add(f"{path}.pro", "enrollment values are only used by Pro workspaces (set edition: pro)")
        if ws.runner.enabled and edition is Edition.oss:
            add(f"{path}.runner.enabled", "the workload manager that runs pipelines from the UI needs a Pro workspace")
        if ws.max_replicas is not None and ws.max_replicas < (ws.replicas or cfg.defaults.server_replicas):
            add(f"{path}.maxReplicas", "must be at least replicas")
        ext = ws.database.external if ws.database.mode is DatabaseMode.external else None
        if ext is not None and ext.verify_server_certificate and not ext.ca_certificate:
            # Without a CA the MySQL client does not verify at all (PyMySQL falls back to CERT_NONE).
            add(
                f"{path}.database.external.caCertificate",
                "give the database's CA certificate: without it the server's certificate is not verified "
                "(or set verifyServerCertificate: false to accept that explicitly)",
            )
        if ext is not None and not ext.verify_server_certificate and cfg.profile.value == "production":
            # Every layout: the rule is about the profile, not where the control plane runs.
            add(f"{path}.database.external.verifyServerCertificate", "production stacks verify the database certificate")
        if ws.secret_store.type is SecretStoreType.sql and ws.secret_store.vault is not None:
            add(f"{path}.secretStore.vault", "vault settings are only used with type hashicorp")
        # CIDR blocks are checked by their field type (stack_config.base.Cidr).
        host = cfg.host_of(ws)
        if len(host) > 253:
            add(f"{path}.host" if ws.host else f"{path}.name",
                f"the host name {ws.name}.<domain> is {len(host)} characters; DNS allows 253 (shorten the name or the domain)")

    if cfg.control_plane.enabled and len(cfg.control_plane_host) > 253:
        add("controlPlane.host" if cfg.control_plane.host else "domain",
            f"the control plane host zenml.<domain> is {len(cfg.control_plane_host)} characters; DNS allows 253")

    cp = cfg.control_plane
    # `helm pull` names the archive <chart>-<version>.tgz: a name that carries another version is a drift between
    # the chart and the image tags (which follow chart.version). A renamed archive without a version is not checked.
    archive_versions = re.findall(r"[0-9]+\.[0-9]+\.[0-9]+", (cp.chart.archive or "").rsplit("/", 1)[-1])
    if cp.enabled and cp.chart.archive and archive_versions and cp.chart.version not in archive_versions:
        add("controlPlane.chart.version",
            f"the archive {cp.chart.archive} does not look like chart {cp.chart.version}: set chart.version to the "
            "archive's version (the API and dashboard image tags follow it)")
    if cp.enabled and cp.database.mode is DatabaseMode.external and cp.database.external is not None:
        if cp.database.external.port not in (None, 5432):
            add("controlPlane.database.external.port",
                "the control plane chart's documented database values have no port (host, username, password, "
                "database): use an external PostgreSQL on 5432")
    if cfg.control_plane.enabled and cfg.control_plane.database.mode is DatabaseMode.external:
        ext = cfg.control_plane.database.external
        if ext is not None and not isinstance(ext.password, SecureValue):
            add(
                "controlPlane.database.external.password",
                "the control plane chart takes the password as a value: set it with `pulumi config set --secret`",
            )
    return problems
