"""Inspect before install: start-up code, clobbering, unsafe code patterns, lying metadata."""
