"""Contract tests against the real ZenML server, for every example stack (`stacks/Pulumi.*.yaml`).

* `test_rendered_env_names_are_zenml_settings`, `test_rendered_env_loads_in_zenml`: every variable the server Deployment and the migration Job set is a field
  ZenML 0.98 actually reads (its configuration models ignore unknown names silently), and the whole environment
  loads through ZenML's own configuration classes. Runs for every workspace, Pro ones included (the Pro image is
  private and cannot run here: this is the part of the contract that can be checked for it), and for the fixture
  stacks in fixtures/ that cover Pro, runner and Vault settings.
* `test_server_runs_as_rendered`: OSS workspaces run for real: the migration Job's command and env, then the server
  Deployment's, as local processes against Debian's MariaDB with TLS (see zenml_runtime.py for the exact rewrites);
  health, info, activation, login, a secret written and read back, a restart with the same configuration after
  which the old token, the data and the encrypted secret are still readable.

Prepare with `bash tests/contract/contract-env.sh`; run with `pytest -m contract tests/contract`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from tests.contract.conftest import IN_CI
from tests.contract.stack_plans import FIXTURE_STACK_FILES, ROOT, STACK_FILES, server_workloads, stack_name
from tests.contract.zenml_runtime import (
    HARNESS,
    MariaDB,
    Pki,
    Server,
    as_user,
    harness_status,
    http,
    materialize_pod,
    mysql_cnf_for_test,
    process_env,
    secret_value,
    server_command,
)

pytestmark = pytest.mark.contract

FIELDS_SCRIPT = Path(__file__).resolve().parent / "zenml_fields.py"

# Variables read by the private Pro image's plugins (zenml_cloud_plugins), not by ZenML OSS: they cannot be checked
# against a public source and are accepted only on Pro workspaces that enable the workload manager.
PRO_PLUGIN_PREFIXES = (
    "ZENML_KUBERNETES_WORKLOAD_MANAGER_",
    "ZENML_AWS_KUBERNETES_WORKLOAD_MANAGER_",
    "ZENML_GCP_KUBERNETES_WORKLOAD_MANAGER_",
)
# Variables read by libraries the server uses, not by ZenML's configuration models.
LIBRARY_VARIABLES = {
    "REQUESTS_CA_BUNDLE": "requests/urllib3: the CA bundle for outbound HTTPS (control plane, OIDC)",
    "SSL_CERT_FILE": "OpenSSL/ssl default verify file: the same merged bundle, for clients that do not use requests",
}


def _workload_params(files):
    params = []
    for path in files:
        for i, w in enumerate(server_workloads(path)):
            params.append(pytest.param(path, i, id=f"{stack_name(path)}-{w.workspace}"))
    return params


def _version(w) -> str:
    return w.deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"]


def _zenml_venv(version: str) -> Path:
    venv = ROOT / f".venv-zenml-{version}"
    if (venv / "bin" / "python").exists():
        return venv
    pytest.fail(f"zenml[server]=={version} (the version the stack deploys) is not installed: run `{HARNESS}`")


def _require_mariadb() -> None:
    if shutil.which("mariadbd") and shutil.which("mariadb-install-db"):
        return
    state = harness_status().get("mariadb", "")
    if state.startswith("unavailable"):
        pytest.skip(f"MariaDB cannot be installed on this machine ({state}); the live server contract did not run")
    msg = f"mariadb-server is not installed: run `{HARNESS}` first"
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


_FIELDS_CACHE: dict[str, dict] = {}


def _zenml_fields(version: str) -> dict:
    if version not in _FIELDS_CACHE:
        out = subprocess.run([str(_zenml_venv(version) / "bin" / "python"), str(FIELDS_SCRIPT)],
                             capture_output=True, text=True, check=True)
        _FIELDS_CACHE[version] = json.loads(out.stdout)
    return _FIELDS_CACHE[version]


def _unknown_names(env: list[dict], fields: dict, pro_plugins: bool) -> list[str]:
    names = [e["name"] for e in env]
    store_type = next((e.get("value") for e in env if e["name"] == "ZENML_SECRETS_STORE_TYPE"), "sql")
    all_secret_fields = set().union(*(set(v) for v in fields["secrets_store"].values()))
    problems = []
    for name in names:
        if name.startswith("ZENML_SERVER_PRO_"):
            ok = name[len("ZENML_SERVER_PRO_"):].lower() in fields["server_pro"]
        elif name.startswith("ZENML_SERVER_"):
            ok = name[len("ZENML_SERVER_"):].lower() in fields["server"]
        elif name.startswith("ZENML_BACKUP_SECRETS_STORE_"):
            ok = name[len("ZENML_BACKUP_SECRETS_STORE_"):].lower() in all_secret_fields
        elif name.startswith("ZENML_SECRETS_STORE_"):
            ok = name[len("ZENML_SECRETS_STORE_"):].lower() in fields["secrets_store"].get(store_type, [])
        elif name.startswith("ZENML_STORE_"):
            ok = name[len("ZENML_STORE_"):].lower() in fields["store"]
        elif name in fields["env_constants"] or name in LIBRARY_VARIABLES:
            ok = True
        elif name.startswith(PRO_PLUGIN_PREFIXES):
            ok = pro_plugins
        else:
            ok = False
        if not ok:
            problems.append(name)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    return problems + [f"{n} (set twice)" for n in duplicates]


def _resolved_env(container: dict) -> dict[str, str]:
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = secret_value(ref["name"], ref["key"])
    return env


@pytest.mark.parametrize("path, index", _workload_params([*STACK_FILES, *FIXTURE_STACK_FILES]))
def test_rendered_env_names_are_zenml_settings(path, index):
    w = server_workloads(path)[index]
    version = _version(w)
    fields = _zenml_fields(version)
    assert fields["version"] == version
    source = w.env_value("ZENML_SERVER_WORKLOAD_MANAGER_IMPLEMENTATION_SOURCE") or ""
    pro_plugins = w.is_pro and source.startswith("zenml_cloud_plugins.")

    for label, container in (("server", w.server_container), ("migration", w.migration_container)):
        unknown = _unknown_names(container.get("env", []), fields, pro_plugins)
        assert not unknown, (
            f"{path.name} workspace {w.workspace}: the {label} container sets variables ZenML {version} does not read "
            f"(its config models drop unknown names silently): {unknown}"
        )

    if w.is_pro:
        names = {e["name"] for e in w.server_container["env"]}
        missing = [f for f in fields["required_server_pro"] if f"ZENML_SERVER_PRO_{f.upper()}" not in names]
        assert not missing, f"{path.name} {w.workspace}: a Pro server needs ZENML_SERVER_PRO_{missing}"


@pytest.mark.parametrize("path, index", _workload_params([*STACK_FILES, *FIXTURE_STACK_FILES]))
def test_rendered_env_loads_in_zenml(path, index, tmp_path):
    """The whole environment, through ZenML's own configuration loading (values, not only names)."""
    w = server_workloads(path)[index]
    version = _version(w)
    for label, container in (("server", w.server_container), ("migration", w.migration_container)):
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **_resolved_env(container)}
        env["ZENML_CONFIG_PATH"] = str(tmp_path / f"config-{label}")
        out = tmp_path / f"{label}.json"
        run = subprocess.run([str(_zenml_venv(version) / "bin" / "python"), str(FIELDS_SCRIPT), "--validate-env", str(out)],
                             env=env, capture_output=True, text=True)
        assert run.returncode == 0, f"{path.name} {w.workspace} {label}: ZenML rejects the rendered env:\n{run.stderr[-3000:]}"
        loaded = json.loads(out.read_text())
        rendered_type = w.env_value("ZENML_SERVER_DEPLOYMENT_TYPE")
        if label == "server":
            assert loaded["deployment_type"] == rendered_type
            intended_url = w.env_value("ZENML_SERVER_SERVER_URL") or w.env_value("ZENML_SERVER_URL")
            assert loaded["server_url"] == intended_url, (
                f"{path.name} {w.workspace}: ZenML loads server_url={loaded['server_url']!r}, not the public URL "
                f"{intended_url}: ServerConfiguration.server_url is read from ZENML_SERVER_SERVER_URL")
            if w.is_pro:
                assert loaded["auth_scheme"].upper() == "EXTERNAL", "a Pro workspace authenticates through the control plane"
                assert loaded["pro"]["workspace_id"] and loaded["pro"]["organization_id"]
        store = loaded["store"]
        assert store["driver"] == "mysql"
        if container is w.migration_container and w.env_value("ZENML_STORE_BACKUP_STRATEGY", container) == "database":
            assert store["backup_database"], "the database backup strategy needs ZENML_STORE_BACKUP_DATABASE"


# --- live run ------------------------------------------------------------------------------------------------------


def _database_setup(w, pki: Pki) -> dict:
    """Database name, user, password and server options, from the rendered objects."""
    env = {e["name"]: e for e in w.server_container["env"]}
    database = env["ZENML_STORE_URL"]["value"].split("://", 1)[1].partition("/")[2].split("?")[0]
    username = env["ZENML_STORE_USERNAME"]["value"]
    pw_ref = env["ZENML_STORE_PASSWORD"]["valueFrom"]["secretKeyRef"]
    tls = str(env.get("ZENML_STORE_SSL", {}).get("value", "False")).lower() == "true"
    setup = {"database": database, "username": username, "password": secret_value(pw_ref["name"], pw_ref["key"]),
             "tls": tls, "cnf": None, "init_sql": "", "in_cluster": False}

    statefulsets = [s for s in w.in_namespace("StatefulSet")
                    if s["metadata"]["labels"].get("app.kubernetes.io/name") in ("mysql", "mariadb")]
    if statefulsets:
        sts = statefulsets[0]
        setup["in_cluster"] = True
        pod = sts["spec"]["template"]["spec"]
        c = pod["containers"][0]
        db_env = {e["name"]: e for e in c["env"]}
        # The server must log in with what the database was initialised with (MYSQL_* or the MariaDB image's names).
        prefix = "MARIADB" if sts["metadata"]["labels"]["app.kubernetes.io/name"] == "mariadb" else "MYSQL"
        assert db_env[f"{prefix}_DATABASE"]["value"] == database
        assert db_env[f"{prefix}_USER"]["value"] == username
        assert db_env[f"{prefix}_PASSWORD"]["valueFrom"]["secretKeyRef"] == pw_ref, (
            "the server reads its DB password from a different Secret/key than the database was initialised with")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        tls_dir = None
        for m in c.get("volumeMounts", []):
            vol = volumes.get(m["name"], {})
            if "configMap" in vol:
                cm = next(o for o in w.in_namespace("ConfigMap") if o["metadata"]["name"] == vol["configMap"]["name"])
                if m["mountPath"] == "/etc/mysql/conf.d":
                    setup["cnf"] = "".join(cm["data"].values())
                elif m["mountPath"] == "/docker-entrypoint-initdb.d":
                    setup["init_sql"] = "".join(cm["data"].values())
            if "secret" in vol and m["name"] == "tls":
                tls_dir = m["mountPath"]
        setup["tls_dir"] = tls_dir
        if tls:
            assert setup["cnf"] and "require_secure_transport=ON" in setup["cnf"], "TLS clients but the server accepts plain connections"
    setup["cnf_text"] = mysql_cnf_for_test(setup["cnf"], setup.get("tls_dir"), pki, tls)
    return setup


def _run_migration(w, venv: Path, work: Path, pki: Pki, db: MariaDB, log: Path) -> subprocess.CompletedProcess:
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    pod = materialize_pod(w.job["spec"]["template"]["spec"], w.migration_container, work / "migration", pki, db.port,
                          w.objects, w.namespace)
    (work / "rewrites-migration.txt").write_text("\n".join(pod.rewrites) + "\n")
    run = subprocess.run(as_user(pod, w.migration_container["command"], venv), env=process_env(pod, venv, work / "migration"),
                         cwd=work, capture_output=True, text=True, timeout=900)
    with open(log, "a") as f:
        f.write(run.stdout + run.stderr)
    return run



def _start_database(w, workdir: Path, pki: Pki) -> tuple[MariaDB, dict]:
    """MariaDB with the stack's rendered options, its database and user as the stack initialises them."""
    setup = _database_setup(w, pki)
    db = MariaDB(workdir / "mariadb")
    db.start(setup["cnf_text"])
    try:
        q = lambda s: s.replace("'", "''")  # noqa: E731
        db.sql(
            f"CREATE DATABASE IF NOT EXISTS `{setup['database']}`; "
            f"CREATE USER '{q(setup['username'])}'@'%' IDENTIFIED BY '{q(setup['password'])}'; "
            f"GRANT ALL PRIVILEGES ON `{setup['database']}`.* TO '{q(setup['username'])}'@'%';"
        )
        if setup["init_sql"]:
            db.sql(setup["init_sql"])
        backup_db = w.env_value("ZENML_STORE_BACKUP_DATABASE", w.migration_container)
        if backup_db and not setup["in_cluster"]:  # an external database's operator grants this (docs)
            db.sql(f"CREATE DATABASE IF NOT EXISTS `{backup_db}`; "
                   f"GRANT ALL PRIVILEGES ON `{backup_db}`.* TO '{q(setup['username'])}'@'%';")
        if setup["tls"]:
            plain = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{db.port}", f"-u{setup['username']}",
                                    f"-p{setup['password']}", "--skip-ssl", "-e", "SELECT 1"], capture_output=True, text=True)
            assert plain.returncode != 0, "the database accepted a connection without TLS"
            tls = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{db.port}", f"-u{setup['username']}",
                                  f"-p{setup['password']}", f"--ssl-ca={pki.ca_cert}", "-e", "SELECT 1"],
                                 capture_output=True, text=True)
            assert tls.returncode == 0, f"the database refuses its own user over TLS: {tls.stderr}"
    except BaseException:
        db.stop()
        raise
    return db, setup


@pytest.fixture
def workdir():
    work = Path(tempfile.mkdtemp(prefix="zenml-contract-"))
    work.chmod(0o755)
    yield work
    if os.environ.get("ZENML_CONTRACT_KEEP"):
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("path, index", _workload_params([*STACK_FILES, *FIXTURE_STACK_FILES]))
def test_server_runs_as_rendered(path, index, workdir):
    w = server_workloads(path)[index]
    if w.is_pro:
        pytest.skip("Pro server image is private (zenml_cloud_plugins): covered by the test_rendered_env_* contract tests")
    _require_mariadb()
    version = _version(w)
    venv = _zenml_venv(version)
    assert w.server_container["image"].endswith(f":{version}"), "the image tag and the version label disagree"

    pki = Pki.create(workdir / "pki")
    db, setup = _start_database(w, workdir, pki)
    servers: list[Server] = []
    try:
        log = workdir / "processes.log"
        # 1. The migration Job, as rendered.
        mig = _run_migration(w, venv, workdir, pki, db, log)
        assert mig.returncode == 0, f"migration failed ({mig.returncode}):\n{(mig.stdout + mig.stderr)[-5000:]}"
        assert "Database migration finished" in mig.stdout + mig.stderr, "the migration module did not migrate (no SQL store?)"
        revision = db.sql("SELECT version_num FROM alembic_version", database=setup["database"]).stdout.strip()
        assert revision, "no alembic revision recorded: the migration did not touch the configured database"
        # The migration initialises the database as the server: it activates it with exactly the rendered admin
        # account (ZENML_DEFAULT_USER_NAME, password from the generated Secret), never with an empty password
        # (what ZenML does when the store initialises as a client) and never leaves it unclaimed.
        deferred: list[str] = []
        users = db.sql("SELECT name, is_service_account, password IS NULL OR password = '' FROM user",
                       database=setup["database"]).stdout.strip()
        admin_user = w.env_value("ZENML_DEFAULT_USER_NAME")
        password_ref = next((e["valueFrom"]["secretKeyRef"] for e in w.server_container["env"]
                             if e["name"] == "ZENML_DEFAULT_USER_PASSWORD"), None)
        assert w.env_value("ZENML_SERVER_AUTO_ACTIVATE") == "True", "an OSS server must not be left unclaimed"
        assert admin_user and password_ref, "the admin account must come from the rendered env and a Secret"
        admin_password = secret_value(password_ref["name"], password_ref["key"])
        rows = [line.split("\t") for line in users.splitlines()]
        if rows != [[admin_user, "0", "0"]]:
            deferred.append(f"after the migration the users are {rows!r}; expected only {admin_user!r} with a password")

        # 2. The server Deployment, as rendered (DISABLE_DATABASE_MIGRATION stays as rendered).
        pod = materialize_pod(w.deployment["spec"]["template"]["spec"], w.server_container, workdir / "server", pki,
                              db.port, w.objects, w.namespace)
        port = _free_port()
        cmd, cmd_rewrites = server_command(w.server_container["command"], port)
        (workdir / "rewrites-server.txt").write_text("\n".join(pod.rewrites + cmd_rewrites) + "\n")
        env = process_env(pod, venv, workdir / "server")
        server = Server(as_user(pod, cmd, venv), env, port, workdir / "server.log", cwd=workdir)
        servers.append(server)
        server.start()

        status, body = http("GET", f"{server.base}/health")
        assert status == 200 and str(body).lower() == "ok", (status, body)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):  # every rendered probe, on the real server
            path_ = w.server_container[probe]["httpGet"]["path"]
            status, body = http("GET", f"{server.base}{path_}")
            assert status == 200, f"{probe} {path_} answers {status} on the real server"
        status, info = http("GET", f"{server.base}/api/v1/info")
        assert status == 200, info
        assert info["version"] == version
        assert info["deployment_type"] == w.env_value("ZENML_SERVER_DEPLOYMENT_TYPE")
        assert info["secrets_store_type"] == w.env_value("ZENML_SECRETS_STORE_TYPE")
        assert info["database_type"] == "mysql"
        intended_url = w.env_value("ZENML_SERVER_SERVER_URL") or w.env_value("ZENML_SERVER_URL")
        # Checked at the end, so one wrong setting does not hide the rest of the contract.
        if info["server_url"] != intended_url:
            deferred.append(
                f"the server does not know its public URL {intended_url} (it reports {info['server_url']!r}): "
                "ServerConfiguration.server_url is read from ZENML_SERVER_SERVER_URL")

        status, body = http("PUT", f"{server.base}/api/v1/activate",
                            body={"admin_username": "intruder", "admin_password": secrets.token_urlsafe(18)})
        assert status in (401, 403, 409), f"an activated server accepted a second activation: {status} {body}"
        status, body = http("POST", f"{server.base}/api/v1/login", form={"username": admin_user, "password": ""})
        assert status != 200, "the admin logs in with an empty password"
        token = _login(server, admin_user, admin_password)

        secret_values = {"api_key": "contract-" + secrets.token_hex(16), "region": "eu-west-1"}
        status, created = http("POST", f"{server.base}/api/v1/secrets", token=token,
                               body={"name": "contract-secret", "private": False, "values": secret_values})
        assert status == 200, f"creating a secret failed: {status} {created}"
        secret_id = created["id"]
        assert _secret_values(server, token, secret_id) == secret_values

        if w.env_value("ZENML_SECRETS_STORE_TYPE") == "sql":
            stored = db.sql("SELECT `values` FROM secret", database=setup["database"]).stdout
            assert stored.strip(), "the sql secrets store wrote nothing to the database"
            assert secret_values["api_key"] not in stored, "secret values are stored in clear: no encryption key reached the server"

        # 3. Restart with the same configuration: migration Job again (idempotent), then the server.
        server.stop()
        mig = _run_migration(w, venv, workdir, pki, db, log)
        assert mig.returncode == 0, f"second migration run failed:\n{(mig.stdout + mig.stderr)[-5000:]}"
        server2 = Server(as_user(pod, cmd, venv), env, port, workdir / "server.log", cwd=workdir)
        servers.append(server2)
        server2.start()
        status, me = http("GET", f"{server2.base}/api/v1/current-user", token=token)
        assert status == 200, f"a token issued before the restart is rejected (JWT key not stable?): {status} {me}"
        assert _secret_values(server2, token, secret_id) == secret_values, "the secret no longer decrypts after a restart"
        _login(server2, admin_user, admin_password)
        assert not deferred, deferred
    except BaseException:
        for s in servers:
            print(f"--- server log ---\n{s.log_tail()}")
        print(f"--- mariadb ---\n{db.error_log()}")
        for f in sorted(workdir.glob("rewrites-*.txt")):
            print(f"--- {f.name} ---\n{f.read_text()}")
        raise
    finally:
        for s in servers:
            s.stop()
        db.stop()


def _free_port() -> int:
    from tests.contract.zenml_runtime import free_port

    return free_port()


def _login(server: Server, username: str, password: str) -> str:
    status, body = http("POST", f"{server.base}/api/v1/login", form={"username": username, "password": password})
    assert status == 200 and body.get("access_token"), f"login failed: {status} {body}"
    return body["access_token"]


def _secret_values(server: Server, token: str, secret_id: str) -> dict:
    status, body = http("GET", f"{server.base}/api/v1/secrets/{secret_id}", token=token)
    assert status == 200, f"reading the secret failed: {status} {body}"
    return body["body"]["values"]


def _sql_store_workloads():
    """Workloads whose migration can run here: any edition (the migration module is ZenML OSS code in the Pro image
    too), with the sql secrets store (the cloud and Vault stores need their services during store initialisation)."""
    params = []
    for path in [*STACK_FILES, *FIXTURE_STACK_FILES]:
        for i, w in enumerate(server_workloads(path)):
            if w.env_value("ZENML_SECRETS_STORE_TYPE", w.migration_container) == "sql" and \
                    str(w.env_value("ZENML_STORE_SSL", w.migration_container)).lower() == "true":
                params.append(pytest.param(path, i, id=f"{stack_name(path)}-{w.workspace}"))
    return params


@pytest.mark.parametrize("path, index", _sql_store_workloads())
def test_migration_verifies_the_database_certificate(path, index, workdir):
    """The migration Job against a database whose certificate its mounted CA did not sign: with
    ZENML_STORE_SSL_VERIFY_SERVER_CERT=True it must refuse to connect; with the right CA it must migrate."""
    w = server_workloads(path)[index]
    _require_mariadb()
    venv = _zenml_venv(_version(w))
    pki = Pki.create(workdir / "pki")
    other = Pki.create(workdir / "other-ca")
    db, setup = _start_database(w, workdir, pki)
    log = workdir / "processes.log"
    try:
        verify = str(w.env_value("ZENML_STORE_SSL_VERIFY_SERVER_CERT", w.migration_container)).lower() == "true"
        if verify:
            wrong = _run_migration(w, venv, workdir / "wrong-ca", other, db, log)
            assert wrong.returncode != 0, (
                f"{path.name} {w.workspace}: ZENML_STORE_SSL_VERIFY_SERVER_CERT=True, yet the migration connected to a "
                "database whose certificate no trusted CA signed"
                + ("" if w.env_value("ZENML_STORE_SSL_CA", w.migration_container) else
                   " (no ZENML_STORE_SSL_CA is rendered: PyMySQL verifies nothing without an explicit CA)"))
            assert "CERTIFICATE_VERIFY_FAILED" in wrong.stdout + wrong.stderr or "certificate verify failed" in (
                wrong.stdout + wrong.stderr), f"failed for another reason:\n{(wrong.stdout + wrong.stderr)[-3000:]}"
        right = _run_migration(w, venv, workdir / "right-ca", pki, db, log)
        assert right.returncode == 0, f"migration with the right CA failed:\n{(right.stdout + right.stderr)[-4000:]}"
        assert "Database migration finished" in right.stdout + right.stderr
    finally:
        db.stop()


EXTERNAL_NO_CA = Path(__file__).resolve().parent / "fixtures" / "external-db-no-ca.yaml"


def test_external_database_without_ca(workdir):
    """`verifyServerCertificate: true` (the default) without `caCertificate`: the config must reject it, or the
    rendered migration must still refuse an unknown server. PyMySQL verifies nothing when no CA file is given."""
    from stack_config import ConfigError
    from tests.contract import stack_plans

    try:
        stack_plans.config(EXTERNAL_NO_CA)
    except ConfigError as exc:
        assert any("caCertificate" in str(p) for p in exc.problems), exc.problems
        return
    w = stack_plans.server_workloads(EXTERNAL_NO_CA)[0]
    _require_mariadb()
    venv = _zenml_venv(_version(w))
    pki, other = Pki.create(workdir / "pki"), Pki.create(workdir / "other-ca")
    db, _ = _start_database(w, workdir, pki)
    try:
        run = _run_migration(w, venv, workdir / "wrong-ca", other, db, workdir / "processes.log")
        assert run.returncode != 0, (
            "an external database rendered with ZENML_STORE_SSL_VERIFY_SERVER_CERT=True but no ZENML_STORE_SSL_CA: the "
            "migration connected to a server whose certificate no trusted CA signed (PyMySQL sets CERT_NONE without a "
            "CA). Fix: require database.external.caCertificate when verifyServerCertificate is true "
            "(stack_config/rules.py), or render a CA bundle path in components/external_database.py")
    finally:
        db.stop()


@pytest.mark.parametrize("path, index", _workload_params([*STACK_FILES, *FIXTURE_STACK_FILES]))
def test_ports_and_probes_agree_with_the_command(path, index):
    """The port uvicorn is told to listen on is the one the probes, the container port and the Service target."""
    w = server_workloads(path)[index]
    c = w.server_container
    cmd = c["command"]
    assert "--port" in cmd, "the server command must name its port"
    port = int(cmd[cmd.index("--port") + 1])
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0", "uvicorn must listen on all pod addresses for probes and Service"
    assert [int(p["containerPort"]) for p in c["ports"]] == [port]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert int(c[probe]["httpGet"]["port"]) == port, probe
    services = [s for s in w.in_namespace("Service") if s["spec"].get("selector", {}).get("app.kubernetes.io/name") == "zenml-server"]
    assert services, "no Service selects the server"
    for svc in services:
        assert {int(p["targetPort"]) for p in svc["spec"]["ports"]} == {port}


def _pro_workloads():
    params = []
    for path in [*STACK_FILES, *FIXTURE_STACK_FILES]:
        for i, w in enumerate(server_workloads(path)):
            if w.is_pro:
                params.append(pytest.param(path, i, id=f"{stack_name(path)}-{w.workspace}"))
    return params


@pytest.mark.parametrize("path, index", _pro_workloads())
def test_pro_workspace_reaches_its_control_plane(path, index, tmp_path):
    """ZenML's own control-plane client, with the rendered env, against a fake control plane on loopback that
    answers only the documented paths (tests/contract/fake_control_plane.py): the login with the enrollment key and
    the audience, the start-up status report, and the user-info URL the server derives must all land on them.

    The one rewrite: the scheme and host of ZENML_SERVER_PRO_API_URL become the fake's loopback address (the path
    is kept); the audience is left as rendered, so it must equal the public API URL."""
    from stack_config.model import Scenario
    from tests.contract import stack_plans
    from tests.contract.fake_control_plane import FakeControlPlane

    w = server_workloads(path)[index]
    cfg = stack_plans.config(path)
    if cfg.control_plane.enabled:
        documented_prefix = "/api/v1"  # a self-hosted control plane serves its API under /api/v1
    else:
        assert cfg.scenario is not Scenario.self_hosted
        documented_prefix = urllib.parse.urlsplit(cfg.control_plane.external.api_url).path.rstrip("/")
    env = _resolved_env(w.server_container)
    rendered_api = env["ZENML_SERVER_PRO_API_URL"]
    with FakeControlPlane(api_prefix=documented_prefix, audience=rendered_api.rstrip("/"),
                          client_id=env["ZENML_SERVER_PRO_WORKSPACE_ID"],
                          client_secret=env["ZENML_SERVER_PRO_OAUTH2_CLIENT_SECRET"]) as fake:
        parts = urllib.parse.urlsplit(rendered_api)
        env["ZENML_SERVER_PRO_API_URL"] = fake.base + parts.path
        env.update({"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ZENML_CONFIG_PATH": str(tmp_path / "config")})
        env.pop("REQUESTS_CA_BUNDLE", None)  # the fake speaks plain HTTP on loopback
        env.pop("SSL_CERT_FILE", None)
        run = subprocess.run([str(_zenml_venv(_version(w)) / "bin" / "python"), str(Path(__file__).parent / "pro_connection.py")],
                             env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, (
            f"{path.name} {w.workspace}: ZenML cannot talk to its control plane with ZENML_SERVER_PRO_API_URL={rendered_api} "
            f"(documented API base: https://<host>{documented_prefix}): {run.stderr[-1500:]}\nrequests: {fake.requests}")
        urls = json.loads(run.stdout.strip().splitlines()[-1])
    assert [(m, p.split("?")[0], s) for m, p, s in fake.requests] == [
        ("POST", f"{documented_prefix}/auth/login", 200), ("PATCH", f"{documented_prefix}/workspace_status", 200)]
    assert urllib.parse.urlsplit(urls["external_user_info_url"]).path == f"{documented_prefix}/users/authorize_server"
    # The login redirect goes to the dashboard host, where the OIDC callback /api/auth/callback is registered.
    assert urls["external_login_url"] == env["ZENML_SERVER_PRO_DASHBOARD_URL"].rstrip("/") + "/api/auth/login"
