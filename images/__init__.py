"""Container images built from source for air-gapped clusters: recipes, an OCI-layout cache, and a mirror push."""
