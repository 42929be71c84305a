"""The saas layout's tenant-side program (its own Pulumi project: tenant/Pulumi.yaml)."""
