#!/bin/sh
# mmdebstrap customize hook for the MariaDB image. "$1" is the rootfs; RECIPE_DIR is this directory.
set -eu
root="$1"
: "${RECIPE_DIR:?}"
test "$(chroot "$root" id -u mysql)" = 999

# Our own server config: Debian's mariadb.conf.d binds to 127.0.0.1 and logs to files; a container listens on
# all addresses and logs to stderr. The deployment's files in /etc/mysql/conf.d are read last, so they win.
rm -f "$root/etc/mysql/my.cnf" "$root/etc/mysql/mariadb.conf.d/"*.cnf
install -m 0644 "$RECIPE_DIR/my.cnf" "$root/etc/mysql/my.cnf"
install -m 0644 "$RECIPE_DIR/image.cnf" "$root/etc/mysql/mariadb.conf.d/00-image.cnf"
install -d -m 0755 "$root/etc/mysql/conf.d" "$root/docker-entrypoint-initdb.d"
install -m 0755 "$RECIPE_DIR/entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"

# An empty data directory (the package's postinst initialised one; the entrypoint initialises the volume) and
# the socket directory, owned by mysql.
rm -rf "$root/var/lib/mysql"
install -d -o 999 -g 999 -m 0750 "$root/var/lib/mysql"
rm -rf "$root/run/mysqld"
install -d -o 999 -g 999 -m 0755 "$root/run/mysqld"

# The runtime provides resolv.conf and hostname; mmdebstrap copied the build host's.
rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
rm -rf "$root/var/cache/apt/"* "$root/var/lib/apt/lists/"* "$root/var/log/"*.log "$root/var/log/apt" \
  "$root/var/log/mysql" "$root/tmp/"*
