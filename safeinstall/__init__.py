"""safeinstall: hash-pinned locks, verified installs and commit-time guards for dependencies."""

__version__ = "0.1.0"
