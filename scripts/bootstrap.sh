#!/usr/bin/env bash
# Create .venv with the pinned dependencies; a stamp keyed by requirements.txt makes reruns instant.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	exit 0
fi
echo "bootstrap: installing pinned Python dependencies into .venv" >&2
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
echo "$want" > "$stamp"
