#!/bin/sh
# mmdebstrap essential hook: the postgres user and group with uid/gid 999 (the uid the StatefulSet runs as, and
# the official image's) before postgresql-common's maintainer scripts would pick a free system uid; and no
# "main" cluster created at install time (the entrypoint initialises the volume).
set -eu
root="$1"
grep -q '^postgres:' "$root/etc/group" || echo 'postgres:x:999:' >> "$root/etc/group"
grep -q '^postgres:' "$root/etc/passwd" || echo 'postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/sh' >> "$root/etc/passwd"
if [ -f "$root/etc/shadow" ] && ! grep -q '^postgres:' "$root/etc/shadow"; then echo 'postgres:!:19700::::::' >> "$root/etc/shadow"; fi
if [ -f "$root/etc/gshadow" ] && ! grep -q '^postgres:' "$root/etc/gshadow"; then echo 'postgres:!::' >> "$root/etc/gshadow"; fi
mkdir -p "$root/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' > "$root/etc/postgresql-common/createcluster.d/zenml-platform.conf"
