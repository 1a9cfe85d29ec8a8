"""Lock -> plan -> fetch -> validate -> pip -> report; download, verify."""
