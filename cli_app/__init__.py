"""The `zenml-platform` CLI. Commands import their heavy dependencies lazily so `--help` starts fast."""
