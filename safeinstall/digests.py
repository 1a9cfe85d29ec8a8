"""Hash digests: what one written in hex looks like, and SHA-256 for the hooks' own digests.

A digest read from a lock, a policy, an index page, a RECORD or a cache entry's name is checked
here before it is compared or becomes part of a path. The check is a character set, not a
regular expression (the hook path imports this, and compiling one costs more than it saves).

``sha256`` hashes without hashlib's start-up: ``import hashlib`` loads OpenSSL's libcrypto
(``_hashlib``), about 11M instructions, more than all the hashing `lock --check` does (its
freshness and content digests, a few kilobytes each). CPython's own SHA-256, the module hashlib
itself falls back on without OpenSSL (``_sha256``; ``_sha2`` since Python 3.12), gives the same
digest and loads in a fraction of that; an interpreter with neither gets hashlib's. Large files
(wheels, sdists) are hashed through hashlib: there OpenSSL's speed counts, not its start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Final, Protocol

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


class Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


def _constructor() -> Callable[[bytes], Hash]:
    for name in ("_sha256", "_sha2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        builtin: Callable[[bytes], Hash] = module.sha256
        return builtin
    import hashlib

    return hashlib.sha256


_SHA256 = _constructor()


def sha256(data: bytes = b"") -> Hash:
    """A SHA-256 hash object over ``data``, as ``hashlib.sha256(data)`` is."""
    return _SHA256(data)
