#!/bin/sh
# zenml-platform MariaDB entrypoint (our own; the contract is in images/README.md).
#
#   docker-entrypoint.sh [mariadbd] [server options...]
#
# Environment (the StatefulSet's; the MYSQL_* spellings are accepted too):
#   MARIADB_ROOT_PASSWORD  required on first start: root's password (root@localhost and root@'%')
#   MARIADB_DATABASE       optional: database created on first start
#   MARIADB_USER           optional: user created on first start, with all privileges on MARIADB_DATABASE
#   MARIADB_PASSWORD       required with MARIADB_USER
# On first start (an empty data directory) the datadir is initialised, root's password set, the database and
# user created and /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh run, all on a server that listens on a private
# socket only, so no probe or client sees it before it is ready. Later starts keep the data as it is. Then
# mariadbd is exec'ed as uid 999 (mysql); started as root, the entrypoint drops to that uid first.
set -eu

log() { printf '%s [entrypoint] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- mariadbd "$@"
fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
  exec "$@"  # any other command (the backup CronJob runs sh -c ... in this image)
fi

: "${MARIADB_ROOT_PASSWORD:=${MYSQL_ROOT_PASSWORD:-}}"
: "${MARIADB_DATABASE:=${MYSQL_DATABASE:-}}"
: "${MARIADB_USER:=${MYSQL_USER:-}}"
: "${MARIADB_PASSWORD:=${MYSQL_PASSWORD:-}}"

datadir="$("$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }')"
datadir="${datadir%/}"
[ -n "$datadir" ] || die "cannot read datadir from the server configuration"

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$datadir" /run/mysqld
  chown mysql:mysql "$datadir" /run/mysqld
  exec setpriv --reuid=999 --regid=999 --clear-groups -- "$0" "$@"
fi

# SQL string literal: backslashes and single quotes escaped.
sql_str() { printf "'%s'" "$(printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g")"; }
# One SQL statement per line, verbatim (dash's echo would interpret the backslashes of an escaped password).
sql() { printf '%s\n' "$*"; }
# SQL identifier: backticks doubled.
sql_id() { printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"; }

marker="$datadir/.zenml-init-incomplete"
if [ -e "$marker" ]; then
  die "$datadir holds an interrupted first-start initialisation; empty the volume to initialise it again"
fi

if [ ! -d "$datadir/mysql" ]; then
  [ -n "$MARIADB_ROOT_PASSWORD" ] || die "the data directory is empty and MARIADB_ROOT_PASSWORD is not set"
  if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ]; then die "MARIADB_USER is set but MARIADB_PASSWORD is not"; fi
  if [ "$MARIADB_USER" = root ]; then die "MARIADB_USER must not be root (root is configured by MARIADB_ROOT_PASSWORD)"; fi
  log "initialising an empty data directory $datadir"
  : > "$marker"
  mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal --skip-test-db \
    --skip-name-resolve --rpm >/dev/null
  init_socket="$(mktemp -u /tmp/mariadb-init.XXXXXX).sock"
  "$@" --skip-networking --socket="$init_socket" --skip-log-bin &
  pid=$!
  i=0
  until mariadb-admin --socket="$init_socket" -uroot ping --silent >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || die "the initialising server exited"
    i=$((i + 1)); [ "$i" -le 120 ] || die "the initialising server did not answer in 60 s"
    sleep 0.5
  done
  client() { mariadb --socket="$init_socket" -uroot --binary-mode --batch "$@"; }
  {
    sql "SET @@SESSION.SQL_LOG_BIN=0;"
    sql "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host NOT IN ('localhost'));"
    sql "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_str "$MARIADB_ROOT_PASSWORD");"
    sql "CREATE USER 'root'@'%' IDENTIFIED BY $(sql_str "$MARIADB_ROOT_PASSWORD");"
    sql "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$MARIADB_DATABASE" ]; then
      sql "CREATE DATABASE IF NOT EXISTS $(sql_id "$MARIADB_DATABASE");"
    fi
    if [ -n "$MARIADB_USER" ]; then
      sql "CREATE USER $(sql_str "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_str "$MARIADB_PASSWORD");"
      if [ -n "$MARIADB_DATABASE" ]; then
        sql "GRANT ALL PRIVILEGES ON $(sql_id "$MARIADB_DATABASE").* TO $(sql_str "$MARIADB_USER")@'%';"
      fi
    fi
    sql "FLUSH PRIVILEGES;"
  } | client || die "creating root, database and user failed"
  # From here on root needs its password; the client reads it from the environment, never from argv.
  export MYSQL_PWD="$MARIADB_ROOT_PASSWORD"
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sql) log "running $f"; client ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} < "$f" || die "$f failed" ;;
      *.sql.gz) log "running $f"; gzip -dc "$f" | client ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} || die "$f failed" ;;
      *.sh) log "running $f"; . "$f" ;;
      *) log "ignoring $f" ;;
    esac
  done
  mariadb-admin --socket="$init_socket" -uroot shutdown || die "stopping the initialising server failed"
  unset MYSQL_PWD
  wait "$pid" || :
  rm -f "$marker"
  log "initialised: database ${MARIADB_DATABASE:-(none)}, user ${MARIADB_USER:-(none)}"
fi

unset MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD MARIADB_PASSWORD MYSQL_PASSWORD
exec "$@"
