#!/usr/bin/env bash
# The main job: deploy the `local` example stack with the real Pulumi engine.
#
#   scripts/deploy-local.sh              # the project's real local node (started if needed; needs root)
#   KUBE_CONTEXT=kind-dev scripts/deploy-local.sh   # your own cluster, through that kube context
#
# On the local node the stack's images are built from recipes (images/) and pushed to the node's registry on
# 127.0.0.1:5000, the `local` stack's registryMirror; nothing is pulled from outside.
#
# State goes to the file backend .pulumi-state/ unless PULUMI_BACKEND_URL is set. The stack's secrets are
# encrypted with PULUMI_CONFIG_PASSPHRASE(_FILE), or else with a passphrase generated once into
# .zenml-platform/local.passphrase (git-ignored, mode 0600).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STACK=${STACK:-local}

scripts/bootstrap.sh

if [ -z "${KUBE_CONTEXT:-}" ]; then
	toolchain/build.sh >&2
elif command -v pulumi >/dev/null 2>&1; then
	# A user cluster and the user's own Pulumi CLI: nothing is built; the engine fetches its plugins as usual.
	echo "deploy-local: using $(command -v pulumi) ($(pulumi version 2>/dev/null)) and kube context $KUBE_CONTEXT" >&2
else
	# A user cluster needs only the engine and the providers.
	toolchain/build.sh pulumi pulumi-language-python provider-kubernetes provider-local plugins >&2
fi
if [ -z "${KUBE_CONTEXT:-}" ] || ! command -v pulumi >/dev/null 2>&1; then
	eval "$(toolchain/env.sh)"
fi

mkdir -p .zenml-platform
CLUSTER_DIR="$ROOT/.zenml-platform/cluster"
if [ -z "${KUBE_CONTEXT:-}" ]; then
	.venv/bin/python -m toolchain.localcluster up --mode node --dir "$CLUSTER_DIR" >&2
	export KUBECONFIG="$CLUSTER_DIR/kubeconfig"
	echo "deploy-local: using the local node (stop it with: make cluster-down)" >&2
	registry=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$CLUSTER_DIR/cluster.json")
	.venv/bin/python -m images.push --registry "$registry" --stack "$STACK" >&2
else
	export ZENML_PLATFORM_KUBE_CONTEXT="$KUBE_CONTEXT"
	echo "deploy-local: using kube context $KUBE_CONTEXT" >&2
fi

export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$ROOT/.pulumi-state}
mkdir -p .pulumi-state
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
	if [ ! -f .zenml-platform/local.passphrase ]; then
		(umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(32))" > .zenml-platform/local.passphrase)
	fi
	export PULUMI_CONFIG_PASSPHRASE_FILE="$ROOT/.zenml-platform/local.passphrase"
fi

.venv/bin/python cli.py validate --stack "$STACK"

# The passphrase salt of this machine's stack is kept out of the committed stack file: `stack init` writes it
# there, we move it to .zenml-platform/ and run `up` on a composed copy (committed config + this salt).
committed="stacks/Pulumi.$STACK.yaml"
salt_file=".zenml-platform/$STACK.salt"
composed=".zenml-platform/Pulumi.$STACK.yaml"
if ! pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
	had_salt=$(grep -c '^encryptionsalt:' "$committed" || true)
	pulumi stack init "$STACK" --secrets-provider passphrase --non-interactive >/dev/null
	if [ "$had_salt" = 0 ]; then
		grep '^encryptionsalt:' "$committed" > "$salt_file"
		sed -i '/^encryptionsalt:/d' "$committed"
	fi
fi
cp "$committed" "$composed"
if [ -s "$salt_file" ] && ! grep -q '^encryptionsalt:' "$composed"; then
	cat "$salt_file" >> "$composed"
fi
pulumi up --stack "$STACK" --config-file "$composed" --yes --non-interactive --diff=false >&2
outputs=.zenml-platform/$STACK.outputs.json
pulumi stack output --stack "$STACK" --json > "$outputs"
ca=.zenml-platform/$STACK-ca.pem
.venv/bin/python -c 'import json,sys; o=json.load(open(sys.argv[1])); open(sys.argv[2],"w").write(o.get("caBundle") or "")' "$outputs" "$ca"
if [ -z "${KUBE_CONTEXT:-}" ]; then
	hosts=$(.venv/bin/python -c 'import json,sys; print(" ".join(w["url"].split("://",1)[1].split("/",1)[0] for w in json.load(open(sys.argv[1]))["workspaces"].values()))' "$outputs")
	# shellcheck disable=SC2086
	.venv/bin/python -m toolchain.localcluster hosts --dir "$CLUSTER_DIR" $hosts >&2
fi
version=$(.venv/bin/python -c 'import sys; sys.path.insert(0, "."); from stack_config import load_stack_file; print(load_stack_file(sys.argv[1]).zenml_version)' "$committed")
echo
.venv/bin/python scripts/login_instructions.py "$outputs" "$ROOT/$ca" "$version"
