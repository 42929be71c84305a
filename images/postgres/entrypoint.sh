#!/bin/sh
# zenml-platform PostgreSQL entrypoint (our own; the contract is in images/README.md).
#
#   docker-entrypoint.sh [postgres] [server options...]     (options only: postgres is put in front)
#
# Environment (the official image's names):
#   POSTGRES_PASSWORD     required on first start: the password of POSTGRES_USER (the superuser)
#   POSTGRES_USER         optional, default postgres: the superuser initdb creates
#   POSTGRES_DB           optional, default POSTGRES_USER: database created on first start
#   PGDATA                optional, default /var/lib/postgresql/data: the data directory
#   POSTGRES_INITDB_ARGS  optional: more initdb arguments (word-split)
# On first start (no PG_VERSION in PGDATA) initdb runs, TCP clients must authenticate with scram-sha-256, and the
# database is created and /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh run, on a server that listens on a
# private socket only, so no probe or client sees it before it is ready. Later starts keep the data as it is.
# Then postgres is exec'ed as uid 999; started as root, the entrypoint drops to that uid first.
set -eu

log() { printf '%s [entrypoint] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
  exec "$@"  # any other command (the backup CronJob runs sh -c ... pg_dump in this image)
fi

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=}"
: "${POSTGRES_INITDB_ARGS:=}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=999 --regid=999 --clear-groups -- "$0" "$@"
fi

marker="$PGDATA/.zenml-init-incomplete"
if [ -e "$marker" ]; then
  die "$PGDATA holds an interrupted first-start initialisation; empty the volume to initialise it again"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "$POSTGRES_PASSWORD" ] || die "the data directory is empty and POSTGRES_PASSWORD is not set"
  mkdir -p "$PGDATA" 2>/dev/null || :
  chmod 0700 "$PGDATA" 2>/dev/null || :
  log "initialising an empty data directory $PGDATA"
  # The password reaches initdb on its standard input, never in an argv or a file.
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is word-split on purpose, as the official image does
  printf '%s\n' "$POSTGRES_PASSWORD" | initdb --username="$POSTGRES_USER" --pwfile=/dev/stdin \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 $POSTGRES_INITDB_ARGS >/dev/null \
    || die "initdb failed"
  : > "$marker"
  # initdb admits TCP from the loopback only: any address, with a password (the StatefulSet's TLS setup replaces
  # this file with its own hostssl-only pg_hba.conf via hba_file).
  printf '\n# zenml-platform image: TCP clients from anywhere, with a password\nhost all all all scram-sha-256\n' \
    >> "$PGDATA/pg_hba.conf"

  sockdir="$(mktemp -d /tmp/pg-init.XXXXXX)"
  shift  # the server options only
  postgres "$@" -c listen_addresses= -c unix_socket_directories="$sockdir" &
  pid=$!
  i=0
  until pg_isready -h "$sockdir" -U "$POSTGRES_USER" -d postgres -q; do
    kill -0 "$pid" 2>/dev/null || die "the initialising server exited"
    i=$((i + 1)); [ "$i" -le 120 ] || die "the initialising server did not answer in 60 s"
    sleep 0.5
  done
  client() { psql -v ON_ERROR_STOP=1 -X -q -h "$sockdir" -U "$POSTGRES_USER" --no-password "$@"; }
  if [ "$POSTGRES_DB" != postgres ]; then
    # :"db" is psql's quoted-identifier interpolation: any database name is safe.
    printf '%s\n' 'CREATE DATABASE :"db";' | client -d postgres -v db="$POSTGRES_DB" || die "creating database $POSTGRES_DB failed"
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sql) log "running $f"; client -d "$POSTGRES_DB" -f "$f" || die "$f failed" ;;
      *.sql.gz) log "running $f"; gzip -dc "$f" | client -d "$POSTGRES_DB" || die "$f failed" ;;
      *.sh) log "running $f"; . "$f" ;;
      *) log "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w -t 60 stop >/dev/null || die "stopping the initialising server failed"
  wait "$pid" || :
  rmdir "$sockdir" 2>/dev/null || :
  set -- postgres "$@"
  rm -f "$marker"
  log "initialised: database $POSTGRES_DB, superuser $POSTGRES_USER"
fi

unset POSTGRES_PASSWORD PGPASSWORD
exec "$@"
