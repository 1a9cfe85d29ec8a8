"""URL hygiene shared by the checker, the policy and the HTTP layer: normalize, redact, loopback."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit


def redact(url: str) -> str:
    """The URL with any user:password replaced by ``***`` (safe to print or log)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def strip_credentials(url: str) -> str:
    """The URL without user:password (for writing to locks and comparing)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


def normalize(url: str) -> str:
    """Comparable index URL: no credentials, lower-case scheme and host, no trailing slash."""
    parts = urlsplit(strip_credentials(url.strip()))
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``: the scope of credentials and of caller headers. A port
    that is no number, or out of range, raises ValueError (as ``urlsplit(url).port`` does)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback ranges (where plain http cannot be intercepted)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
