"""Views of a lock for people: sbom, diff, the dependency graph."""
