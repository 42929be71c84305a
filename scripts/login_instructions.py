"""What `make deploy-local` prints at the end: how to log in to the deployed workspaces, as commands that work.

    .venv/bin/python scripts/login_instructions.py OUTPUTS_JSON CA_FILE

OUTPUTS_JSON is `pulumi stack output --json` (without --show-secrets: passwords are never printed; the command
that reveals them is). The same function feeds the real-node test, which runs the commands it prints.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def instructions(outputs: dict, ca_file: str, stack: str = "local", zenml_version: str | None = None) -> list[str]:
    lines = []
    pip = f'pip install "zenml=={zenml_version}"' if zenml_version else "pip install zenml"
    ca = shlex.quote(ca_file)
    for name, ws in sorted((outputs.get("workspaces") or {}).items()):
        url = ws["url"]
        host = url.split("://", 1)[1].split("/", 1)[0]
        reveal = f"{shlex.quote(str(ROOT / 'scripts' / 'admin-password.sh'))} {shlex.quote(name)} {shlex.quote(stack)}"
        lines += [
            f"ZenML workspace '{name}': {url}",
            f"  host name   {host} -> 127.0.0.1 (/etc/hosts entry made by the local node; removed by `make cluster-down`)",
            f"  CA bundle   {ca_file}  (the stack's internal CA; `pulumi stack output caBundle`)",
            f"  admin       user 'admin'; password: {reveal}",
            f"  client      {pip}",
            f"  log in      zenml login {url} --ssl-ca-cert {ca}   (opens the web login; sign in as admin)",
            "  or, without a browser:",
            f"              export ZENML_STORE_URL={url} ZENML_STORE_VERIFY_SSL={ca} ZENML_STORE_USERNAME=admin",
            f"              ZENML_STORE_PASSWORD=\"$({reveal})\" && export ZENML_STORE_PASSWORD",
            "              zenml status",
        ]
    return lines


def main(argv: list[str]) -> int:
    outputs = json.loads(Path(argv[1]).read_text())
    version = argv[3] if len(argv) > 3 else None
    print("\n".join(instructions(outputs, argv[2], zenml_version=version)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
