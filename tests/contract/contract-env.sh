#!/usr/bin/env bash
# Prepare everything the contract and security tests need, from pinned versions, cached so reruns take seconds:
#
#   * Debian's mariadb-server (apt-get), started later by the tests on loopback only;
#   * one venv per ZenML version the example stacks deploy: .venv-zenml-<version>/ with zenml[server]==<version>
#     (the versions are read from stacks/Pulumi.*.yaml through the project's own config loader, plus the older
#     versions the real-node tests deploy, tests/node/versions.py);
#   * kube-score (third-party manifest scanner) built from the Go module proxy into .venv-kube-score-<v>/bin;
#   * requirements-contract.txt into the project venv (.venv).
#
# Usage: bash tests/contract/contract-env.sh            # everything
#        ZENML_VERSIONS="0.98.0" bash tests/contract/contract-env.sh
# Writes .contract-env/status (key=value lines) that the tests read to tell "not installed because it cannot be"
# (skip, with the reason) from "not installed because nobody ran this script" (fail in CI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
KUBE_SCORE_VERSION="v1.20.0"
PROJECT_PY="${PROJECT_PY:-$ROOT/.venv/bin/python}"
STATUS_DIR="$ROOT/.venv-contract-status"
STATUS="$STATUS_DIR/status"
mkdir -p "$STATUS_DIR"
: > "$STATUS"
log() { printf '[contract-env] %s\n' "$*" >&2; }
status() { printf '%s=%s\n' "$1" "$2" >> "$STATUS"; }

# --- project test requirements ---------------------------------------------------------------------------------
if [ -s requirements-contract.txt ] && grep -qv '^\s*\(#\|$\)' requirements-contract.txt; then
  "$PROJECT_PY" -m pip install -q -r requirements-contract.txt
fi

# --- MariaDB ---------------------------------------------------------------------------------------------------
if command -v mariadbd >/dev/null 2>&1 && command -v mariadb-install-db >/dev/null 2>&1; then
  log "mariadb-server present: $(mariadbd --version)"
  status mariadb ok
else
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  log "installing Debian's mariadb-server"
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server mariadb-client >/dev/null 2>"$STATUS_DIR/apt.err"; then
    log "first install attempt failed; running apt-get update and retrying"
    $SUDO apt-get update -q >/dev/null 2>>"$STATUS_DIR/apt.err" || true
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server mariadb-client >/dev/null 2>>"$STATUS_DIR/apt.err" || true
  fi
  if command -v mariadbd >/dev/null 2>&1; then
    status mariadb ok
  else
    reason="$(tail -n 1 "$STATUS_DIR/apt.err" | tr -d '\n' | cut -c1-200)"
    log "mariadb-server could not be installed: $reason"
    status mariadb "unavailable: apt-get install mariadb-server failed: ${reason:-unknown}"
  fi
fi
# Debian's package starts a system service on install; the tests run their own instance on a private datadir.

# --- ZenML server venvs ----------------------------------------------------------------------------------------
if [ -z "${ZENML_VERSIONS:-}" ]; then
  ZENML_VERSIONS="$(cd "$ROOT" && "$PROJECT_PY" - <<'EOF'
import glob, sys
sys.path.insert(0, ".")
from stack_config import load_stack_file
versions = set()
for path in sorted(glob.glob("stacks/Pulumi.*.yaml")):
    cfg = load_stack_file(path)
    versions.add(cfg.zenml_version)
    versions.update(cfg.version_of(ws) for ws in cfg.workspaces)
# The real-node tests also deploy older versions (an upgrade starts from one) and need their client.
from tests.node.versions import CLIENT_VERSIONS
versions.update(CLIENT_VERSIONS)
print(" ".join(sorted(versions)))
EOF
)"
fi
# The server runs as the pod's non-root uid in the tests, so its interpreter must live where that uid can read it:
# Debian's python3.11 (the project venv's interpreter may sit under /root). Override with ZENML_BASE_PYTHON.
BASE_PY="${ZENML_BASE_PYTHON:-}"
if [ -z "$BASE_PY" ]; then
  if [ -x /usr/bin/python3.11 ] && /usr/bin/python3.11 -c 'import venv, ensurepip' 2>/dev/null; then
    BASE_PY=/usr/bin/python3.11
  else
    BASE_PY="$("$PROJECT_PY" -c 'import sys; print(sys._base_executable)')"
  fi
fi
for v in $ZENML_VERSIONS; do
  venv="$ROOT/.venv-zenml-$v"
  stamp="$venv/.installed-zenml-server-$v"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$BASE_PY" ] && "$venv/bin/python" -c "import zenml, sys; sys.exit(zenml.__version__ != '$v')" 2>/dev/null; then
    log "zenml[server]==$v present in $venv"
  else
    log "installing zenml[server]==$v into $venv (a few minutes the first time)"
    rm -rf "$venv"
    "$BASE_PY" -m venv "$venv"
    "$venv/bin/python" -m pip install -q "zenml[server]==$v"
    echo "$BASE_PY" > "$stamp"
  fi
  status "zenml-$v" "$venv"
done
status zenml-versions "$ZENML_VERSIONS"

# --- kube-score ------------------------------------------------------------------------------------------------
ks_dir="$ROOT/.venv-kube-score-$KUBE_SCORE_VERSION/bin"
if [ -x "$ks_dir/kube-score" ]; then
  log "kube-score $KUBE_SCORE_VERSION present"
  status kube-score "$ks_dir/kube-score"
elif command -v go >/dev/null 2>&1; then
  log "building kube-score $KUBE_SCORE_VERSION with go install (about 2-3 minutes the first time)"
  mkdir -p "$ks_dir"
  if GOBIN="$ks_dir" GOFLAGS=-mod=mod go install "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION" 2>"$STATUS_DIR/go.err"; then
    status kube-score "$ks_dir/kube-score"
  else
    status kube-score "unavailable: go install failed: $(tail -n 1 "$STATUS_DIR/go.err" | cut -c1-200)"
  fi
else
  status kube-score "unavailable: no go toolchain"
fi
status kube-score-version "$KUBE_SCORE_VERSION"
log "status written to $STATUS"
cat "$STATUS" >&2
