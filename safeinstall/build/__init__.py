"""sdist metadata and wheels, only where the policy allows, in isolation."""
