"""`init`: write a new, commented stack file from a layout template; flags for everything, prompts only on a TTY."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import typer

from cli_app import options
from cli_app.common import EXIT_INVALID, die, err, is_interactive, output_file, write_text

NAMESPACE = "zenml-platform"

LAYOUTS = ("self-hosted", "hybrid", "saas")
# Old layout names still accepted: name -> (layout, air gap). `airgapped` said layout and network at once.
DEPRECATED_LAYOUTS = {"airgapped": ("self-hosted", True)}
LAYOUT_HELP = {
    "self-hosted": "Everything in your cluster, optional Pro control plane here.",
    "hybrid": "Workspaces in your cluster, enrolled with the ZenML-hosted control plane (Pro).",
    "saas": "The operator side: the Pro control plane (and optionally workspaces) in this cluster.",
}
# Key paths a validation problem may name -> the init flag that sets them.
FLAGS = {
    "domain": "--domain",
    "profile": "--profile",
    "zenmlVersion": "--zenml-version",
    "registryMirror": "--mirror",
    "registryMirror.registry": "--mirror",
    "airGap.enabled": "--air-gap",
    "tls": "--tls",
    "tls.mode": "--tls",
    "controlPlane.chart.archive": "--chart-archive",
    "controlPlane.enabled": "--control-plane",
    "workspaces": "--workspace",
    "workspaces[0].name": "--workspace",
    "workspaces[0].pro": "--pro-organization-id/--pro-workspace-id",
    "workspaces[0].edition": "--control-plane",
}


@dataclass
class InitOptions:
    layout: str
    domain: str
    profile: str = "small"
    zenml_version: str = "0.98.0"
    workspace: Optional[str] = "default"
    mirror: Optional[str] = None
    air_gap: bool = False
    tls: str = "internal-ca"
    issuer: Optional[str] = None
    tls_secret: Optional[str] = None
    kubeconfig: Optional[str] = None
    kube_context: Optional[str] = None
    control_plane: bool = False
    chart_archive: Optional[str] = None
    pro_organization_id: Optional[str] = None
    pro_workspace_id: Optional[str] = None
    enrollment_key_secret: Optional[str] = None
    extra: dict = field(default_factory=dict)


def build_document(o: InitOptions, stack: str):
    """The stack file as a ruamel document: every value set through the YAML library (quoted as needed, so a
    flag can never add or change a key), every choice commented, in the order a reader needs them."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from cli_app.workspaces import _to_rt, build_workspace

    cp = o.layout == "saas" or (o.layout == "self-hosted" and o.control_plane)
    doc = CommentedMap()
    doc.yaml_set_start_comment(
        f"Stack `{stack}`: the {o.layout} layout{', air-gapped' if o.air_gap else ''}. {LAYOUT_HELP[o.layout]}\n"
        f"Written by `zenml-platform init`; check it with `zenml-platform validate -s {stack}` and see every key in\n"
        "docs/configuration.md. Secrets never go here in clear: `pulumi config set --secret --path <key.path> VALUE -s "
        f"{stack}`,\nor reference an existing Kubernetes Secret with {{secretKeyRef: {{name, key}}}}."
    )
    config = CommentedMap()
    doc["config"] = config

    def put(key: str, value, comment: Optional[str] = None) -> None:
        full = f"{NAMESPACE}:{key}"
        config[full] = value
        if comment:
            config.yaml_set_comment_before_after_key(full, before=comment, indent=2)

    def mapping(**items) -> CommentedMap:
        m = CommentedMap()
        for k, v in items.items():
            if v is not None:
                m[k] = v
        return m

    put("scenario", o.layout, "Where the control plane runs: self-hosted (here, or none for OSS), hybrid (ZenML-hosted), saas.")
    if o.air_gap:
        put("airGap", mapping(enabled=True), "No internet: images from registryMirror, a local chart, no ACME, no runner internet egress.")
    put("target", "kubernetes")
    put("profile", o.profile, "dev: disposable, 1 replica, no backups | small: backups | production: 2+ replicas, data protected and retained.")
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    # Quoted so a version such as 1.0 stays a string for every YAML reader.
    put("zenmlVersion", DoubleQuotedScalarString(o.zenml_version) if isinstance(o.zenml_version, str) else o.zenml_version)
    put("domain", o.domain, "Every host name is <name>.<domain>; point it at your ingress controller.")
    if o.kubeconfig or o.kube_context:
        put("kubernetes", mapping(kubeconfig=o.kubeconfig, context=o.kube_context), "Which cluster: default is the current kube context.")
    tls = mapping(mode=o.tls)
    if o.tls == "cert-manager":
        tls["certManager"] = mapping(issuerName=o.issuer)
    if o.tls == "provided":
        tls["provided"] = mapping(secretName=o.tls_secret)
    put("tls", tls, "TLS for every ingress: internal-ca (a CA this stack creates), cert-manager, provided, or disabled.")
    if o.mirror:
        put("registryMirror", mapping(registry=o.mirror), "Every image is rewritten to this registry (`zenml-platform images` lists what to copy there).")
    if cp:
        control = mapping(enabled=True)
        if o.chart_archive:
            control["chart"] = mapping(archive=o.chart_archive)
        put("controlPlane", control, "The Pro control plane runs in this stack (users, organizations, RBAC).")
    trailing = None
    if o.layout == "hybrid" and not cp:
        trailing = "Workspaces enroll with the ZenML-hosted control plane (controlPlane.external.apiUrl, default cloudapi.zenml.io)."
    if o.workspace:
        ws = build_workspace(
            o.workspace,
            pro_organization_id=o.pro_organization_id,
            pro_workspace_id=o.pro_workspace_id,
            enrollment_key_secret=o.enrollment_key_secret if (o.pro_organization_id or o.pro_workspace_id) else None,
        )
        note = "Workspaces: one server, database and secret store each. Add more with `zenml-platform workspace add`."
        if "pro" in ws:
            note += "\nThe enrollment key comes from the control plane; create that Kubernetes Secret before `up`."
        put("workspaces", CommentedSeq([_to_rt(ws)]), (trailing + "\n" + note) if trailing else note)
    else:
        last = f"No workspace yet: create them in the control plane, then `zenml-platform workspace add NAME --pro-... -s {stack}`."
        _end_comment(config, (trailing + "\n" + last) if trailing else last)
    return doc


def _end_comment(mapping, text: str) -> None:
    """A comment after the last key of `mapping`, at the indentation of its keys."""
    from ruamel.yaml.comments import CommentedMap

    last = list(mapping)[-1]
    value = mapping[last]
    if isinstance(value, CommentedMap) and len(value):
        _end_comment(value, text)  # after the nested block's last line
        return
    mapping.yaml_set_comment_before_after_key(last, after=text, after_indent=2)


def render(o: InitOptions, stack: str) -> str:
    """The stack file text (see build_document)."""
    from cli_app.workspaces import dump_rt

    return dump_rt(build_document(o, stack))


def init(
    stack: options.Stack = None,
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write this file instead (any path)."),
    layout: Optional[str] = typer.Option(None, "--layout", help="self-hosted | hybrid | saas (airgapped: deprecated, = self-hosted --air-gap)."),
    air_gap: bool = typer.Option(False, "--air-gap", help="No internet: needs --mirror; a local chart (--chart-archive) with --control-plane."),
    domain: Optional[str] = typer.Option(None, "--domain", help="Parent domain of every host, e.g. zenml.corp.internal."),
    profile: str = typer.Option("small", "--profile", help="dev | small | production."),
    zenml_version: str = typer.Option("0.98.0", "--zenml-version", help="ZenML server version."),
    workspace: Optional[str] = typer.Option(None, "--workspace", help="First workspace name (default: default; saas: none)."),
    no_workspace: bool = typer.Option(False, "--no-workspace", help="Start without a workspace."),
    mirror: Optional[str] = typer.Option(None, "--mirror", help="Registry mirror host[:port][/path] (required with --air-gap)."),
    tls: str = typer.Option("internal-ca", "--tls", help="internal-ca | cert-manager | provided | disabled."),
    issuer: Optional[str] = typer.Option(None, "--issuer", help="cert-manager ClusterIssuer name (--tls cert-manager)."),
    tls_secret: Optional[str] = typer.Option(None, "--tls-secret", help="Existing TLS Secret name (--tls provided)."),
    kubeconfig: Optional[str] = typer.Option(None, "--kubeconfig", help="kubeconfig path (default: the ambient one)."),
    kube_context: Optional[str] = typer.Option(None, "--kube-context", help="kubeconfig context (default: current)."),
    control_plane: bool = typer.Option(False, "--control-plane", help="self-hosted: run the Pro control plane in this stack."),
    chart_archive: Optional[str] = typer.Option(None, "--chart-archive", help="Local control plane chart .tgz (--air-gap)."),
    pro_organization_id: options.ProOrganizationId = None,
    pro_workspace_id: options.ProWorkspaceId = None,
    enrollment_key_secret: options.EnrollmentKeySecret = None,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a new commented stack file from a layout template and validate it (prompts only on a terminal)."""
    from cli_app.stack_files import check_stack_name
    from stack_config.loader import stack_file_path

    if (stack is None) == (output is None):
        die("give exactly one of --stack NAME or --output PATH")
    if stack is not None:
        check_stack_name(stack, "--stack")
        path = output_file(str(stack_file_path(stack)), "--stack")
    else:
        path = output_file(output, "--output")
    name = stack or (path.name[len("Pulumi."):-len(".yaml")] if path.name.startswith("Pulumi.") else path.stem)
    if stack is None:
        name = "".join(c if c.isalnum() or c in "-_." else "-" for c in name) or "stack"
    if path.exists() and not force:
        die(f"{path}: exists; pass --force to overwrite it")

    interactive = is_interactive()
    missing: list[str] = []

    def need(value: Optional[str], flag: str, question: str, choices: Optional[tuple] = None) -> Optional[str]:
        if value:
            return value
        if interactive:
            return typer.prompt(question + (f" ({'/'.join(choices)})" if choices else ""), err=True)
        missing.append(flag)
        return None

    layout = need(layout, "--layout", "Layout", LAYOUTS)
    if layout in DEPRECATED_LAYOUTS:
        old, (layout, gap) = layout, DEPRECATED_LAYOUTS[layout]
        err(f"warning: --layout {old} is deprecated: use --layout {layout}{' --air-gap' if gap else ''} (docs/upgrading.md)")
        air_gap = air_gap or gap
    if layout is not None and layout not in LAYOUTS:
        die(f"--layout: one of {', '.join(LAYOUTS)} (got {layout!r})")
    domain = need(domain, "--domain", "Parent domain of every host (e.g. zenml.corp.internal)")
    if interactive and not air_gap and layout != "hybrid":
        air_gap = typer.confirm("Air-gapped (no route to the internet: images from your mirror)?", default=False, err=True)
    if air_gap:
        mirror = need(mirror, "--mirror", "Registry mirror host[:port][/path]")
    if tls == "cert-manager":
        issuer = need(issuer, "--issuer", "cert-manager ClusterIssuer")
    if tls == "provided":
        tls_secret = need(tls_secret, "--tls-secret", "Existing TLS Secret name")
    ws_name = None if no_workspace else (workspace or (None if layout == "saas" or (layout == "self-hosted" and control_plane) else "default"))
    if layout == "hybrid" and ws_name:
        pro_organization_id = need(pro_organization_id, "--pro-organization-id", "Pro organization id (from the ZenML dashboard)")
        pro_workspace_id = need(pro_workspace_id, "--pro-workspace-id", f"Pro workspace id of {ws_name}")
    if missing:
        die(f"missing {', '.join(missing)} (stdin is not a terminal, so nothing is asked)")

    opts = InitOptions(
        layout=layout, domain=domain, profile=profile, zenml_version=zenml_version, workspace=ws_name,  # type: ignore[arg-type]
        mirror=mirror, air_gap=air_gap, tls=tls, issuer=issuer, tls_secret=tls_secret, kubeconfig=kubeconfig, kube_context=kube_context,
        control_plane=control_plane, chart_archive=chart_archive, pro_organization_id=pro_organization_id,
        pro_workspace_id=pro_workspace_id, enrollment_key_secret=enrollment_key_secret,
    )
    text = render(opts, name)

    from stack_config import ConfigError, load_from_mapping
    from stack_config.yamlfile import StackFileError, parse

    try:
        # Read back what will be written, with the loader's own reader: the file validates as it is on disk.
        doc = parse(text, path.name) or {}
        load_from_mapping(doc.get("config") or {})
    except StackFileError as exc:  # pragma: no cover - the document is built by the YAML library
        die(f"{path.name}: the options give an unreadable stack ({exc.reason}); nothing written")
    except ConfigError as exc:
        lines = [str(p) + (f" (flag {FLAGS[p.path]})" if p.path in FLAGS else "") for p in exc.problems]
        die("\n".join([f"{path.name}: the options give an invalid stack; nothing written"] + lines), EXIT_INVALID)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        die(f"{path.parent}: cannot create the directory: {exc.strerror or type(exc).__name__}")
    write_text(path, text, "stack file")
    err(f"wrote {path} ({layout}{', air-gapped' if air_gap else ''}, profile {profile}); next: zenml-platform plan {'-s ' + name if stack else '-f ' + str(path)}, then preview")
