#!/usr/bin/env bash
# Debian packages the image tooling needs (images/build.py, images/push.py, tests -m images). Run as root.
#   mmdebstrap      Debian bookworm root filesystems (the base of the server and MariaDB images)
#   umoci           OCI image layouts: add the layer, set the config; unpack bundles for runc in the tests
#   skopeo          copy OCI layouts to the registry mirror
#   docker-registry a local registry (the node's mirror on 127.0.0.1:5000; the push test starts its own)
#   runc            runs the images in tests/images without a cluster
#   gcc libc6-dev   the static pause binary
#   openssl         test certificates (TLS between the server and MariaDB in tests/images)
#   ca-certificates TLS to deb.debian.org and PyPI during builds
set -euo pipefail
PACKAGES=(mmdebstrap umoci skopeo docker-registry runc gcc libc6-dev openssl ca-certificates)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-tools: all present (${PACKAGES[*]})" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
echo "install-tools: installing ${missing[*]}" >&2
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
# docker-registry starts a system service on install; the project runs its own instances on loopback only.
