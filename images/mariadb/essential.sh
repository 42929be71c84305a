#!/bin/sh
# mmdebstrap essential hook: create the mysql user and group with uid/gid 999 (the uid the StatefulSet runs as,
# and the official image's) before mariadb-server's maintainer scripts would pick a free system uid.
set -eu
root="$1"
grep -q '^mysql:' "$root/etc/group" || echo 'mysql:x:999:' >> "$root/etc/group"
grep -q '^mysql:' "$root/etc/passwd" || echo 'mysql:x:999:999:MariaDB Server:/nonexistent:/bin/false' >> "$root/etc/passwd"
if [ -f "$root/etc/shadow" ] && ! grep -q '^mysql:' "$root/etc/shadow"; then echo 'mysql:!:19700::::::' >> "$root/etc/shadow"; fi
if [ -f "$root/etc/gshadow" ] && ! grep -q '^mysql:' "$root/etc/gshadow"; then echo 'mysql:!::' >> "$root/etc/gshadow"; fi
