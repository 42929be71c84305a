"""Size profiles: one word in a stack file sets replicas, resources, storage, backups and data protection.

`production` protects stateful resources (`protect=True`, `retain_on_delete=True`) so no `up` or accidental
`destroy` can drop a database, its volume, or the keys that decrypt stored secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Profile(str, Enum):
    dev = "dev"
    small = "small"
    production = "production"


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def to_k8s(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class ProfileDefaults:
    server_replicas: int
    server_max_replicas: int
    server_resources: Resources
    database_resources: Resources
    database_storage: str
    backup_enabled: bool
    backup_schedule: str
    backup_retention_days: int
    backup_storage: str
    protect_data: bool


PROFILES: dict[Profile, ProfileDefaults] = {
    Profile.dev: ProfileDefaults(
        server_replicas=1,
        server_max_replicas=1,
        server_resources=Resources("100m", "450Mi", "1", "800Mi"),
        database_resources=Resources("100m", "256Mi", "500m", "512Mi"),
        database_storage="2Gi",
        backup_enabled=False,
        backup_schedule="17 2 * * *",
        backup_retention_days=3,
        backup_storage="2Gi",
        protect_data=False,
    ),
    Profile.small: ProfileDefaults(
        server_replicas=1,
        server_max_replicas=1,
        server_resources=Resources("250m", "512Mi", "1", "1Gi"),
        database_resources=Resources("250m", "512Mi", "1", "1Gi"),
        database_storage="10Gi",
        backup_enabled=True,
        backup_schedule="17 2 * * *",
        backup_retention_days=7,
        backup_storage="10Gi",
        protect_data=False,
    ),
    Profile.production: ProfileDefaults(
        server_replicas=2,
        server_max_replicas=6,
        server_resources=Resources("500m", "1Gi", "2", "2Gi"),
        database_resources=Resources("1", "2Gi", "2", "4Gi"),
        database_storage="50Gi",
        backup_enabled=True,
        backup_schedule="17 */6 * * *",
        backup_retention_days=14,
        backup_storage="100Gi",
        protect_data=True,
    ),
}

# Managed database sizes per profile and target (an instance's `instanceClass`/`storageGb` override them):
# RDS instance class and storage (GB), Cloud SQL tier and disk (GB).
MANAGED_INSTANCE_CLASS: dict[str, dict[Profile, str]] = {
    "aws": {Profile.dev: "db.t4g.micro", Profile.small: "db.t4g.small", Profile.production: "db.m7g.large"},
    "gcp": {Profile.dev: "db-f1-micro", Profile.small: "db-custom-1-3840", Profile.production: "db-custom-2-7680"},
}
MANAGED_STORAGE_GB: dict[str, dict[Profile, int]] = {
    "aws": {Profile.dev: 20, Profile.small: 20, Profile.production: 100},
    "gcp": {Profile.dev: 10, Profile.small: 20, Profile.production: 100},
}
