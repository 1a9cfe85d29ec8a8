"""The host rule: which URLs a run may fetch, and which file URLs a lock may name.

A trusted index may be reached at its own origin, and its listings may point files at its own
origin or at the hosts it declares in ``file-hosts`` (https only; plain http only for an http
index, and then its own origin or a declared host). The index client (every listed file), the
HTTP layer (every redirect hop), ``install`` (every pylock file URL) and ``check`` (the same
file URLs, offline) all ask here, so that no path trusts a host another path refuses.

A local index (``file://``, a PEP 503 directory tree, or a find-links folder) has no host: it may
serve the files inside its tree, judged twice, by the path as written and by the real path with
every symlink resolved (a link to ``/etc/passwd`` or to another folder is outside). The tree is
the index's directory; for an index in a directory named ``simple``, its parent (the usual
``ROOT/simple/NAME/`` pages with ``ROOT/files/...`` or ``ROOT/packages/...`` next to it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from safeinstall.errors import PolicyError
from safeinstall.policy.model import IndexSpec

_DEFAULT_PORTS = {"https": 443, "http": 80}


def index_allows(index: IndexSpec, url: str) -> bool:
    """Whether ``index`` (its origin or one of its file hosts) may serve ``url``."""
    parts = urlsplit(url)
    own = urlsplit(index.url)
    if own.scheme.lower() == "file" or parts.scheme.lower() == "file":
        return _in_tree(index, url)
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


def listed_file_origin(index: IndexSpec, filename: str, parts: SplitResult) -> str:
    """The credential-free netloc of ``parts``, the URL an index lists ``filename`` at, when
    the host rule lets ``index`` serve it there; PolicyError when not (once per page and origin)."""
    index_parts = urlsplit(index.url)
    schemes = {"http": ("https", "http"), "file": ("file",)}.get(index_parts.scheme, ("https",))
    if parts.scheme not in schemes:
        raise PolicyError(
            f"index {index.name!r} points {filename} at a {parts.scheme or 'relative'}: "
            "URL, which is refused",
            hint="only https artifact URLs are accepted (http only for an http index)",
        )
    if not index_allows(index, urlunsplit(parts)):
        if parts.scheme == "file":  # as written or with its symlinks resolved
            where = os.path.realpath(unquote(parts.path))
            raise PolicyError(
                f"index {index.name!r} points {filename} outside its tree, to {where}",
                hint="keep the files (and what their links lead to) in the index's tree",
            )
        raise PolicyError(
            f"index {index.name!r} points {filename} at host {parts.hostname!r}, "
            "which is neither the index's host nor one of its file hosts",
            hint=f"if that host is trusted, add it to file_hosts of index {index.name!r}",
        )
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return str(netloc)


def local_path(url: str) -> str | None:
    """The absolute, normalized path a ``file:`` URL names (None: not a local file URL)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc.lower() not in ("", "localhost"):
        return None
    path = unquote(parts.path)
    if parts.query or "\x00" in path or not path.startswith("/"):
        return None
    return os.path.normpath(path)


def local_tree(index: IndexSpec) -> str | None:
    """The directory a local index may serve files from (see the module docstring)."""
    root = local_path(index.url)
    if root is None:
        return None
    return os.path.dirname(root) if os.path.basename(root) == "simple" else root


def _in_tree(index: IndexSpec, url: str) -> bool:
    tree, path = local_tree(index), local_path(url)
    if tree is None or path is None:
        return False
    return _under(path, tree) and _under(os.path.realpath(path), os.path.realpath(tree))


def _under(path: str, tree: str) -> bool:
    return path == tree or path.startswith(tree.rstrip("/") + "/")


class HostPolicy:
    """``HostPolicy(indexes)(url)``: whether any of the trusted ``indexes`` may serve ``url``."""

    def __init__(self, indexes: Iterable[IndexSpec]) -> None:
        self._indexes = tuple(indexes)

    def __call__(self, url: str) -> bool:
        return any(index_allows(index, url) for index in self._indexes)
