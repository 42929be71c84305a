"""Names defined once: the Kubernetes ServiceAccounts cloud identities are bound to, and the one helper that fits
a generated name into a length limit.
"""

from __future__ import annotations

import hashlib

# The ServiceAccounts a workspace's pods run as; cloud identities (IRSA roles, Workload Identity) name them exactly.
SERVER_SA = "zenml-server"
RUNNER_SA = "zenml-runner"
# The migration Job's own identity: never the server's Kubernetes API token (the workload manager's powers in the
# runner namespace), only the cloud identity its secrets store needs at initialisation.
MIGRATION_SA = "zenml-migration"


def bounded(name: str, limit: int, digest: int = 6, strip_dash: bool = True) -> str:
    """`name` if it fits in `limit` characters, else a readable prefix, `-` and `digest` hex characters of its
    SHA-256, so that distinct long names stay distinct. `strip_dash=False` keeps a trailing `-` of the prefix
    (the Cloud SQL instance names were generated that way; changing it would rename existing instances)."""
    if len(name) <= limit:
        return name
    prefix = name[: limit - digest - 1]
    if strip_dash:
        prefix = prefix.rstrip("-")
    return f"{prefix}-{hashlib.sha256(name.encode()).hexdigest()[:digest]}"
