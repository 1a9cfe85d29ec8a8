"""Known vulnerabilities: OSV records and matching, the online and offline sources, --fix."""
