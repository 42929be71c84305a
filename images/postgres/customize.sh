#!/bin/sh
# mmdebstrap customize hook for the PostgreSQL image. "$1" is the rootfs; RECIPE_DIR is this directory.
set -eu
root="$1"
: "${RECIPE_DIR:?}" "${PG_MAJOR:?}"
test "$(chroot "$root" id -u postgres)" = 999
test -x "$root/usr/lib/postgresql/$PG_MAJOR/bin/postgres"

# initdb copies this sample into every new data directory: listen on all addresses (the official image's edit).
sample="$root/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$sample"
grep -q "^listen_addresses = '\*'" "$sample"

# No cluster from the packages (in case createcluster.d was not honoured), and no snakeoil key: a private key
# baked into an image is every user's key. The StatefulSet mounts its own certificate.
rm -rf "$root/etc/postgresql/$PG_MAJOR" "$root/var/lib/postgresql/$PG_MAJOR"
rm -f "$root/etc/ssl/private/ssl-cert-snakeoil.key" "$root/etc/ssl/certs/ssl-cert-snakeoil.pem"

install -m 0755 "$RECIPE_DIR/entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
install -d -m 0755 "$root/docker-entrypoint-initdb.d"
# The data volume's mount point and the socket directory, as in the official image.
install -d -o 999 -g 999 -m 0700 "$root/var/lib/postgresql/data"
rm -rf "$root/var/run/postgresql" "$root/run/postgresql"
install -d -o 999 -g 999 -m 2775 "$root/run/postgresql"

# The runtime provides resolv.conf and hostname; mmdebstrap copied the build host's.
rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
rm -rf "$root/var/cache/apt/"* "$root/var/lib/apt/lists/"* "$root/var/log/"*.log "$root/var/log/apt" \
  "$root/var/log/postgresql" "$root/tmp/"*
