"""`check` and the pre-commit hooks: offline and fast; imports nothing of the network,
the resolver or builds (tests/test_architecture.py holds it to that)."""
