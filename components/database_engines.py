"""What differs between MySQL 8, MariaDB and PostgreSQL when run in the cluster; the StatefulSet logic is shared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.database import PORTS

# Where the backup (and restore) Jobs read the database CA (the `<name>-ca` Secret) to verify the server.
BACKUP_CA_DIR = "/etc/zenml-db-ca"


@dataclass(frozen=True)
class Engine:
    kind: str
    port: int
    uid: int
    data_path: str
    run_paths: tuple[str, ...]
    env: Callable[[str, str, str], list[dict[str, Any]]]  # (credentials secret, database, username)
    args: Callable[[bool], list[str]]  # tls -> server args
    config_files: Callable[[bool, str], dict[str, str]]  # (tls, tls dir) -> files for a ConfigMap
    config_path: str
    readiness: list[str]
    dump_script: Callable[[bool], str]  # tls -> the backup Job's shell script
    # (secret, host, database, username, CA file or None) -> the backup Job's environment. With a CA file the
    # client verifies the server's certificate and name (the database CA is mounted there); without, TLS is
    # still required where the server has it, unverified (only the image tests run it that way).
    dump_env: Callable[..., list[dict[str, Any]]]
    protocol: str = ""  # the client protocol (URL scheme, DatabaseConnection.engine); default: kind

    @property
    def scheme(self) -> str:
        return self.protocol or self.kind


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


TLS_DIR = "/etc/zenml-db-tls"
PG_CONFIG_DIR = "/etc/zenml-db-config"
# With TLS on, every TCP connection must use TLS (hostssl; plain `host` lines would accept plaintext). The Unix socket
# is reachable only inside the database container (the image's init scripts and local tools), as in the image's
# default pg_hba.conf.
PG_HBA_TLS = (
    "# managed by zenml-platform: TLS-only TCP connections\n"
    "local   all  all                trust\n"
    "hostssl all  all  0.0.0.0/0     scram-sha-256\n"
    "hostssl all  all  ::/0          scram-sha-256\n"
)

# sh has no pipefail: without this a dump that cannot connect still "succeeds" with an empty .sql.gz (seen on the
# real node when the NetworkPolicy admitted a new pod a moment late). The Job fails and its backoffLimit retries.
def _reach(client: str) -> str:
    """Bounded wait (30 x 2 s) until the client connects: the NetworkPolicy admits a new pod's egress only after the
    network plugin has seen the pod, which on a busy node takes seconds (every attempt of a Job failed otherwise)."""
    return (f'i=0; until {client} -e "SELECT 1" >/dev/null 2>&1; do i=$((i+1)); '
            'if [ "$i" -ge 30 ]; then echo "cannot reach the database at $DB_HOST"; exit 1; fi; sleep 2; done; ')


_FAIL_ON_DUMP_ERROR = 'if [ -e /tmp/dump.failed ]; then rm -f "$f.partial"; echo "dump failed; no backup written"; exit 1; fi; '


def _mysql_config(tls: bool, tls_dir: str) -> dict[str, str]:
    """One conf.d file; MySQL 8 and MariaDB 10.11 read the same options."""
    lines = ["[mysqld]", "skip-name-resolve", "max_connections=400", "character-set-server=utf8mb4"]
    if tls:
        lines += [
            "require_secure_transport=ON",
            f"ssl_ca={tls_dir}/ca.crt",
            f"ssl_cert={tls_dir}/tls.crt",
            f"ssl_key={tls_dir}/tls.key",
            "tls_version=TLSv1.2,TLSv1.3",
        ]
    return {"zenml.cnf": "\n".join(lines) + "\n"}

def _mysql_family_env(prefix: str) -> Callable[[str, str, str], list[dict[str, Any]]]:
    """The official MySQL and MariaDB images' variables, which differ only by their prefix."""
    return lambda secret, db, user: [
        _secret_env(f"{prefix}_ROOT_PASSWORD", secret, "root-password"),
        {"name": f"{prefix}_DATABASE", "value": db},
        {"name": f"{prefix}_USER", "value": user},
        _secret_env(f"{prefix}_PASSWORD", secret, "password"),
    ]


def _mysql_family_dump(client: str, dumper: str, ssl_flag: bool, verify_flags: str) -> Callable[[bool], str]:
    """A gzipped logical dump of one database; fails (and keeps no partial file) when the dump fails.
    ``ssl_flag``: the client must be told to use TLS (MariaDB 10.11 clients do not try it by themselves).
    ``verify_flags``: what makes the client verify the server against ``$DB_CA_FILE`` (set by the CronJob
    whenever the database has TLS)."""
    def script(tls: bool) -> str:
        ssl = " --ssl" if (tls and ssl_flag) else ""
        if tls:
            ssl += "${DB_CA_FILE:+ " + verify_flags + "}"
        return (
            'set -eu; f="/backups/${DB_NAME}-$(date +%Y%m%dT%H%M%S).sql.gz"; '
            + _reach(f'{client} --host="$DB_HOST" --user=root{ssl}')
            + f'rm -f /tmp/dump.failed; {{ {dumper} --host="$DB_HOST" --user=root{ssl} --single-transaction --routines '
            '--triggers --databases "$DB_NAME" || touch /tmp/dump.failed; } | gzip > "$f.partial"; '
            + _FAIL_ON_DUMP_ERROR + 'mv "$f.partial" "$f"; '
            'find /backups -name "*.sql.gz" -mtime +"$RETENTION_DAYS" -delete; ls -l /backups'
        )

    return script


def _mysql_family_dump_env(secret: str, host: str, db: str, user: str, ca_file: str | None = None) -> list[dict[str, Any]]:
    return [
        _secret_env("MYSQL_PWD", secret, "root-password"),
        {"name": "DB_HOST", "value": host},
        {"name": "DB_NAME", "value": db},
        *([{"name": "DB_CA_FILE", "value": ca_file}] if ca_file else []),
    ]


def _mysql_family(kind: str, prefix: str, run_dir: str, readiness: list[str], client: str, dumper: str,
                  ssl_flag: bool, verify_flags: str, protocol: str = "") -> Engine:
    """MySQL 8 and MariaDB share the port, user, data path, conf.d options and the dump's environment; they differ
    in the images' variable prefix, the socket directory, the readiness probe and the client tools."""
    return Engine(
        kind=kind,
        protocol=protocol,
        port=PORTS["mysql"],
        uid=999,
        data_path="/var/lib/mysql",
        run_paths=(run_dir, "/tmp"),
        env=_mysql_family_env(prefix),
        args=lambda tls: [],
        config_files=lambda tls, tls_dir: _mysql_config(tls, tls_dir),
        config_path="/etc/mysql/conf.d",
        readiness=readiness,
        dump_script=_mysql_family_dump(client, dumper, ssl_flag=ssl_flag, verify_flags=verify_flags),
        dump_env=_mysql_family_dump_env,
    )


MYSQL = _mysql_family(
    "mysql", "MYSQL", "/var/run/mysqld",
    readiness=["sh", "-c", 'mysqladmin ping -h 127.0.0.1 -uroot -p"$MYSQL_ROOT_PASSWORD" --silent'],
    client="mysql", dumper="mysqldump", ssl_flag=False,
    verify_flags='--ssl-mode=VERIFY_IDENTITY --ssl-ca="$DB_CA_FILE"',
)

# Debian bookworm's mariadb-server with our entrypoint (images/mariadb): the official MariaDB image's variable
# names, the same conf.d options as MySQL. Clients speak the MySQL protocol (ZenML's URL scheme is mysql).
MARIADB = _mysql_family(
    "mariadb", "MARIADB", "/run/mysqld",
    # Over the server's socket: secure transport by definition (require_secure_transport admits it), and MariaDB
    # 10.11 clients do not try TLS on TCP by themselves. The first-start initialisation uses a private socket, so
    # this only answers once the real server is up.
    # The password travels in the client's environment (MYSQL_PWD), not in its argv.
    readiness=["sh", "-c", 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb-admin ping --socket=/run/mysqld/mysqld.sock -uroot --silent'],
    # MariaDB 10.11 clients do not use TLS unless asked: --ssl when the server requires it.
    client="mariadb", dumper="mariadb-dump", ssl_flag=True,
    verify_flags='--ssl-ca="$DB_CA_FILE" --ssl-verify-server-cert',
    protocol="mysql",
)


def _postgres_reach() -> str:
    """The same bounded wait as the MySQL family's, with psql (over TLS when PGSSLMODE asks for it)."""
    return ('i=0; until psql -X -q -d "$PGDATABASE" -c "SELECT 1" >/dev/null 2>&1; do i=$((i+1)); '
            'if [ "$i" -ge 30 ]; then echo "cannot reach the database at $PGHOST"; exit 1; fi; sleep 2; done; ')


def _postgres_dump(tls: bool) -> str:
    """pg_dump's custom format (compressed, read back by pg_restore); fails (and keeps no partial file) when the
    dump fails. The environment asks for TLS (PGSSLMODE=require); a database without TLS is asked for none."""
    return (
        'set -eu; ' + ('' if tls else 'PGSSLMODE=prefer; export PGSSLMODE; ')
        + 'f="/backups/${PGDATABASE}-$(date +%Y%m%dT%H%M%S).dump"; '
        + _postgres_reach()
        + 'if ! pg_dump --format=custom --file="$f.partial"; then rm -f "$f.partial"; '
        'echo "dump failed; no backup written"; exit 1; fi; mv "$f.partial" "$f"; '
        'find /backups -name "*.dump" -mtime +"$RETENTION_DAYS" -delete; ls -l /backups'
    )


POSTGRES = Engine(
    kind="postgres",
    port=PORTS["postgres"],
    uid=999,
    data_path="/var/lib/postgresql/data",
    run_paths=("/var/run/postgresql", "/tmp"),
    env=lambda secret, db, user: [
        {"name": "POSTGRES_DB", "value": db},
        {"name": "POSTGRES_USER", "value": user},
        _secret_env("POSTGRES_PASSWORD", secret, "password"),
        {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
    ],
    args=lambda tls: (
        ["-c", "ssl=on", "-c", f"ssl_cert_file={TLS_DIR}/tls.crt", "-c", f"ssl_key_file={TLS_DIR}/tls.key",
         "-c", f"ssl_ca_file={TLS_DIR}/ca.crt", "-c", "ssl_min_protocol_version=TLSv1.2",
         "-c", f"hba_file={PG_CONFIG_DIR}/pg_hba.conf", "-c", "password_encryption=scram-sha-256"]
        if tls
        else []
    ),
    config_files=lambda tls, tls_dir: {"pg_hba.conf": PG_HBA_TLS} if tls else {},
    config_path=PG_CONFIG_DIR,
    readiness=["sh", "-c", 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'],
    dump_script=lambda tls: _postgres_dump(tls),
    dump_env=lambda secret, host, db, user, ca_file=None: [
        _secret_env("PGPASSWORD", secret, "password"),
        {"name": "PGHOST", "value": host},
        {"name": "PGDATABASE", "value": db},
        {"name": "PGUSER", "value": user},
        # The server accepts TLS only (pg_hba hostssl); with the CA the client checks its certificate and name.
        *([{"name": "PGSSLMODE", "value": "verify-full"}, {"name": "PGSSLROOTCERT", "value": ca_file}] if ca_file
          else [{"name": "PGSSLMODE", "value": "require"}]),
    ],
)
