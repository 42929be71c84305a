#!/usr/bin/env bash
# Builds the local toolchain (Pulumi CLI, Python language host, Kubernetes provider, etcd,
# kube-apiserver/controller-manager/scheduler, kwok) from Go modules into a per-user cache, and,
# on request (`build.sh node`), what a real node runs besides the kubelet (CoreDNS, the
# kube-router NetworkPolicy firewall, Traefik, containerd 2.x) plus the Debian node packages:
#
#   ${ZENML_PLATFORM_CACHE:-${XDG_CACHE_HOME:-~/.cache}/zenml-platform}/toolchain/<key>/
#       bin/          pulumi, the Python language host, etcd, kube-*, kwok (PATH, see env.sh);
#                     node steps: coredns, kube-router, traefik, containerd,
#                     containerd-shim-runc-v2, ctr
#       providers/    the provider plugin binaries (kept off PATH: the engine would otherwise
#                     use them from PATH, whatever version a program asks for)
#       pulumi-home/  PULUMI_HOME with the provider plugins installed
#       src/          scratch copies of the wrapper modules the binaries were built from
#       stamps/       one file per finished step; a step with a stamp (and its outputs) is
#                     skipped; delete a stamp to force that step (build.sh itself is not in the key)
#       logs/         build logs
#
# Usage: toolchain/build.sh [STEP...]   (default: the control-plane steps, in order)
#   steps: pulumi pulumi-language-python provider-kubernetes provider-local plugins etcd kubernetes kwok
#   node steps (in the default): node-packages coredns kube-router traefik; `node` stands for them;
#   containerd (v2, optional, not in the default). node-packages runs toolchain/node-packages.sh (apt-get, needs
#   root or password-less sudo when something is missing; its "outputs" are the installed packages).
# Env:   TOOLCHAIN_SKIP="step ..."  steps to leave out (e.g. "pulumi" when a pulumi of the
#        pinned version is already on PATH), GO (default: go), TOOLCHAIN_GO_P (default: 2).
# Last line of output: an `eval`-able line that sets up the environment.
set -euo pipefail

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

GO=${GO:-go}
GO_P=${TOOLCHAIN_GO_P:-2}
# The real node (the default of `cluster up` and `make deploy-local`) needs the node steps; containerd v2 is
# an alternative to Debian's containerd 1.6 and is built only when asked for.
NODE_STEPS=(node-packages coredns kube-router traefik)
DEFAULT_STEPS=(pulumi pulumi-language-python provider-kubernetes provider-local plugins etcd kubernetes kwok "${NODE_STEPS[@]}")
ALL_STEPS=("${DEFAULT_STEPS[@]}" containerd)
STEPS=()
for a in "${@:-${DEFAULT_STEPS[@]}}"; do
	if [ "$a" = node ]; then STEPS+=("${NODE_STEPS[@]}"); else STEPS+=("$a"); fi
done
# Every name is checked before anything is created or built.
for s in "${STEPS[@]}"; do
	case " ${ALL_STEPS[*]} " in *" $s "*) ;; *) echo "build.sh: unknown step '$s' (steps: ${ALL_STEPS[*]}, or node)" >&2; exit 2 ;; esac
done

command -v "$GO" >/dev/null || { echo "build.sh: '$GO' not found; Go 1.26+ is needed" >&2; exit 1; }

PROVIDERS="$TOOLCHAIN_HOME/providers"
mkdir -p "$TOOLCHAIN_BIN" "$PROVIDERS" "$TOOLCHAIN_HOME/stamps" "$TOOLCHAIN_HOME/logs" "$TOOLCHAIN_HOME/src" "$TOOLCHAIN_PULUMI_HOME"

# One build at a time per cache directory; a second caller waits, then finds the stamps.
exec 9>"$TOOLCHAIN_HOME/.lock"
if ! flock -n 9; then
	echo "build.sh: another build holds $TOOLCHAIN_HOME/.lock; waiting..." >&2
	flock 9
fi

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
# The module proxy reachable here serves some versions that its checksum database does not
# know (404 on lookup); the wrappers' go.sum files pin their hashes instead.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi"
unset GOBIN

log() { printf '[toolchain] %s\n' "$*" >&2; }

# stage_module NAME: copy the wrapper module go/NAME to src/NAME (fresh) and print that path.
stage_module() {
	local src="$TOOLCHAIN_DIR/go/$1" dst="$TOOLCHAIN_HOME/src/$1"
	rm -rf "$dst"
	mkdir -p "$dst"
	cp -R "$src/." "$dst/"
	printf '%s\n' "$dst"
}

# go_build DIR OUT PKG LDFLAGS: build PKG inside module DIR into OUT (default dir: bin/), atomically.
go_build() {
	local dir=$1 out=$2 pkg=$3 ldflags=$4
	case $out in /*) ;; *) out="$TOOLCHAIN_BIN/$out" ;; esac
	log "go build $pkg -> $out"
	(cd "$dir" && "$GO" build -p "$GO_P" -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
	mv -f "$out.tmp" "$out"
}

PULUMI_LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

step_pulumi() {
	local d; d=$(stage_module pulumi)
	go_build "$d" pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_LDFLAGS"
}

step_pulumi-language-python() {
	local d sdk; d=$(stage_module pulumi-language-python)
	go_build "$d" pulumi-language-python . "$PULUMI_LDFLAGS"
	# The exec script and the Python policy/provider shim ship in the sdk/v3 module.
	sdk=$(cd "$d" && "$GO" mod download -json "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
	install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$TOOLCHAIN_BIN/pulumi-language-python-exec"
	install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$TOOLCHAIN_BIN/pulumi-resource-pulumi-python"
}

step_provider-kubernetes() {
	local d mod; d=$(stage_module provider-kubernetes)
	mod=$(cd "$d" && "$GO" mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_PSEUDO" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
	# What the provider's `go generate` would write: the schema with its version set, and the
	# terraform mapping, both compacted.
	python3 - "$mod/cmd/pulumi-resource-kubernetes" "$d" "$PULUMI_KUBERNETES_PROVIDER_VERSION" <<'PY'
import json, os, sys
src, dst, version = sys.argv[1:4]
with open(os.path.join(src, "schema.json")) as f:
    schema = json.load(f)
schema["version"] = version
with open(os.path.join(dst, "schema-embed.json"), "w") as f:
    json.dump(schema, f, separators=(",", ":"))
with open(os.path.join(src, "terraform-mapping.json")) as f:
    mapping = json.load(f)
with open(os.path.join(dst, "terraform-mapping-embed.json"), "w") as f:
    json.dump(mapping, f, separators=(",", ":"))
PY
	go_build "$d" "$PROVIDERS/pulumi-resource-kubernetes" . \
		"-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_PROVIDER_VERSION"
}

# Our stand-in for the random and tls providers (go/provider-local): one binary that serves
# either provider depending on the name it runs under.
step_provider-local() {
	local d; d=$(stage_module provider-local)
	go_build "$d" "$PROVIDERS/pulumi-resource-random" . \
		"-X main.randomVersion=$PULUMI_RANDOM_VERSION -X main.tlsVersion=$PULUMI_TLS_VERSION"
	cp -f "$PROVIDERS/pulumi-resource-random" "$PROVIDERS/.pulumi-resource-tls.tmp"
	mv -f "$PROVIDERS/.pulumi-resource-tls.tmp" "$PROVIDERS/pulumi-resource-tls"
}

plugin_install() { # NAME VERSION
	local pulumi=pulumi
	[ -x "$TOOLCHAIN_BIN/pulumi" ] && pulumi="$TOOLCHAIN_BIN/pulumi"
	log "pulumi plugin install resource $1 $2 --file providers/pulumi-resource-$1"
	PULUMI_HOME="$TOOLCHAIN_PULUMI_HOME" PULUMI_SKIP_UPDATE_CHECK=true \
		PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
		"$pulumi" plugin install resource "$1" "$2" --reinstall --file "$PROVIDERS/pulumi-resource-$1" >&2
}

step_plugins() {
	local v
	for v in $PULUMI_KUBERNETES_PLUGIN_VERSIONS; do
		plugin_install kubernetes "$v"
	done
	plugin_install random "$PULUMI_RANDOM_VERSION"
	plugin_install tls "$PULUMI_TLS_VERSION"
}

step_etcd() {
	local d; d=$(stage_module etcd)
	go_build "$d" etcd go.etcd.io/etcd/server/v3 ""
}

step_kubernetes() {
	local d c minor v; d=$(stage_module kubernetes)
	v=${KUBERNETES_VERSION#v}
	minor=$(echo "$v" | cut -d. -f2)
	local ld="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
	ld+=" -X k8s.io/component-base/version.gitMajor=${v%%.*} -X k8s.io/component-base/version.gitMinor=$minor"
	ld+=" -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=$KUBERNETES_BUILD_DATE"
	for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
		go_build "$d" "$c" "k8s.io/kubernetes/cmd/$c" "$ld"
	done
}

step_kwok() {
	local d; d=$(stage_module kwok)
	go_build "$d" kwok sigs.k8s.io/kwok/cmd/kwok \
		"-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBERNETES_VERSION#v}"
}

step_node-packages() {
	"$TOOLCHAIN_DIR/node-packages.sh"
}

step_coredns() {
	local d; d=$(stage_module coredns)
	go_build "$d" coredns . \
		"-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION -X github.com/coredns/coredns/coremain.gitTag=$COREDNS_VERSION -X github.com/coredns/coredns/coremain.buildDate=$COREDNS_BUILD_DATE"
}

step_kube-router() {
	local d; d=$(stage_module kube-router)
	go_build "$d" kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router \
		"-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=$KUBE_ROUTER_BUILD_DATE"
}

# module_dir MODULE@VERSION: download a module (outside any wrapper, so no replace applies) and
# print its directory in the module cache.
module_dir() {
	(cd "$TOOLCHAIN_HOME/src" && GOFLAGS= "$GO" mod download -json "$1") |
		python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["Dir"])'
}

# The traefik wrapper replaces lego with ./lego: a copy of lego at the version traefik requires,
# whose DNS-provider factory is overwritten by go/traefik/_lego (see that file for why).
step_traefik() {
	local d lego; d=$(stage_module traefik)
	lego=$(module_dir "github.com/go-acme/lego/v5@$TRAEFIK_LEGO_VERSION")
	cp -R "$lego" "$d/lego"
	chmod -R u+w "$d/lego"
	cp -R "$d/_lego/." "$d/lego/"
	go_build "$d" traefik github.com/traefik/traefik/v3/cmd/traefik \
		"-X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION -X github.com/traefik/traefik/v3/pkg/version.Codename=$TRAEFIK_CODENAME -X github.com/traefik/traefik/v3/pkg/version.BuildDate=$TRAEFIK_BUILD_DATE"
}

# containerd 2.x without cgo: btrfs needs cgo (left out by the tag and by CGO_ENABLED=0), zfs and
# devmapper snapshotters are not used (overlayfs is). The CRI plugin stays in.
step_containerd() {
	local d c pkg=github.com/containerd/containerd/v2
	d=$(stage_module containerd)
	local ld="-X $pkg/version.Version=$CONTAINERD_VERSION -X $pkg/version.Revision=$CONTAINERD_VERSION -X $pkg/version.Package=$pkg"
	for c in containerd containerd-shim-runc-v2 ctr; do
		GOFLAGS="$GOFLAGS -tags=${CONTAINERD_BUILD_TAGS// /,}" go_build "$d" "$c" "$pkg/cmd/$c" "$ld"
	done
}

# A stamp counts only while the step's outputs are still there.
outputs_present() {
	local f
	case $1 in
	node-packages) "$TOOLCHAIN_DIR/node-packages.sh" --check 2>/dev/null || return 1; f="" ;;
	coredns) f="bin/coredns" ;;
	kube-router) f="bin/kube-router" ;;
	traefik) f="bin/traefik" ;;
	containerd) f="bin/containerd bin/containerd-shim-runc-v2 bin/ctr" ;;
	pulumi) f="bin/pulumi" ;;
	pulumi-language-python) f="bin/pulumi-language-python bin/pulumi-language-python-exec bin/pulumi-resource-pulumi-python" ;;
	provider-kubernetes) f="providers/pulumi-resource-kubernetes" ;;
	provider-local) f="providers/pulumi-resource-random providers/pulumi-resource-tls" ;;
	plugins) f="pulumi-home/plugins" ;;
	etcd) f="bin/etcd" ;;
	kubernetes) f="bin/kube-apiserver bin/kube-controller-manager bin/kube-scheduler bin/kubelet bin/kube-proxy bin/kubectl" ;;
	kwok) f="bin/kwok" ;;
	esac
	for f in $f; do [ -e "$TOOLCHAIN_HOME/$f" ] || return 1; done
}

for s in "${STEPS[@]}"; do
	case " ${TOOLCHAIN_SKIP:-} " in *" $s "*) log "skip $s (TOOLCHAIN_SKIP)"; continue ;; esac
	if [ -e "$TOOLCHAIN_HOME/stamps/$s" ] && outputs_present "$s"; then
		log "$s: already built ($(cat "$TOOLCHAIN_HOME/stamps/$s"))"
		continue
	fi
	start=$(date +%s)
	log "$s: building (log: $TOOLCHAIN_HOME/logs/$s.log)"
	if ! "step_$s" >"$TOOLCHAIN_HOME/logs/$s.log" 2>&1; then
		tail -n 30 "$TOOLCHAIN_HOME/logs/$s.log" >&2
		echo "build.sh: step $s failed; full log: $TOOLCHAIN_HOME/logs/$s.log" >&2
		exit 1
	fi
	echo "built in $(($(date +%s) - start))s on $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$TOOLCHAIN_HOME/stamps/$s"
	log "$s: done in $(($(date +%s) - start))s"
done

log "toolchain key:  $TOOLCHAIN_KEY"
log "binaries:       $TOOLCHAIN_BIN"
log "providers:      $PROVIDERS"
log "PULUMI_HOME:    $TOOLCHAIN_PULUMI_HOME"
(cd "$TOOLCHAIN_BIN" && ls -1 | sed 's/^/[toolchain]   /' >&2) || true
log "set up a shell with:"
echo "eval \"\$('$TOOLCHAIN_DIR/env.sh')\""
