"""The policy value, its keys, loading it, pip's configured indexes, `init`, licenses."""
