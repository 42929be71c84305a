#!/usr/bin/env bash
# Installs the Debian packages a real Kubernetes node on this machine needs (container runtime,
# CNI plugins, packet filtering, image tools, the local registry). Idempotent: when every
# package is already installed it only asks dpkg and returns (well under a second).
#
# Usage: toolchain/node-packages.sh [--check | --list]
#   (none)    install what is missing (as root, or through `sudo -n`)
#   --check   exit 0 when every package is installed, 1 otherwise (prints the missing ones)
#   --list    print the package list, one per line
#
# Packages and what the node uses them for:
#   containerd                   1.6.x container runtime (bin/containerd from `build.sh containerd`
#                                is the 2.x alternative; see docs/toolchain.md)
#   runc                         OCI runtime both containerd versions start containers with
#   containernetworking-plugins  CNI plugins under /usr/lib/cni (bridge, host-local, loopback, portmap)
#   iptables ipset conntrack     kube-proxy (iptables mode) and kube-router's NetworkPolicy firewall
#   iproute2                     network namespaces, veth and bridge links
#   skopeo umoci mmdebstrap      building and importing images without a registry pull
#   docker-registry              the local image registry pods pull from
# Services are not started here (Debian's policy-rc.d on these machines forbids it anyway);
# the node scripts run every daemon themselves.
set -euo pipefail

PACKAGES=(
	containerd
	runc
	containernetworking-plugins
	iptables
	ipset
	conntrack
	iproute2
	skopeo
	umoci
	mmdebstrap
	docker-registry
)

missing_packages() {
	local p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		case $status in ii*) ;; *) printf '%s\n' "$p" ;; esac
	done
}

mode=${1:-install}
case $mode in
--list)
	printf '%s\n' "${PACKAGES[@]}"
	exit 0
	;;
--check | install) ;;
*)
	echo "node-packages.sh: unknown argument '$mode' (use --check or --list, or no argument)" >&2
	exit 2
	;;
esac

if ! command -v dpkg-query >/dev/null; then
	echo "node-packages.sh: dpkg-query not found; this script installs Debian packages." >&2
	echo "node-packages.sh: install these with your distribution's tools: ${PACKAGES[*]}" >&2
	exit 1
fi

mapfile -t MISSING < <(missing_packages)
if [ ${#MISSING[@]} -eq 0 ]; then
	echo "node-packages.sh: all ${#PACKAGES[@]} node packages are installed" >&2
	exit 0
fi
if [ "$mode" = --check ]; then
	echo "node-packages.sh: missing: ${MISSING[*]}" >&2
	exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	SUDO=(sudo -n)
else
	echo "node-packages.sh: missing ${MISSING[*]}; run this script as root (or with password-less sudo)" >&2
	exit 1
fi

echo "node-packages.sh: installing ${MISSING[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet; refresh them once, bounded in time.
"${SUDO[@]}" timeout 600 apt-get update -q >&2
"${SUDO[@]}" timeout 1800 apt-get install -y -q --no-install-recommends "${MISSING[@]}" >&2

mapfile -t MISSING < <(missing_packages)
if [ ${#MISSING[@]} -gt 0 ]; then
	echo "node-packages.sh: still missing after apt-get install: ${MISSING[*]}" >&2
	exit 1
fi
echo "node-packages.sh: all ${#PACKAGES[@]} node packages are installed" >&2
