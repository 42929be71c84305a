#!/bin/sh
# mmdebstrap customize hook for the ZenML server image. "$1" is the rootfs; from the builder's environment:
#   ZENML_VERSION   the PyPI version of zenml[server] to install
#   RECIPE_DIR      this directory (entrypoint.sh)
#   PIP_CACHE       host directory for pip's wheel cache (bind-mounted during the install, never in the image)
#   HOST_CA_BUNDLE  the build host's CA bundle, used by pip only (never in the image)
set -eu
root="$1"
: "${ZENML_VERSION:?}" "${RECIPE_DIR:?}" "${PIP_CACHE:?}"

# The upstream contract: user and group zenml, uid/gid 1000, home /home/zenml, workdir /zenml,
# ZENML_CONFIG_PATH=/zenml/.zenconfig with local_stores/default_zen_store created and owned by the user.
grep -q '^zenml:' "$root/etc/group" || echo 'zenml:x:1000:' >> "$root/etc/group"
grep -q '^zenml:' "$root/etc/passwd" || echo 'zenml:x:1000:1000::/home/zenml:/bin/sh' >> "$root/etc/passwd"
if [ -f "$root/etc/shadow" ] && ! grep -q '^zenml:' "$root/etc/shadow"; then echo 'zenml:!:19700::::::' >> "$root/etc/shadow"; fi
install -d -o 1000 -g 1000 -m 0755 "$root/home/zenml" "$root/zenml" "$root/zenml/.zenconfig" \
  "$root/zenml/.zenconfig/local_stores" "$root/zenml/.zenconfig/local_stores/default_zen_store"

# mmdebstrap copied the host's resolv.conf into the rootfs (pip needs it); the host's CA bundle is for pip only.
# Neither stays in the image: the runtime provides resolv.conf and hostname.
cp -L "${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$root/etc/ssl/build-ca.crt"
mkdir -p "$PIP_CACHE" "$root/var/cache/build-pip"
mount --bind "$PIP_CACHE" "$root/var/cache/build-pip"
cleanup() {
  umount "$root/var/cache/build-pip" 2>/dev/null || :
  rmdir "$root/var/cache/build-pip" 2>/dev/null || :
  rm -f "$root/etc/ssl/build-ca.crt" "$root/etc/resolv.conf" "$root/etc/hostname"
}
trap cleanup EXIT

# The venv is owned by root (upstream chowns it to zenml; here the server cannot rewrite its own code).
chroot "$root" env -i PATH=/usr/bin:/bin /usr/bin/python3 -m venv /opt/venv
# A clean environment: the build host's PIP_*/REQUESTS_CA_BUNDLE/SSL_CERT_* would point at files of the rootfs
# (requests lets REQUESTS_CA_BUNDLE override pip's --cert). Proxy settings are the only thing passed through.
chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  ${http_proxy:+http_proxy="$http_proxy"} ${https_proxy:+https_proxy="$https_proxy"} ${no_proxy:+no_proxy="$no_proxy"} \
  PIP_CERT=/etc/ssl/build-ca.crt PIP_CACHE_DIR=/var/cache/build-pip PIP_DISABLE_PIP_VERSION_CHECK=1 \
  PIP_DEFAULT_TIMEOUT=100 PIP_PROGRESS_BAR=off \
  /opt/venv/bin/pip install --no-compile "zenml[server]==${ZENML_VERSION}"
chroot "$root" env -i PATH=/usr/bin:/bin /opt/venv/bin/pip freeze --disable-pip-version-check > "$root/zenml/requirements.txt"
chown 1000:1000 "$root/zenml/requirements.txt"
# Byte-compile once at build time (the rootfs is read-only at run time, so Python could not cache them later).
chroot "$root" env -i PATH=/usr/bin:/bin /opt/venv/bin/python -m compileall -q -j 0 /opt/venv/lib >/dev/null
# Fail the build now if the commands the pods run are missing from this version.
chroot "$root" env -i PATH=/usr/bin:/bin /opt/venv/bin/python -c "import importlib.util as u, sys
m = [n for n in ('zenml.zen_server.zen_server_api', 'zenml.zen_server.database_migration', 'pymysql', 'uvicorn')
     if u.find_spec(n) is None]
sys.exit('modules missing from the image: ' + ' '.join(m) if m else 0)"
test -x "$root/opt/venv/bin/uvicorn"

install -m 0755 "$RECIPE_DIR/entrypoint.sh" "$root/entrypoint.sh"
# Nothing that only the build needed.
rm -rf "$root/var/cache/apt/"* "$root/var/lib/apt/lists/"* "$root/var/log/"*.log "$root/var/log/apt" \
  "$root/root/.cache" "$root/tmp/"*
