#!/usr/bin/env bash
# The main job: deploy the `local` example stack with the real Pulumi engine.
#
#   scripts/deploy-local.sh              # local simulated cluster (started if needed)
#   KUBE_CONTEXT=kind-dev scripts/deploy-local.sh   # your own cluster, through that kube context
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
else
	# A user cluster needs only the engine and the providers.
	toolchain/build.sh pulumi pulumi-language-python provider-kubernetes provider-local plugins >&2
fi
eval "$(toolchain/env.sh)"

mkdir -p .zenml-platform
if [ -z "${KUBE_CONTEXT:-}" ]; then
	.venv/bin/python -m toolchain.localcluster up --dir "$ROOT/.zenml-platform/cluster" >&2
	export KUBECONFIG="$ROOT/.zenml-platform/cluster/kubeconfig"
	echo "deploy-local: using the local simulated cluster (stop it with: make cluster-down)" >&2
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
pulumi up --stack "$STACK" --config-file "$composed" --yes --non-interactive --diff=false
pulumi stack output --stack "$STACK" --json
