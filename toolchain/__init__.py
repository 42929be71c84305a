"""Local toolchain helpers: the local Kubernetes cluster (see docs/toolchain.md)."""
