"""pip requirement-file syntax, lines, files, PEP 508, pyproject inputs and edits."""
