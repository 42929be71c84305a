"""Kubernetes components under mocks, in preview and update mode: the fields that matter are asserted."""

from __future__ import annotations

import copy

import pytest

from planning.render import kubernetes_objects
from stack_config.secrets import SECRET_PLACEHOLDER
from tests.conftest import EXAMPLE_CA, PRO_WORKSPACE, config, plan

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SECRET = "kubernetes:core/v1:Secret"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"


def all_masked(value) -> bool:
    """A secret map is masked whole (`[secret]`) or per key; either way no value is in clear."""
    if value is None or value == SECRET_PLACEHOLDER:
        return True
    return isinstance(value, dict) and all(v == SECRET_PLACEHOLDER for v in value.values())


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def server(result):
    [dep] = result.of_type(DEPLOYMENT)
    return dep, dep.inputs["spec"]["template"]["spec"]["containers"][0]


def test_server_deployment_contract(preview):
    result = plan(config(), preview)
    dep, c = server(result)
    pod = dep.inputs["spec"]["template"]["spec"]
    assert c["image"] == "registry.corp.internal:5000/zenmldocker/zenml-server:0.98.0"
    assert c["command"][:2] == ["uvicorn", "zenml.zen_server.zen_server_api:app"]
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": 8080}
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"]
    assert pod["automountServiceAccountToken"] is False
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    assert {t["topologyKey"] for t in pod["topologySpreadConstraints"]} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    env = env_of(c)
    assert env["DISABLE_DATABASE_MIGRATION"]["value"] == "True"
    assert env["ZENML_SERVER_SERVER_URL"]["value"] == "https://alpha.zenml.example.com"  # ServerConfiguration.server_url
    assert env["ZENML_SERVER"]["value"] == "true"
    assert env["ZENML_SERVER_DEPLOYMENT_TYPE"]["value"] == "kubernetes"
    assert env["ZENML_STORE_URL"]["value"].startswith("mysql://alpha-mysql.zenml-alpha.svc.cluster.local:3306/zenml") or preview
    assert "@" not in str(env["ZENML_STORE_URL"].get("value", ""))  # credentials never in the URL
    # Every secret is read by reference, never a literal value.
    for name in ("ZENML_STORE_PASSWORD", "ZENML_SERVER_JWT_SECRET_KEY", "ZENML_SECRETS_STORE_ENCRYPTION_KEY"):
        assert "value" not in env[name] and "secretKeyRef" in env[name]["valueFrom"], name
    assert env["ZENML_STORE_SSL"]["value"] == "True"
    assert env["ZENML_STORE_SSL_VERIFY_SERVER_CERT"]["value"] == "True"
    assert env["ZENML_STORE_SSL_CA"]["value"] == "/etc/zenml/db-ca/ca.crt"
    labels = dep.inputs["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "zenml-server" and labels["app.kubernetes.io/instance"] == "alpha"


def test_forwarded_headers_are_trusted_only_from_the_ingress_controller(preview):
    """Runner pods reach the server directly: trusting X-Forwarded-* from anywhere ("*") would let them set their
    client address (login rate limits, device records) and scheme."""
    _, c = server(plan(config(), preview))
    cmd = c["command"]
    assert "*" not in cmd
    assert cmd[cmd.index("--forwarded-allow-ips") + 1] == "127.0.0.1"
    _, c = server(plan(config(kubernetes={"ingressControllerCidrs": ["10.8.0.0/24", "10.8.1.0/24"]}), preview))
    assert c["command"][c["command"].index("--forwarded-allow-ips") + 1] == "10.8.0.0/24,10.8.1.0/24"


@pytest.mark.parametrize("cidrs", [["0.0.0.0/0"], ["not-a-cidr"]])
def test_forwarded_header_sources_must_be_real_ranges(cidrs):
    from stack_config import ConfigError

    with pytest.raises(ConfigError) as info:
        config(kubernetes={"ingressControllerCidrs": cidrs})
    assert [p.path for p in info.value.problems] == ["kubernetes.ingressControllerCidrs"]


def test_migration_job_runs_before_the_server_and_is_named_after_the_version(preview):
    result = plan(config(), preview)
    [job] = result.of_type(JOB)
    dep, c = server(result)
    spec = job.inputs["spec"]
    jc = spec["template"]["spec"]["containers"][0]
    assert jc["command"] == ["python", "-m", "zenml.zen_server.database_migration"]
    assert spec["backoffLimit"] == 0 and spec["template"]["spec"]["restartPolicy"] == "Never"
    assert job.inputs["metadata"]["name"].startswith("zenml-migrate-0-98-0-")
    assert job.urn in dep.dependencies
    assert job.delete_before_replace
    # `up` waits as long as the Job may run (activeDeadlineSeconds), not the provider's 10-minute default.
    deadline = int(spec["activeDeadlineSeconds"])
    assert job.custom_timeouts == {"create": f"{deadline + 120}s", "update": f"{deadline + 120}s"}
    # A failed migration Job is replaced (run again) by the next `up`, not re-awaited as failed forever.
    assert job.inputs["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
    assert "DISABLE_DATABASE_MIGRATION" not in env_of(jc)
    # The migration initialises the database as this server, never as a client (which would auto-activate
    # the server with a passwordless default admin).
    jenv = env_of(jc)
    assert jenv["ZENML_SERVER"]["value"] == "true"
    assert jenv["ZENML_SERVER_SERVER_URL"] == env_of(c)["ZENML_SERVER_SERVER_URL"]
    assert jenv["ZENML_SERVER_JWT_SECRET_KEY"] == env_of(c)["ZENML_SERVER_JWT_SECRET_KEY"]
    assert env_of(jc)["ZENML_STORE_BACKUP_STRATEGY"]["value"] == "in-memory"
    # Same image as the server it migrates for.
    assert jc["image"] == c["image"]
    upgraded = plan(config(zenmlVersion="0.99.0"), preview)
    [job2] = upgraded.of_type(JOB)
    assert job2.inputs["metadata"]["name"] != job.inputs["metadata"]["name"]


def test_migration_job_has_its_own_identity_and_resources(preview):
    """The Job never carries the server's Kubernetes API token (the workload manager's powers), and can be given more
    memory than the server: migrations of large databases need it."""
    ws = copy.deepcopy(PRO_WORKSPACE)
    ws["migration"] = {"resources": {"limits": {"memory": "3Gi"}}}
    result = plan(config(workspaces=[ws], controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.12.tgz"}}), preview)
    [job] = result.of_type(JOB)
    dep, c = server(result)
    pod = job.inputs["spec"]["template"]["spec"]
    assert dep.inputs["spec"]["template"]["spec"]["automountServiceAccountToken"] is True  # runner on: the server needs it
    assert pod["serviceAccountName"] == "zenml-migration" and pod["automountServiceAccountToken"] is False
    sas = {r.inputs["metadata"]["name"]: r for r in result.of_type("kubernetes:core/v1:ServiceAccount")
           if r.inputs["metadata"]["namespace"] == "zenml-team-a"}
    assert sas["zenml-migration"].inputs["automountServiceAccountToken"] is False
    bindings = result.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert bindings and not any(s["name"] == "zenml-migration" for b in bindings for s in b.inputs["subjects"])
    jc = pod["containers"][0]
    assert jc["resources"]["limits"]["memory"] == "3Gi"
    assert jc["resources"]["requests"] == c["resources"]["requests"]  # unset parts: the server's
    assert c["resources"]["limits"]["memory"] != "3Gi"


def test_no_secret_value_reaches_any_input_in_clear(preview):
    ws = copy.deepcopy(PRO_WORKSPACE)
    ws["secretEnv"] = {"EXTRA_TOKEN": {"secure": "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=="}}
    cfg = config(workspaces=[ws], controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.12.tgz"}})
    result = plan(cfg, preview)
    dump = repr([r.inputs for r in result.registrations])
    # The mocks return recognisable generated values; none may appear unmasked anywhere.
    assert "generated-" not in dump
    assert "PRIVATE KEY" not in dump
    for secret in result.of_type(SECRET):
        if "-ca" not in secret.name:  # CA certificates are public
            assert all_masked(secret.inputs.get("stringData")), secret.name
    for obj in kubernetes_objects(result.registrations):
        if obj["kind"] == "Secret":
            assert all_masked(obj.get("stringData")) and all_masked(obj.get("data"))


def test_generated_keys_and_secrets_are_marked_secret_in_state():
    result = plan(config(), preview=False)
    for secret in result.of_type(SECRET):
        if secret.inputs.get("type") != "kubernetes.io/dockerconfigjson" and "-ca" not in secret.name:
            assert {"stringData", "data"} <= set(secret.secret_outputs), secret.name


def test_every_namespace_denies_by_default_and_allows_dns(preview):
    result = plan(config(), preview)
    policies = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["spec"] for r in result.of_type(NETPOL)}
    assert policies[("zenml-alpha", "default-deny")] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies[("zenml-alpha", "allow-dns")]
    assert {"protocol": "UDP", "port": 53} in dns["egress"][0]["ports"]
    srv = policies[("zenml-alpha", "zenml-server")]
    assert srv["ingress"][0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    assert srv["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    db = policies[("zenml-alpha", "alpha-mysql-clients")]
    assert db["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"zenml-platform.io/alpha-mysql-client": "true"}}}]
    dep, _ = server(result)
    assert dep.inputs["spec"]["template"]["metadata"]["labels"]["zenml-platform.io/alpha-mysql-client"] == "true"


def test_network_policies_can_be_switched_off_explicitly():
    result = plan(config(networkPolicies={"enabled": False}))
    assert result.of_type(NETPOL) == []


def test_namespace_enforces_restricted_pod_security(preview):
    result = plan(config(), preview)
    [ns] = result.of_type("kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_mysql_statefulset(preview):
    result = plan(config(), preview)
    [sts] = result.of_type(STATEFULSET)
    spec = sts.inputs["spec"]
    c = spec["template"]["spec"]["containers"][0]
    assert c["image"] == "registry.corp.internal:5000/mysql:8.4.3"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    # Immutable claim templates: a resize replaces the StatefulSet instead of failing the preview.
    assert sts.replace_on_changes == ("spec.volumeClaimTemplates",) and sts.delete_before_replace
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert c["securityContext"]["runAsNonRoot"] and not c["securityContext"]["allowPrivilegeEscalation"]
    env = env_of(c)
    assert "secretKeyRef" in env["MYSQL_PASSWORD"]["valueFrom"] and "secretKeyRef" in env["MYSQL_ROOT_PASSWORD"]["valueFrom"]
    assert any(v.get("secret", {}).get("secretName") for v in spec["template"]["spec"]["volumes"])  # TLS
    [cm] = [r for r in result.of_type("kubernetes:core/v1:ConfigMap") if r.name == "alpha-mysql-config"]
    assert "require_secure_transport=ON" in cm.inputs["data"]["zenml.cnf"]
    # small profile: a daily backup CronJob to its own claim
    [cron] = result.of_type("kubernetes:batch/v1:CronJob")
    assert cron.inputs["spec"]["concurrencyPolicy"] == "Forbid"
    assert "mysqldump" in cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][2]


def mariadb_config(**overrides):
    return config(workspaces=[{"name": "alpha", "database": {"inCluster": {"engine": "mariadb"}}}], **overrides)


def test_mariadb_statefulset(preview):
    result = plan(mariadb_config(), preview)
    [sts] = result.of_type(STATEFULSET)
    assert sts.name == "alpha-mariadb"
    spec = sts.inputs["spec"]
    pod = spec["template"]["spec"]
    c = pod["containers"][0]
    assert c["name"] == "mariadb"
    # Its own image, the name images/mariadb builds, through the mirror.
    assert c["image"] == "registry.corp.internal:5000/mariadb:10.11"
    env = env_of(c)
    assert set(env) == {"MARIADB_ROOT_PASSWORD", "MARIADB_DATABASE", "MARIADB_USER", "MARIADB_PASSWORD"}
    for name in ("MARIADB_ROOT_PASSWORD", "MARIADB_PASSWORD"):
        assert "secretKeyRef" in env[name]["valueFrom"] and "value" not in env[name]
    assert pod["securityContext"]["runAsUser"] == 999 and pod["securityContext"]["fsGroup"] == 999
    assert c["securityContext"]["readOnlyRootFilesystem"] and c["securityContext"]["runAsNonRoot"]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert {"/var/lib/mysql", "/run/mysqld", "/tmp", "/etc/zenml-db-tls", "/etc/mysql/conf.d"} <= set(mounts)
    # Readiness over the socket the entrypoint's first-start server does not use.
    probe = c["readinessProbe"]["exec"]["command"][2]
    assert "--socket=/run/mysqld/mysqld.sock" in probe
    assert not any(t.startswith(("-p", "--password")) for t in probe.split())  # the password is not in argv
    assert c["livenessProbe"]["tcpSocket"] == {"port": 3306} and c["startupProbe"]["tcpSocket"] == {"port": 3306}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    [cm] = [r for r in result.of_type("kubernetes:core/v1:ConfigMap") if r.name == "alpha-mariadb-config"]
    assert "require_secure_transport=ON" in cm.inputs["data"]["zenml.cnf"]
    assert "ssl_ca=/etc/zenml-db-tls/ca.crt" in cm.inputs["data"]["zenml.cnf"]
    # The backup runs from the same image, with TLS because the server requires it, verifying the server against
    # the database CA mounted from its Secret (DB_CA_FILE turns the verification flags on).
    [cron] = result.of_type("kubernetes:batch/v1:CronJob")
    bpod = cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    bc = bpod["containers"][0]
    assert bc["image"] == c["image"]
    assert "mariadb-dump" in bc["command"][2] and "--ssl${DB_CA_FILE:+ " in bc["command"][2]
    assert "--ssl-verify-server-cert" in bc["command"][2]
    assert env_of(bc)["DB_CA_FILE"]["value"] == "/etc/zenml-db-ca/ca.crt"
    assert {"name": "db-ca", "mountPath": "/etc/zenml-db-ca", "readOnly": True} in bc["volumeMounts"]
    assert {"name": "db-ca", "secret": {"secretName": "alpha-mariadb-ca", "defaultMode": 0o444}} in bpod["volumes"] or preview
    assert "secretKeyRef" in env_of(bc)["MYSQL_PWD"]["valueFrom"]
    # The server speaks the MySQL protocol to it, verifying the database CA.
    _, sc = server(result)
    senv = env_of(sc)
    assert senv["ZENML_STORE_URL"]["value"].startswith("mysql://alpha-mariadb.zenml-alpha.svc.cluster.local:3306/") or preview
    assert senv["ZENML_STORE_SSL_VERIFY_SERVER_CERT"]["value"] == "True"
    # Only labelled clients reach it.
    policies = {(p.inputs["metadata"]["namespace"], p.inputs["metadata"]["name"]): p.inputs["spec"]
                for p in result.of_type(NETPOL) if isinstance(p.inputs["metadata"].get("namespace"), str)}
    db = policies[("zenml-alpha", "alpha-mariadb-clients")]
    assert db["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 3306}]
    assert not result.of_type(STATEFULSET)[0].inputs["spec"]["template"]["spec"]["containers"][0]["args"]


def test_mariadb_without_tls_dumps_without_ssl():
    result = plan(config(workspaces=[{"name": "alpha", "database": {"inCluster": {"engine": "mariadb", "tls": False}}}]))
    [cron] = result.of_type("kubernetes:batch/v1:CronJob")
    script = cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "mariadb-dump" in script and "--ssl" not in script
    [cm] = [r for r in result.of_type("kubernetes:core/v1:ConfigMap") if r.name == "alpha-mariadb-config"]
    assert "require_secure_transport" not in cm.inputs["data"]["zenml.cnf"]


def test_mysql_stays_the_default_engine():
    result = plan(config())
    [sts] = result.of_type(STATEFULSET)
    assert sts.name == "alpha-mysql"
    assert sts.inputs["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/mysql:8.4.3")
    assert "registry.corp.internal:5000/mariadb:10.11" not in (result.outputs.get("images") or {}).values()


def test_dev_profile_has_no_backups_and_no_protection():
    result = plan(config(profile="dev"))
    assert result.of_type("kubernetes:batch/v1:CronJob") == []
    assert not any(r.protect for r in result.registrations)


def test_production_profile_protects_and_retains_data(preview):
    result = plan(config(profile="production"), preview)
    [sts] = result.of_type(STATEFULSET)
    [ns] = result.of_type("kubernetes:core/v1:Namespace")
    assert sts.protect and sts.retain_on_delete
    assert ns.protect and ns.retain_on_delete
    for pw in result.of_type("random:index/randomPassword:RandomPassword"):
        assert pw.protect, pw.name
    [claim] = result.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert claim.protect and claim.retain_on_delete
    [key] = [r for r in result.of_type(SECRET) if r.name == "alpha-secrets-encryption-key"]
    assert key.protect and key.retain_on_delete
    # More than one replica: autoscaler and disruption budget.
    dep, _ = server(result)
    assert "replicas" not in dep.inputs["spec"]  # the HPA owns the count
    [pdb] = result.of_type("kubernetes:policy/v1:PodDisruptionBudget")
    assert pdb.inputs["spec"]["minAvailable"] == 1
    [hpa] = result.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert hpa.inputs["spec"]["minReplicas"] == 2


def test_single_replica_has_no_hpa_or_pdb():
    result = plan(config())
    dep, _ = server(result)
    assert dep.inputs["spec"]["replicas"] == 1
    assert result.of_type("kubernetes:policy/v1:PodDisruptionBudget") == []
    assert result.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == []


@pytest.mark.parametrize(
    "tls,expect",
    [
        ({"mode": "cert-manager", "certManager": {"issuerName": "corp-ca"}}, ("cert-manager.io/cluster-issuer", "corp-ca", "alpha-ingress-tls")),
        ({"mode": "provided", "provided": {"secretName": "wildcard-tls"}}, (None, None, "wildcard-tls")),
        ({"mode": "internal-ca"}, (None, None, "alpha-ingress-tls")),
    ],
)
def test_ingress_tls_modes(tls, expect):
    result = plan(config(tls=tls))
    [ing] = result.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    annotation, issuer, secret = expect
    assert ing.inputs["spec"]["tls"] == [{"hosts": ["alpha.zenml.example.com"], "secretName": secret}]
    assert ing.inputs["spec"]["ingressClassName"] == "nginx"
    if annotation:
        assert ing.inputs["metadata"]["annotations"][annotation] == issuer
    issued = [r for r in result.of_type("tls:index/locallySignedCert:LocallySignedCert") if r.name == "alpha-ingress-cert-cert"]
    assert bool(issued) == (tls["mode"] == "internal-ca")


def test_tls_disabled_is_explicit_and_serves_http():
    result = plan(config(tls={"mode": "disabled"}))
    [ing] = result.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    assert ing.inputs["spec"].get("tls") in ([], None)
    _, c = server(result)
    assert env_of(c)["ZENML_SERVER_SERVER_URL"]["value"] == "http://alpha.zenml.example.com"


def test_registry_mirror_rewrites_every_image_and_adds_pull_secrets(preview):
    cfg = config(registryMirror={"registry": "mirror.corp:5000/zenml", "pullSecret": {"secure": "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=="}, "imagePullSecrets": ["extra"]})
    result = plan(cfg, preview)
    images = []
    for obj in kubernetes_objects(result.registrations):
        spec = obj.get("spec", {})
        tpl = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if tpl:
            for c in tpl["spec"]["containers"]:
                images.append(c["image"])
            assert tpl["spec"]["imagePullSecrets"] == [{"name": "zenml-registry-pull"}, {"name": "extra"}]
    assert images and all(i.startswith("mirror.corp:5000/zenml/") for i in images), images
    pulls = [r for r in result.of_type(SECRET) if r.inputs.get("type") == "kubernetes.io/dockerconfigjson"]
    assert pulls and all(all_masked(p.inputs["stringData"]) for p in pulls)


def test_vault_secret_store_env(preview):
    ws = {"name": "alpha", "secretStore": {"type": "hashicorp", "vault": {
        "address": "https://vault.corp:8200", "namespace": "ml", "token": {"secretKeyRef": {"name": "vault", "key": "token"}}}}}
    result = plan(config(workspaces=[ws]), preview)
    _, c = server(result)
    env = env_of(c)
    assert env["ZENML_SECRETS_STORE_TYPE"]["value"] == "hashicorp"
    assert env["ZENML_SECRETS_STORE_VAULT_ADDR"]["value"] == "https://vault.corp:8200"
    assert env["ZENML_SECRETS_STORE_VAULT_NAMESPACE"]["value"] == "ml"
    assert env["ZENML_SECRETS_STORE_VAULT_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "vault", "key": "token"}
    assert "ZENML_SECRETS_STORE_ENCRYPTION_KEY" not in env


def test_external_database(preview):
    ws = {"name": "alpha", "database": {"mode": "external", "external": {
        "host": "10.1.2.3", "database": "zenml_alpha", "username": "alpha", "caCertificate": EXAMPLE_CA,
        "password": {"secretKeyRef": {"name": "db-alpha", "key": "password"}}}}}
    result = plan(config(workspaces=[ws]), preview)
    assert result.of_type(STATEFULSET) == []
    _, c = server(result)
    env = env_of(c)
    assert env["ZENML_STORE_URL"]["value"] == "mysql://10.1.2.3:3306/zenml_alpha"
    assert env["ZENML_STORE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "db-alpha", "key": "password"}
    assert env["ZENML_STORE_SSL_CA"]["value"] == "/etc/zenml/db-ca/ca.crt"
    egress = [r for r in result.of_type(NETPOL) if r.inputs["metadata"]["name"] == "zenml-server"][0].inputs["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "10.1.2.3/32"}}], "ports": [{"protocol": "TCP", "port": 3306}]} in egress


def test_extra_env_and_secret_env(preview):
    ws = {"name": "alpha", "env": {"ZENML_SERVER_THREAD_POOL_SIZE": "60"}, "secretEnv": {"OTEL_HEADERS": {"secretKeyRef": {"name": "otel", "key": "headers"}}},
          "nodeSelector": {"pool": "zenml"}, "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "zenml", "effect": "NoSchedule"}]}
    result = plan(config(workspaces=[ws]), preview)
    dep, c = server(result)
    env = env_of(c)
    assert env["ZENML_SERVER_THREAD_POOL_SIZE"]["value"] == "60"
    assert env["OTEL_HEADERS"]["valueFrom"]["secretKeyRef"] == {"name": "otel", "key": "headers"}
    pod = dep.inputs["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "zenml"}
    assert pod["tolerations"][0]["key"] == "dedicated"


def test_oss_server_is_activated_with_a_generated_admin_password(preview):
    """An unclaimed OSS server belongs to whoever reaches it first: the migration Job and the server both
    carry auto-activation with the admin password from a generated Secret, never a literal."""
    result = plan(config(), preview)
    [job] = result.of_type(JOB)
    _, c = server(result)
    for container in (c, job.inputs["spec"]["template"]["spec"]["containers"][0]):
        env = env_of(container)
        assert env["ZENML_SERVER_AUTO_ACTIVATE"]["value"] == "True"
        assert env["ZENML_DEFAULT_USER_NAME"]["value"] == "admin"
        assert env["ZENML_DEFAULT_USER_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "zenml-server-admin", "key": "password"}
    [admin] = [s for s in result.of_type(SECRET) if s.inputs["metadata"]["name"] == "zenml-server-admin"]
    assert all_masked(admin.inputs.get("stringData"))
    passwords = [r for r in result.of_type("random:index/randomPassword:RandomPassword") if r.name.endswith("-admin-password")]
    assert len(passwords) == 1 and passwords[0].inputs["length"] >= 32
    assert "adminCredentials" in result.outputs


def test_pro_server_is_not_auto_activated(preview):
    """Pro workspaces are activated by their control plane: no local admin account."""
    from tests.unit.test_layout_graph import CP, pro

    result = plan(config(workspaces=[pro("team-a")], controlPlane=CP), preview)
    [dep] = [d for d in result.of_type(DEPLOYMENT) if d.inputs["metadata"]["namespace"] == "zenml-team-a"]
    env = env_of(dep.inputs["spec"]["template"]["spec"]["containers"][0])
    assert "ZENML_SERVER_AUTO_ACTIVATE" not in env and "ZENML_DEFAULT_USER_PASSWORD" not in env
    assert not [s for s in result.of_type(SECRET) if s.inputs["metadata"]["name"] == "zenml-server-admin"]


def test_a_secret_without_plaintext_fails_in_the_engine_instead_of_becoming_empty(monkeypatch):
    """Inside `pulumi up` every secret config value is decrypted; one that is not would silently deploy an empty
    password or enrollment key. The error names the key path and never the (encrypted) value."""
    import pulumi

    from components import secret_values
    from stack_config.secrets import SecureValue

    monkeypatch.setattr(secret_values, "_under_mocks", lambda: False)
    with pytest.raises(pulumi.RunError) as info:
        secret_values.plaintext_output(SecureValue(ciphertext="v1:ciphertext-abc"), "identityProvider.oidc.clientSecret")
    assert "identityProvider.oidc.clientSecret" in str(info.value)
    assert "ciphertext-abc" not in str(info.value)



def test_the_server_service_selects_server_pods_never_the_migration_jobs(preview):
    """The migration pod shares the server's name/instance labels and is Ready while it runs (no readiness probe):
    a Service selecting it sends requests to a pod that does not serve (502s through the ingress on the real node)."""
    result = plan(config(), preview)
    dep, _ = server(result)
    [job] = result.of_type(JOB)
    [svc] = [s for s in result.of_type("kubernetes:core/v1:Service") if s.inputs["metadata"]["name"] == "zenml-server"]
    selector = svc.inputs["spec"]["selector"].items()
    assert selector <= dep.inputs["spec"]["template"]["metadata"]["labels"].items()
    assert not selector <= job.inputs["spec"]["template"]["metadata"]["labels"].items()
