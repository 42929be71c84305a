"""What a node needs besides kubelet: cluster DNS, an ingress controller, a NetworkPolicy enforcer.

CoreDNS and Traefik run as pods (images built from the toolchain's binaries by ``toolchain.node.oci``), so
NetworkPolicies, probes and RBAC treat them as on any cluster: the stack's allow-dns rule must really let
pods reach ``k8s-app=kube-dns`` in ``kube-system``, and a workspace's ingress rule must really admit the
controller's namespace. kube-router runs on the node itself (as its DaemonSet would, with host networking)
with only its firewall on: routing and service proxying stay with the CNI bridge and kube-proxy.

CoreDNS answers for ``cluster.local`` and for the ingress domain (so pods reach workspace URLs through the
ingress controller, as users do); it has no ``forward``: nothing is resolved outside the cluster.
"""

from __future__ import annotations

from typing import Any

from toolchain.node.kubelet import CLUSTER_DNS_IP, CLUSTER_DOMAIN

INGRESS_NAMESPACE = "ingress-traefik"
INGRESS_CLASS = "traefik"
INGRESS_SERVICE_IP = "10.96.0.20"
COREDNS_IMAGE = "zenml-platform.local/node/coredns:{version}"
TRAEFIK_IMAGE = "zenml-platform.local/node/traefik:{version}"


def _restricted_container(read_only: bool = True) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only,
        "capabilities": {"drop": ["ALL"]},
    }


def _pod_security(uid: int = 65532, sysctls: list[dict[str, str]] | None = None) -> dict[str, Any]:
    sc: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if sysctls:
        sc["sysctls"] = sysctls
    return sc


def _identity(ns: str, name: str, rules: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """A ServiceAccount and the cluster-wide role it is bound to: what an add-on may read, nothing more."""
    role = f"zenml-platform:{name}"
    return [
        (f"/api/v1/namespaces/{ns}/serviceaccounts", {
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}),
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": role},
            "rules": rules}),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]}),
    ]


def _deployment(ns: str, name: str, labels: dict[str, str], pod_spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """One replica running as the add-on's own ServiceAccount."""
    return (f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"serviceAccountName": name, **pod_spec}},
        }})


def corefile(ingress_domain: str | None) -> str:
    ingress = ""
    if ingress_domain:
        # Every name under the ingress domain is the ingress controller's Service, as a user's DNS would say.
        ingress = (
            f"{ingress_domain}:53 {{\n"
            "    errors\n"
            f"    template IN A {ingress_domain} {{\n"
            f'        answer "{{{{ .Name }}}} 30 IN A {INGRESS_SERVICE_IP}"\n'
            "    }\n"
            f"    template IN AAAA {ingress_domain} {{\n"
            "        rcode NOERROR\n"
            "    }\n"
            "}\n"
        )
    return ingress + (
        ".:53 {\n"
        "    errors\n"
        "    health :8080\n"
        "    ready :8181\n"
        f"    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{\n"
        "        pods insecure\n"
        "        ttl 30\n"
        "    }\n"
        "    cache 30\n"
        "    loop\n"
        "    reload\n"
        "}\n"
    )


def coredns_objects(version: str, ingress_domain: str | None) -> list[tuple[str, dict[str, Any]]]:
    labels = {"k8s-app": "kube-dns"}
    ns = "kube-system"
    return [
        *_identity(ns, "coredns", [
            {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ]),
        ("/api/v1/namespaces/kube-system/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": ns},
            "data": {"Corefile": corefile(ingress_domain)}}),
        _deployment(ns, "coredns", labels, {
                        "priorityClassName": "system-cluster-critical",
                        "dnsPolicy": "Default",
                        "securityContext": _pod_security(sysctls=[{"name": "net.ipv4.ip_unprivileged_port_start", "value": "53"}]),
                        "containers": [{
                            "name": "coredns",
                            "image": COREDNS_IMAGE.format(version=version),
                            "imagePullPolicy": "Never",
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": [
                                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                            ],
                            "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
                            "securityContext": _restricted_container(),
                            "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 10},
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
                        }],
                        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
        }),
        ("/api/v1/namespaces/kube-system/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": ns, "labels": labels},
            "spec": {
                "clusterIP": CLUSTER_DNS_IP,
                "selector": labels,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                ],
            }}),
    ]


def traefik_objects(version: str, node_ip: str) -> list[tuple[str, dict[str, Any]]]:
    """The controller runs under PSA restricted (no hostPort): the host's loopback forwarder connects to its
    Service address from inside the node, where kube-proxy routes it like any in-cluster client."""
    ns = INGRESS_NAMESPACE
    labels = {"app.kubernetes.io/name": "traefik"}
    args = [
        "--entryPoints.web.address=:8080",
        "--entryPoints.web.http.redirections.entryPoint.to=websecure",
        "--entryPoints.web.http.redirections.entryPoint.scheme=https",
        "--entryPoints.websecure.address=:8443",
        "--entryPoints.websecure.http.tls=true",
        "--entryPoints.traefik.address=:9000",
        "--ping=true",
        "--ping.entryPoint=traefik",
        "--providers.kubernetesIngress=true",
        f"--providers.kubernetesIngress.ingressClass={INGRESS_CLASS}",
        f"--providers.kubernetesIngress.ingressEndpoint.ip={node_ip}",
        # A known host whose Service has no Ready endpoint (a restart, a rollout) answers 503, as ingress-nginx and
        # cloud load balancers do; without this Traefik drops the router and answers 404 "page not found".
        "--providers.kubernetesIngress.allowEmptyServices=true",
        "--log.level=INFO",
        "--accessLog=true",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
    ]
    return [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted"}}}),
        *_identity(ns, "traefik", [
            {"apiGroups": [""], "resources": ["services", "endpoints", "secrets", "nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["networking.k8s.io", "extensions"], "resources": ["ingresses", "ingressclasses"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["networking.k8s.io", "extensions"], "resources": ["ingresses/status"], "verbs": ["update"]},
        ]),
        ("/apis/networking.k8s.io/v1/ingressclasses", {
            "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": INGRESS_CLASS, "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": "traefik.io/ingress-controller"}}),
        _deployment(ns, "traefik", labels, {
                        "securityContext": _pod_security(),
                        "containers": [{
                            "name": "traefik",
                            "image": TRAEFIK_IMAGE.format(version=version),
                            "imagePullPolicy": "Never",
                            "args": args,
                            "ports": [
                                {"name": "web", "containerPort": 8080, "protocol": "TCP"},
                                {"name": "websecure", "containerPort": 8443, "protocol": "TCP"},
                                {"name": "ping", "containerPort": 9000, "protocol": "TCP"},
                            ],
                            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
                            "securityContext": _restricted_container(),
                            "readinessProbe": {"httpGet": {"path": "/ping", "port": 9000}, "periodSeconds": 2},
                            "livenessProbe": {"httpGet": {"path": "/ping", "port": 9000}, "periodSeconds": 10},
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }],
                        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        }),
        (f"/api/v1/namespaces/{ns}/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "traefik", "namespace": ns, "labels": labels},
            "spec": {
                "clusterIP": INGRESS_SERVICE_IP,
                "selector": labels,
                "ports": [
                    {"name": "web", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                    {"name": "websecure", "port": 443, "targetPort": 8443, "protocol": "TCP"},
                ],
            }}),
    ]


def kube_router_argv(exe: str, kubeconfig: str, node_name: str) -> list[str]:
    return [
        exe,
        f"--kubeconfig={kubeconfig}",
        f"--hostname-override={node_name}",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        "--enable-cni=false",
        "--enable-ipv6=false",
        "--metrics-port=0",
        "--health-port=20244",
        "--v=1",
    ]
