"""Offline planning: run a stack's program under recording mocks (no engine, no cluster, no credentials)."""
