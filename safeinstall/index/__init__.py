"""The only code that talks to an index: HTTP, credentials, pages, file names, metadata,
ranged reads, verified artifact downloads."""
