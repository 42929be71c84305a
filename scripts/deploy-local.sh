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
pulumi stack select --create "$STACK" --non-interactive >/dev/null
pulumi up --stack "$STACK" --yes --non-interactive --diff=false
pulumi stack output --stack "$STACK" --json
