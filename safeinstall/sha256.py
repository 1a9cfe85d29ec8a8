"""SHA-256 for the digests the pre-commit hooks compute, without hashlib's start-up.

``import hashlib`` loads OpenSSL's libcrypto (``_hashlib``): about 11M instructions, more than
all the hashing `lock --check` does (its freshness and content digests, a few kilobytes each).
CPython's own SHA-256, the module hashlib itself falls back on without OpenSSL (``_sha256``;
``_sha2`` since Python 3.12), gives the same digest and loads in a fraction of that. Where an
interpreter has neither (a build without its own hashes), this is hashlib's. Large files (wheels,
sdists) are hashed through hashlib: there OpenSSL's speed counts, not its start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol


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
