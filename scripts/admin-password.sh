#!/usr/bin/env bash
# Print the generated admin password of one workspace of a stack deployed by `make deploy-local`.
#
#   scripts/admin-password.sh [WORKSPACE] [STACK]      # defaults: default, local
#
# Reads the secret output `adminCredentials` from the stack's state (the password is never written to a file):
# the same backend and passphrase as deploy-local (PULUMI_BACKEND_URL, else .pulumi-state/; PULUMI_CONFIG_PASSPHRASE
# or _FILE, else .zenml-platform/local.passphrase), and the project's toolchain when no pulumi is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
WS=${1:-default}
STACK=${2:-${STACK:-local}}
if ! command -v pulumi >/dev/null 2>&1; then
	eval "$(toolchain/env.sh)"
fi
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] && [ -f .zenml-platform/local.passphrase ]; then
	export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.zenml-platform/local.passphrase
fi
creds=$(pulumi stack output adminCredentials --stack "$STACK" --show-secrets --json --non-interactive)
WS="$WS" python3 -c '
import json, os, sys
creds = json.loads(sys.stdin.read() or "null") or {}
ws = os.environ["WS"]
if ws not in creds:
    known = ", ".join(sorted(creds)) or "none"
    sys.exit("admin-password: no generated admin for workspace %r (workspaces with one: %s)" % (ws, known))
print(creds[ws]["password"])
' <<<"$creds"
