"""Index URLs: credentials out, one spelling, and which hosts may be reached over plain http."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit


def strip_credentials(url: str) -> tuple[str, bool]:
    """``url`` without ``user:password@``, and whether there were any."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, False
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc)), True


def normalize_index_url(url: str) -> str:
    """Lower-case scheme and host, no credentials, no trailing slash, no fragment."""
    url, _ = strip_credentials(url.strip())
    parts = urlsplit(url)
    netloc = parts.netloc.lower()
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (with or without brackets)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    """The host of ``url``, lower-case, without port or brackets ('' when there is none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
