"""The host rule: which URLs a run may fetch, and which file URLs a lock may name.

A trusted index may be reached at its own origin, and its listings may point files at its own
origin or at the hosts it declares in ``file-hosts`` (https only; plain http only for an http
index, and then its own origin or a declared host). The index client (every listed file), the
HTTP layer (every redirect hop), ``install`` (every pylock file URL) and ``check`` (the same
file URLs, offline) all ask here, so that no path trusts a host another path refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from safeinstall.policy.model import IndexSpec

_DEFAULT_PORTS = {"https": 443, "http": 80}


def index_allows(index: IndexSpec, url: str) -> bool:
    """Whether ``index`` (its origin or one of its file hosts) may serve ``url``."""
    parts = urlsplit(url)
    own = urlsplit(index.url)
    scheme, own_scheme = parts.scheme.lower(), own.scheme.lower()
    if scheme not in (("https", "http") if own_scheme == "http" else ("https",)):
        return False
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
        own_port = own.port or _DEFAULT_PORTS.get(own_scheme, 0)
    except ValueError:  # a port out of range or not a number
        return False
    host = (parts.hostname or "").lower()
    if not host:
        return False
    if scheme == own_scheme and host == (own.hostname or "").lower() and port == own_port:
        return True
    for entry in index.file_hosts:
        entry_host, _, entry_port = entry.lower().partition(":")
        if host == entry_host and str(port) == (entry_port or str(_DEFAULT_PORTS[scheme])):
            return True
    return False


class HostPolicy:
    """``HostPolicy(indexes)(url)``: whether any of the trusted ``indexes`` may serve ``url``."""

    def __init__(self, indexes: Iterable[IndexSpec]) -> None:
        self._indexes = tuple(indexes)

    def __call__(self, url: str) -> bool:
        return any(index_allows(index, url) for index in self._indexes)
