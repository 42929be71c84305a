"""The building blocks every layout program assembles (scenarios/self_hosted.py, hybrid.py, saas.py):

- `trust(cfg)`: the stack's certificate authorities (ingress CA, database CA) and what servers trust;
- `control_plane(...)`: the Pro control plane with its namespace, database and traffic policy;
- `workspaces(...)`: one `Workspace` per configured workspace, on the target's backend;
- `stack_outputs(...)`: what `pulumi stack output` shows.

Component args come from scenarios/args.py (the one translation of the config); nothing here builds a resource
that a component could own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from components.backend import Backend
from components.context import DeployContext
from components.control_plane_platform import ControlPlanePlatform
from components.internal_ca import InternalCertificateAuthority
from components.workspace import Workspace
from scenarios import args
from stack_config.model import DatabaseMode, StackConfig, TlsMode


@dataclass
class Trust:
    """The stack's CAs and the PEM bundles its servers trust beyond the system store."""

    ingress_ca: Optional[InternalCertificateAuthority]
    database_ca: Optional[InternalCertificateAuthority]
    ca_bundle: Optional[pulumi.Input[str]]  # what clients trust for this stack's hosts (stack output caBundle)
    control_plane_trust: Optional[pulumi.Input[str]]  # the stack's CA and the corporate CAs
    server_trust: Optional[pulumi.Input[str]]  # the stack's CA only where servers call in-stack TLS hosts


def trust(cfg: StackConfig) -> Trust:
    ingress_ca: Optional[InternalCertificateAuthority] = None
    if cfg.tls.mode is TlsMode.internal_ca:
        ingress_ca = InternalCertificateAuthority("ingress-ca", args.ingress_ca(cfg))
    database_ca = database_ca_of(cfg)
    trusted_ca: Optional[pulumi.Input[str]] = None
    if ingress_ca is not None:
        trusted_ca = ingress_ca.cert_pem
    elif cfg.tls.mode is TlsMode.provided and cfg.tls.provided and cfg.tls.provided.ca_certificate:
        trusted_ca = cfg.tls.provided.ca_certificate
    corporate = cfg.tls.trusted_ca_certificates
    return Trust(
        ingress_ca=ingress_ca,
        database_ca=database_ca,
        ca_bundle=trusted_ca,
        control_plane_trust=_join_pem(trusted_ca, corporate),
        # Servers trust the internal CA only where they call in-stack TLS endpoints (this stack's control plane).
        server_trust=_join_pem(trusted_ca if cfg.control_plane.enabled else None, corporate),
    )


def workspaces(cfg: StackConfig, ctx: DeployContext, t: Trust, backend: Backend) -> dict[str, Any]:
    """Every workspace on the target's backend; returns the `workspaces` (and `adminCredentials`) outputs."""
    summaries: dict[str, Any] = {}
    admins: dict[str, Any] = {}
    for i, ws in enumerate(cfg.workspaces):
        component = Workspace(
            ws.name,
            args.workspace(cfg, i, ctx, ingress_ca=t.ingress_ca, database_ca=t.database_ca, trusted_ca_pem=t.server_trust),
            ctx,
            backend=backend,
        )
        summaries[ws.name] = workspace_output(cfg, i, component)
        if component.admin_password is not None:
            admins[ws.name] = {"username": component.admin_username, "password": component.admin_password}
    out: dict[str, Any] = {"workspaces": summaries}
    if admins:
        # One secret output, so `workspaces` stays readable without --show-secrets.
        out["adminCredentials"] = pulumi.Output.secret(admins)
    return out


def workspace_output(cfg: StackConfig, index: int, w: Workspace) -> dict[str, Any]:
    """The `workspaces.<name>` stack output, from the component's typed outputs."""
    ws = cfg.workspaces[index]
    out: dict[str, Any] = {
        "url": w.url,
        "edition": cfg.edition_of(ws).value,
        "version": cfg.version_of(ws),
        "namespace": w.namespace,
        "runnerNamespace": w.runner_namespace,
        "database": {"mode": ws.database.mode.value, "host": w.database.host, "tls": w.database.tls},
        "secretStore": w.secret_store_kind,
    }
    cloud = w.services.outputs
    if cloud is not None:
        out["cloud"] = cloud.stack_output()
        if ws.database.mode is DatabaseMode.managed and cloud.database is not None:
            # The managed host is known only after create; name the instance so the output is known in preview.
            out["database"] = {"mode": "managed", **cloud.stack_output()["database"], "tls": w.database.tls}
    return out


def stack_outputs(cfg: StackConfig, ctx: DeployContext, t: Trust, scenario: str, parts: dict[str, Any]) -> dict[str, Any]:
    outputs = dict(parts)
    outputs["caBundle"] = t.ca_bundle
    outputs["images"] = dict(sorted(ctx.images.seen.items()))
    outputs["scenario"] = scenario
    outputs["nextSteps"] = next_steps(cfg, outputs)
    return outputs


def control_plane(cfg: StackConfig, ctx: DeployContext, t: Trust, backend: Backend) -> dict[str, Any]:
    """The Pro control plane in this cluster; returns the `controlPlane` stack output."""
    plane = ControlPlanePlatform(
        "control-plane",
        args.control_plane(cfg, ctx, ingress_ca=t.ingress_ca, database_ca=t.database_ca, trusted_ca_pem=t.control_plane_trust),
        ctx,
        backend=backend,
    )
    out: dict[str, Any] = {"url": plane.url, "namespace": plane.namespace, "database": {"mode": plane.database_mode}}
    if plane.admin_password is not None:
        out["adminPassword"] = pulumi.Output.secret(plane.admin_password)
    return out


def control_plane_namespace_and_database(cfg: StackConfig, ctx: DeployContext, database_ca, backend: Optional[Backend] = None):
    """The control plane without the vendor chart: its namespace, database and traffic policy, the same component
    and resources the layouts deploy. tests/node/control_plane_database_program.py deploys exactly this to test the
    database's backup and restore where the chart's private images cannot run."""
    a = args.control_plane(cfg, ctx, ingress_ca=None, database_ca=database_ca, trusted_ca_pem=None)
    a.chart = None
    return ControlPlanePlatform("control-plane", a, ctx, backend=backend)


def database_ca_of(cfg: StackConfig) -> Optional[InternalCertificateAuthority]:
    """The internal CA of the in-cluster databases that serve TLS (workspaces' and the control plane's), if any."""
    needs_db_ca = any(
        ws.database.mode is DatabaseMode.in_cluster and ws.database.in_cluster.tls for ws in cfg.workspaces
    ) or (cfg.control_plane.enabled and cfg.control_plane.database.mode is DatabaseMode.in_cluster
          and cfg.control_plane.database.in_cluster.tls)
    return (
        InternalCertificateAuthority("database-ca", args.database_ca(cfg))
        if needs_db_ca
        else None
    )


def _join_pem(*parts: Optional[pulumi.Input[str]]) -> Optional[pulumi.Input[str]]:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return pulumi.Output.all(*present).apply(lambda pems: "".join(p.strip() + "\n" for p in pems))


def next_steps(cfg: StackConfig, outputs: dict[str, Any]) -> list[str]:
    steps = []
    if outputs.get("caBundle") is not None:
        steps.append("pulumi stack output caBundle > zenml-ca.pem  # trust it: export REQUESTS_CA_BUNDLE=$PWD/zenml-ca.pem")
    if cfg.control_plane.enabled:
        steps.append("pulumi stack output controlPlane --show-secrets  # admin password for the first login")
    ca = " --ssl-ca-cert zenml-ca.pem" if outputs.get("caBundle") is not None else ""
    for ws in cfg.workspaces:
        steps.append(f"zenml login {cfg.url_of(ws)}{ca}")
    if outputs.get("adminCredentials") is not None:
        steps.append("pulumi stack output adminCredentials --show-secrets  # the generated admin of each OSS workspace")
    return steps
