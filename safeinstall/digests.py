"""What a hash digest written in hex looks like: one check for every reader of hashes.

A digest read from a lock, a policy, an index page, a RECORD or a cache entry's name is checked
here before it is compared or becomes part of a path. The check is a character set, not a
regular expression (the hook path imports this, and compiling one costs more than it saves).
"""

from __future__ import annotations

from typing import Final

# hexdigest() lengths of the algorithms safeinstall pins and verifies with
HEX_LENGTHS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX: Final = frozenset("0123456789abcdef")


def is_hex(value: str) -> bool:
    """Whether ``value`` is non-empty lowercase hex (as ``hashlib``'s ``hexdigest`` writes)."""
    return bool(value) and _LOWER_HEX.issuperset(value)


def is_hex_digest(algorithm: str, value: str) -> bool:
    """Whether ``value`` is a lowercase hex digest of ``algorithm``'s length (an algorithm not in
    ``HEX_LENGTHS`` has none: False)."""
    return len(value) == HEX_LENGTHS.get(algorithm, -1) and _LOWER_HEX.issuperset(value)


def is_sha256(value: str) -> bool:
    """Whether ``value`` is a sha256 digest in lowercase hex: 64 characters of 0-9 and a-f, so
    also a safe file name."""
    return is_hex_digest("sha256", value)
