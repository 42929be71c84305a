"""The zenml-platform policy rules as plain functions, so tests run them over planned resources without an engine.

A resource is (type, props[, urn, name, parent, secret_outputs]); props are the resource's inputs. Values that
Pulumi keeps secret arrive as the string "[secret]" (offline plans) or are named in `secret_outputs`
(`additionalSecretOutputs` in the engine, where the policy sees them unwrapped); a value not known yet during a
preview is "[unknown]" or Pulumi's unknown sentinel. Every rule returns messages; none raises on odd input.

This module imports nothing from the project or from pulumi, so the policy pack (policies/__main__.py) runs it
in its own virtualenv.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

SECRET = "[secret]"
UNKNOWN = "[unknown]"
_UNKNOWN_SENTINELS = {
    UNKNOWN,
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
}
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIALS?|PRIVATE_?KEY|API_?KEY|ENCRYPTION_?KEY|_KEY)$", re.I)
SECRET_VALUE_KEY = re.compile(r"(password|passwd|secret|token|credentials?|privatekey|private_key|apikey|api_key|"
                              r"encryptionkey|clientsecret|dockerconfigjson|\.key)$", re.I)
PRIVATE_KEY_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
DATABASE_PORTS = {3306, 5432, 33060}
PUBLIC_CIDRS = {"0.0.0.0/0", "::/0"}
PUBLIC_REGISTRIES = ("docker.io", "registry-1.docker.io", "index.docker.io", "ghcr.io", "quay.io", "gcr.io",
                     "public.ecr.aws", "registry.k8s.io", "mcr.microsoft.com")
# Certificates and CA bundles are public material: a Secret or ConfigMap may hold them without secret marking.
PUBLIC_KEYS = re.compile(r"(^|[./-])(ca|tls|cert)[.-]?(crt|pem|bundle)?$|\.crt$|ca-bundle", re.I)


@dataclass
class Resource:
    type: str
    props: Mapping[str, Any]
    urn: str = ""
    name: str = ""
    parent: Optional[str] = None
    secret_outputs: tuple[str, ...] = ()


@dataclass
class Rule:
    name: str
    description: str
    mandatory: bool
    resource: Optional[Callable[[Resource, Mapping[str, Any]], list[str]]] = None
    stack: Optional[Callable[[list[Resource], Mapping[str, Any]], list[tuple[Optional[Resource], str]]]] = None
    config_schema: dict[str, Any] = field(default_factory=dict)


# --- helpers -------------------------------------------------------------------------------------------------------


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWN_SENTINELS


def is_secret(value: Any) -> bool:
    return value == SECRET


def get(d: Any, *path: Any, default: Any = None) -> Any:
    for p in path:
        if isinstance(d, Mapping) and p in d:
            d = d[p]
        elif isinstance(d, (list, tuple)) and isinstance(p, int) and -len(d) <= p < len(d):
            d = d[p]
        else:
            return default
    return d


def kind_of(type_token: str) -> Optional[str]:
    """`kubernetes:apps/v1:Deployment` -> `Deployment`; None for anything that is not a Kubernetes object."""
    if not type_token.startswith("kubernetes:") or type_token.startswith(("kubernetes:helm.sh/", "pulumi:")):
        return None
    parts = type_token.split(":")
    return parts[2] if len(parts) == 3 else None


def pod_specs(r: Resource) -> list[tuple[str, Mapping[str, Any]]]:
    kind = kind_of(r.type)
    p = r.props
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"):
        spec = get(p, "spec", "template", "spec")
        return [("spec.template.spec", spec)] if isinstance(spec, Mapping) else []
    if kind == "CronJob":
        spec = get(p, "spec", "jobTemplate", "spec", "template", "spec")
        return [("spec.jobTemplate.spec.template.spec", spec)] if isinstance(spec, Mapping) else []
    if kind == "Pod":
        spec = get(p, "spec")
        return [("spec", spec)] if isinstance(spec, Mapping) else []
    return []


def containers(spec: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for field_name in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(field_name) or []):
            if isinstance(c, Mapping):
                yield f"{field_name}[{i}]({c.get('name', '?')})", c


def label(r: Resource) -> str:
    meta = r.props.get("metadata") if isinstance(r.props, Mapping) else None
    name = get(meta, "name") if isinstance(meta, Mapping) else None
    ns = get(meta, "namespace") if isinstance(meta, Mapping) else None
    ident = "/".join(str(x) for x in (ns, name) if x and not is_unknown(x)) or r.name
    return f"{kind_of(r.type) or r.type} {ident}"


def walk(value: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value


def registry_of(image: str) -> Optional[str]:
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None  # Docker Hub shorthand (nginx, zenmldocker/zenml-server)


def is_public_database_port(port: Any) -> bool:
    try:
        return int(float(port)) in DATABASE_PORTS
    except (TypeError, ValueError):
        return False


def _port_range_has_db(from_port: Any, to_port: Any) -> bool:
    try:
        lo, hi = int(float(from_port)), int(float(to_port))
    except (TypeError, ValueError):
        return False
    if lo == -1 or hi == -1:  # all ports
        return True
    return any(lo <= p <= hi for p in DATABASE_PORTS)


# --- mandatory rules -----------------------------------------------------------------------------------------------


def no_public_database(r: Resource, config: Mapping[str, Any]) -> list[str]:
    p, out = r.props, []
    if r.type in ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"):
        if p.get("publiclyAccessible") is True:
            out.append(f"{r.name}: RDS publiclyAccessible is true; databases stay on private subnets")
    elif r.type == "gcp:sql/databaseInstance:DatabaseInstance":
        ipc = get(p, "settings", "ipConfiguration", default={}) or {}
        if ipc.get("ipv4Enabled", True) is True:
            out.append(f"{r.name}: Cloud SQL has a public IPv4 address (settings.ipConfiguration.ipv4Enabled); use private IP")
        for net in ipc.get("authorizedNetworks") or []:
            if get(net, "value") in PUBLIC_CIDRS:
                out.append(f"{r.name}: Cloud SQL authorises {get(net, 'value')}")
    elif r.type == "aws:ec2/securityGroup:SecurityGroup":
        for i, rule in enumerate(p.get("ingress") or []):
            cidrs = set(rule.get("cidrBlocks") or []) | set(rule.get("ipv6CidrBlocks") or [])
            if cidrs & PUBLIC_CIDRS and _port_range_has_db(rule.get("fromPort"), rule.get("toPort")):
                out.append(f"{r.name}: ingress[{i}] opens a database port to {sorted(cidrs & PUBLIC_CIDRS)}")
    elif r.type in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:ec2/securityGroupRule:SecurityGroupRule"):
        if r.type.endswith("SecurityGroupRule") and p.get("type") != "ingress":
            return out
        cidrs = {p.get("cidrIpv4"), p.get("cidrIpv6"), *(p.get("cidrBlocks") or []), *(p.get("ipv6CidrBlocks") or [])}
        if cidrs & PUBLIC_CIDRS and _port_range_has_db(p.get("fromPort"), p.get("toPort")):
            out.append(f"{r.name}: opens a database port to {sorted(c for c in cidrs & PUBLIC_CIDRS)}")
    elif kind_of(r.type) == "Service":
        svc_type = get(p, "spec", "type", default="ClusterIP")
        if svc_type in ("LoadBalancer", "NodePort"):
            ports = get(p, "spec", "ports", default=[]) or []
            if any(is_public_database_port(get(x, "port")) or is_public_database_port(get(x, "targetPort")) for x in ports):
                out.append(f"{label(r)}: a {svc_type} Service exposes a database port outside the cluster")
    return out


def storage_encrypted(r: Resource, config: Mapping[str, Any]) -> list[str]:
    p, out = r.props, []
    if r.type in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"):
        if p.get("storageEncrypted") is not True and not p.get("replicateSourceDb"):
            out.append(f"{r.name}: storageEncrypted is not true")
    elif r.type == "aws:ebs/volume:Volume":
        if p.get("encrypted") is not True:
            out.append(f"{r.name}: EBS volume not encrypted")
    elif r.type == "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        algos = [get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in p.get("rules") or []]
        if not algos or not all(a in ("aws:kms", "aws:kms:dsse", "AES256") for a in algos):
            out.append(f"{r.name}: bucket encryption rule without an SSE algorithm")
    elif r.type == "gcp:sql/databaseInstance:DatabaseInstance":
        ssl = get(p, "settings", "ipConfiguration", "sslMode")
        if ssl not in (None, "ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") or ssl is None:
            out.append(f"{r.name}: Cloud SQL accepts unencrypted connections (settings.ipConfiguration.sslMode={ssl})")
    elif r.type == "aws:rds/parameterGroup:ParameterGroup":
        pass  # TLS enforcement is checked through the instance's parameter group by the component's own tests
    return out


def no_plaintext_secrets(r: Resource, config: Mapping[str, Any]) -> list[str]:
    p, out = r.props, []
    kind = kind_of(r.type)
    for _where, spec in pod_specs(r):
        for cwhere, c in containers(spec):
            for e in c.get("env") or []:
                if not isinstance(e, Mapping) or "value" not in e:
                    continue
                name, value = str(e.get("name", "")), e.get("value")
                if not isinstance(value, str) or not value or is_unknown(value) or is_secret(value):
                    if is_secret(value):
                        out.append(f"{label(r)} {cwhere}: env {name} carries a secret value inline; use secretKeyRef")
                    continue
                if PRIVATE_KEY_PEM.search(value):
                    out.append(f"{label(r)} {cwhere}: env {name} holds a private key in clear")
                elif SECRET_NAME.search(name) and not value.startswith("/"):
                    out.append(f"{label(r)} {cwhere}: env {name} looks like a secret set in clear; use valueFrom.secretKeyRef")
    if kind == "ConfigMap":
        for key, value in (p.get("data") or {}).items() if isinstance(p.get("data"), Mapping) else []:
            if isinstance(value, str) and PRIVATE_KEY_PEM.search(value):
                out.append(f"{label(r)}: data.{key} holds a private key; ConfigMaps are not secret")
            elif SECRET_VALUE_KEY.search(str(key)) and not PUBLIC_KEYS.search(str(key)):
                out.append(f"{label(r)}: data.{key} looks like a secret; ConfigMaps are not secret")
    if kind == "Secret":
        for fld in ("stringData", "data"):
            data = p.get(fld)
            if data is None or is_secret(data) or fld in r.secret_outputs or is_unknown(data):
                continue
            if isinstance(data, Mapping):
                clear = [k for k, v in data.items() if not is_secret(v) and not PUBLIC_KEYS.search(str(k))]
                if clear:
                    out.append(f"{label(r)}: {fld} keys {sorted(clear)} are not marked secret and would sit in Pulumi "
                               "state in clear (additional_secret_outputs / Output.secret)")
    if r.type == "kubernetes:helm.sh/v3:Release" or r.type.startswith("kubernetes:helm.sh/"):
        values = p.get("values")
        if values is not None and not is_secret(values) and "values" not in r.secret_outputs:
            for path, value in walk(values):
                leaf = path.rsplit(".", 1)[-1]
                if isinstance(value, str) and value and not is_secret(value) and not is_unknown(value) and (
                    SECRET_VALUE_KEY.search(leaf.replace("[", "").replace("]", "")) or PRIVATE_KEY_PEM.search(value)
                ):
                    out.append(f"{r.name}: chart value {path} is a secret in clear; mark the values secret or pass a "
                               "Secret reference")
    return out


def _container_limits(r: Resource, config: Mapping[str, Any]) -> list[str]:
    out = []
    for _, spec in pod_specs(r):
        for cwhere, c in containers(spec):
            limits = get(c, "resources", "limits", default={}) or {}
            requests = get(c, "resources", "requests", default={}) or {}
            missing = [k for k in ("cpu", "memory") if not limits.get(k)]
            if missing:
                out.append(f"{label(r)} {cwhere}: no {'/'.join(missing)} limit")
            if not requests.get("memory") or not requests.get("cpu"):
                out.append(f"{label(r)} {cwhere}: no cpu/memory request")
    if r.type.startswith("kubernetes:helm.sh/"):
        values = r.props.get("values")
        if isinstance(values, Mapping):
            res = values.get("resources")
            if not isinstance(res, Mapping) or not get(res, "limits", "memory"):
                out.append(f"{r.name}: chart values set no resources.limits.memory")
    return out


def containers_have_limits(r: Resource, config: Mapping[str, Any]) -> list[str]:
    return _container_limits(r, config)


def containers_not_root(r: Resource, config: Mapping[str, Any]) -> list[str]:
    out = []
    for _, spec in pod_specs(r):
        pod_sc = spec.get("securityContext") or {}
        if spec.get("hostPID") or spec.get("hostNetwork") or spec.get("hostIPC"):
            out.append(f"{label(r)}: shares a host namespace (hostPID/hostNetwork/hostIPC)")
        for cwhere, c in containers(spec):
            sc = c.get("securityContext") or {}
            non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            if non_root is not True:
                out.append(f"{label(r)} {cwhere}: runAsNonRoot is not true")
            if uid is not None and not is_unknown(uid) and int(float(uid)) == 0:
                out.append(f"{label(r)} {cwhere}: runAsUser 0")
            if sc.get("privileged") is True:
                out.append(f"{label(r)} {cwhere}: privileged")
            if sc.get("allowPrivilegeEscalation", True) is not False:
                out.append(f"{label(r)} {cwhere}: allowPrivilegeEscalation is not false")
    if r.type.startswith("kubernetes:helm.sh/"):
        values = r.props.get("values")
        if isinstance(values, Mapping):
            if get(values, "podSecurityContext", "runAsNonRoot") is not True:
                out.append(f"{r.name}: chart values do not set podSecurityContext.runAsNonRoot")
            if get(values, "securityContext", "allowPrivilegeEscalation") is not False:
                out.append(f"{r.name}: chart values do not set securityContext.allowPrivilegeEscalation false")
    return out


def _namespace_name(r: Resource) -> Any:
    return get(r.props, "metadata", "name")


def _parent_chain(r: Resource, by_urn: Mapping[str, Resource]) -> list[str]:
    chain, parent = [], r.parent
    while parent and parent not in chain:
        chain.append(parent)
        parent = by_urn[parent].parent if parent in by_urn else None
    return chain


def _policies_for(ns: Resource, resources: list[Resource]) -> list[Resource]:
    """NetworkPolicies in a namespace: by namespace name, or (name unknown in a preview) by a shared parent."""
    name = _namespace_name(ns)
    by_urn = {r.urn: r for r in resources if r.urn}
    ns_parents = set(_parent_chain(ns, by_urn)[:1])
    out = []
    for r in resources:
        if kind_of(r.type) != "NetworkPolicy":
            continue
        np_ns = get(r.props, "metadata", "namespace")
        if name and not is_unknown(name) and np_ns == name:
            out.append(r)
        elif (is_unknown(np_ns) or np_ns is None) and ns_parents & set(_parent_chain(r, by_urn)):
            out.append(r)
    return out


def _is_default_deny(np: Resource, direction: str) -> bool:
    spec = np.props.get("spec") or {}
    selector = spec.get("podSelector") or {}
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        return False
    return direction in (spec.get("policyTypes") or []) and not spec.get(direction.lower())


def runner_namespaces_isolated(resources: list[Resource], config: Mapping[str, Any]) -> list[tuple[Optional[Resource], str]]:
    out: list[tuple[Optional[Resource], str]] = []
    for ns in resources:
        if kind_of(ns.type) != "Namespace":
            continue
        labels = get(ns.props, "metadata", "labels", default={}) or {}
        name = str(_namespace_name(ns) or ns.name)
        if labels.get("zenml-platform.io/role") != "runners" and not name.endswith("-runners"):
            continue
        policies = _policies_for(ns, resources)
        for direction in ("Ingress", "Egress"):
            if not any(_is_default_deny(p, direction) for p in policies):
                out.append((ns, f"runner namespace {name} has no default-deny {direction} NetworkPolicy"))
    return out


def runner_internet_egress(resources: list[Resource], config: Mapping[str, Any]) -> list[tuple[Optional[Resource], str]]:
    out: list[tuple[Optional[Resource], str]] = []
    for ns in resources:
        labels = get(ns.props, "metadata", "labels", default={}) or {}
        if kind_of(ns.type) != "Namespace" or labels.get("zenml-platform.io/role") != "runners":
            continue
        for p in _policies_for(ns, resources):
            for i, rule in enumerate(get(p.props, "spec", "egress", default=[]) or []):
                for peer in rule.get("to") or []:
                    cidr = get(peer, "ipBlock", "cidr")
                    if cidr in PUBLIC_CIDRS:
                        out.append((p, f"runner namespace {_namespace_name(ns)}: {label(p)} egress[{i}] allows {cidr} "
                                       "(runner.egress.allowInternet); prefer allowCidrs"))
    return out


def images_from_mirror(r: Resource, config: Mapping[str, Any]) -> list[str]:
    mirror = config.get("mirror")
    if not mirror:
        return []
    mirror = str(mirror).rstrip("/")
    out = []

    def check(where: str, image: Any) -> None:
        if not isinstance(image, str) or is_unknown(image) or not image:
            return
        if not (image == mirror or image.startswith(mirror + "/")):
            out.append(f"{where}: image {image} is not from the mirror {mirror}")

    for _, spec in pod_specs(r):
        for cwhere, c in containers(spec):
            check(f"{label(r)} {cwhere}", c.get("image"))
    if r.type.startswith("kubernetes:helm.sh/"):
        chart = r.props.get("chart")
        if isinstance(chart, str) and chart.startswith(("oci://", "http://", "https://")) and mirror.split("/")[0] not in chart:
            out.append(f"{r.name}: chart {chart} is pulled from outside the mirror")
        repo = r.props.get("repositoryOpts") or {}
        if isinstance(repo, Mapping) and repo.get("repo") and mirror.split("/")[0] not in str(repo.get("repo")):
            out.append(f"{r.name}: chart repository {repo.get('repo')} is outside the mirror")
        values = r.props.get("values")
        if isinstance(values, Mapping):
            for path, value in walk(values):
                if path.endswith(".repository") or path.endswith(".image") or path == "image":
                    check(f"{r.name} values.{path}", value)
    return out


def ingress_tls(r: Resource, config: Mapping[str, Any]) -> list[str]:
    out = []
    if kind_of(r.type) == "Ingress":
        tls_hosts = {h for t in get(r.props, "spec", "tls", default=[]) or [] for h in (t.get("hosts") or [])}
        for rule in get(r.props, "spec", "rules", default=[]) or []:
            host = rule.get("host")
            if not host or host not in tls_hosts:
                out.append(f"{label(r)}: host {host or '*'} is served without TLS")
        for t in get(r.props, "spec", "tls", default=[]) or []:
            if not t.get("secretName") and not (get(r.props, "metadata", "annotations", default={}) or {}).get(
                    "cert-manager.io/cluster-issuer"):
                out.append(f"{label(r)}: TLS entry for {t.get('hosts')} names no certificate Secret")
    if r.type.startswith("kubernetes:helm.sh/"):
        values = r.props.get("values")
        ing = get(values, "zenml", "ingress") if isinstance(values, Mapping) else None
        if isinstance(ing, Mapping) and ing.get("enabled") and get(ing, "tls", "enabled") is not True:
            out.append(f"{r.name}: chart ingress enabled without TLS")
    if r.type == "aws:lb/listener:Listener" and r.props.get("protocol") == "HTTP":
        actions = r.props.get("defaultActions") or []
        if not any(a.get("type") == "redirect" for a in actions):
            out.append(f"{r.name}: plain HTTP listener that does not redirect to HTTPS")
    return out


# --- advisory rules ------------------------------------------------------------------------------------------------


def image_tags_pinned(r: Resource, config: Mapping[str, Any]) -> list[str]:
    out = []
    for _, spec in pod_specs(r):
        for cwhere, c in containers(spec):
            image = c.get("image")
            if not isinstance(image, str) or is_unknown(image):
                continue
            last = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
                out.append(f"{label(r)} {cwhere}: image {image} is not pinned to a version or digest")
    return out


def read_only_root(r: Resource, config: Mapping[str, Any]) -> list[str]:
    return [
        f"{label(r)} {cwhere}: root filesystem is writable"
        for _, spec in pod_specs(r)
        for cwhere, c in containers(spec)
        if get(c, "securityContext", "readOnlyRootFilesystem") is not True
    ]


def capabilities_dropped(r: Resource, config: Mapping[str, Any]) -> list[str]:
    out = []
    for _, spec in pod_specs(r):
        pod_seccomp = get(spec, "securityContext", "seccompProfile", "type")
        for cwhere, c in containers(spec):
            if "ALL" not in (get(c, "securityContext", "capabilities", "drop", default=[]) or []):
                out.append(f"{label(r)} {cwhere}: capabilities not dropped (drop: [ALL])")
            if (get(c, "securityContext", "seccompProfile", "type") or pod_seccomp) not in ("RuntimeDefault", "Localhost"):
                out.append(f"{label(r)} {cwhere}: no RuntimeDefault seccomp profile")
    return out


def service_account_token(r: Resource, config: Mapping[str, Any]) -> list[str]:
    out = []
    for _, spec in pod_specs(r):
        if spec.get("automountServiceAccountToken") is not False and not spec.get("serviceAccountName"):
            out.append(f"{label(r)}: mounts the default service account's token")
    return out


def namespaces_default_deny(resources: list[Resource], config: Mapping[str, Any]) -> list[tuple[Optional[Resource], str]]:
    out: list[tuple[Optional[Resource], str]] = []
    for ns in resources:
        if kind_of(ns.type) != "Namespace":
            continue
        policies = _policies_for(ns, resources)
        name = _namespace_name(ns) or ns.name
        for direction in ("Ingress", "Egress"):
            if not any(_is_default_deny(p, direction) for p in policies):
                out.append((ns, f"namespace {name} has no default-deny {direction} NetworkPolicy"))
    return out


def namespace_pod_security(r: Resource, config: Mapping[str, Any]) -> list[str]:
    if kind_of(r.type) != "Namespace":
        return []
    labels = get(r.props, "metadata", "labels", default={}) or {}
    level = labels.get("pod-security.kubernetes.io/enforce")
    if level != "restricted":
        return [f"{label(r)}: Pod Security enforce level is {level or 'unset'}, not restricted"]
    return []


def no_external_services(r: Resource, config: Mapping[str, Any]) -> list[str]:
    if kind_of(r.type) == "Service" and get(r.props, "spec", "type") in ("LoadBalancer", "NodePort"):
        return [f"{label(r)}: {get(r.props, 'spec', 'type')} Service; expose through the TLS ingress instead"]
    return []


RULES: list[Rule] = [
    Rule("zenml-no-public-database", "Databases are never reachable from outside their network: no public RDS or "
         "Cloud SQL address, no 0.0.0.0/0 rule on a database port, no LoadBalancer/NodePort Service on one.",
         True, resource=no_public_database),
    Rule("zenml-storage-encrypted", "Managed databases and volumes encrypt data at rest; buckets have an SSE rule; "
         "Cloud SQL accepts encrypted connections only.", True, resource=storage_encrypted),
    Rule("zenml-no-plaintext-secrets", "No secret in a container's plain env, a ConfigMap, unmarked Secret data or "
         "unmarked Helm chart values.", True, resource=no_plaintext_secrets),
    Rule("zenml-container-limits", "Every container sets cpu and memory requests and limits (chart values too).",
         True, resource=containers_have_limits),
    Rule("zenml-container-non-root", "Every container runs as non-root without privilege escalation, privileged "
         "mode or host namespaces (chart values too).", True, resource=containers_not_root),
    Rule("zenml-runner-namespace-isolated", "Every runner namespace has default-deny ingress and egress "
         "NetworkPolicies.", True, stack=runner_namespaces_isolated),
    Rule("zenml-images-from-mirror", "In an air-gapped stack (airGap.enabled; policy config `mirror`), every image and chart comes "
         "from the registry mirror.", True, resource=images_from_mirror, config_schema={"mirror": {"type": "string"}}),
    Rule("zenml-ingress-tls", "Every Ingress host is served with TLS; chart ingresses enable TLS.", True,
         resource=ingress_tls),
    # Advisory.
    Rule("zenml-image-tag-pinned", "Images are pinned to a version tag or digest.", False, resource=image_tags_pinned),
    Rule("zenml-read-only-root-filesystem", "Containers run with a read-only root filesystem.", False,
         resource=read_only_root),
    Rule("zenml-capabilities-dropped", "Containers drop all capabilities and use the RuntimeDefault seccomp profile.",
         False, resource=capabilities_dropped),
    Rule("zenml-service-account-token", "Pods do not mount the default service account's token.", False,
         resource=service_account_token),
    Rule("zenml-namespace-default-deny", "Every namespace the stack creates denies traffic by default.", False,
         stack=namespaces_default_deny),
    Rule("zenml-namespace-pod-security-restricted", "Namespaces enforce the `restricted` Pod Security Standard.",
         False, resource=namespace_pod_security),
    Rule("zenml-runner-internet-egress", "Runner pods reach named destinations, not the whole internet.", False,
         stack=runner_internet_egress),
    Rule("zenml-no-external-services", "No LoadBalancer or NodePort Services; traffic enters through the TLS "
         "ingress.", False, resource=no_external_services),
]

RULES_BY_NAME = {r.name: r for r in RULES}


def evaluate(resources: list[Resource], config: Optional[Mapping[str, Mapping[str, Any]]] = None) -> dict[str, list[str]]:
    """Every rule over every resource: rule name -> violation messages (empty list: passed)."""
    config = config or {}
    results: dict[str, list[str]] = {}
    for rule in RULES:
        cfg = config.get(rule.name, {})
        messages: list[str] = []
        if rule.resource:
            for r in resources:
                messages += rule.resource(r, cfg)
        if rule.stack:
            messages += [m for _, m in rule.stack(resources, cfg)]
        results[rule.name] = messages
    return results
