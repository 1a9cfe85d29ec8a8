"""URL hygiene shared by the checker, the policy and the HTTP layer: split, normalize, redact,
loopback.

Every URL read from an input file goes through ``check`` where it is read: ``urlsplit`` refuses
an unclosed IPv6 bracket, and its ``port`` refuses a port that is no number or out of range, so a
URL that passed ``check`` can be split, normalized and compared anywhere without an exception.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

from safeinstall.errors import InputError, Location

# scheme://user:password@ up to the last "@" of the authority: what ``redact`` hides when the
# URL does not split (compiled on first use, through re's cache: rare, and the hooks load this)
_USERINFO = r"\A([^:/?#]*:)?//[^/?#]*@"


def split(url: str) -> SplitResult:
    """``urlsplit(url)`` with every part readable (``port`` included), or ValueError whose
    message says, in words fit for a user, what is wrong with the URL."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        if "NFKC" in str(exc):
            reason = "its host has a character that reads as '/', '?', '#', '@' or ':'"
        else:
            reason = "its host in [brackets] is not a closed IPv6 address"
        raise ValueError(reason) from None
    try:
        parts.port  # noqa: B018 - reading it is the check
    except ValueError:
        host_port = parts.netloc.rpartition("@")[2]
        port = host_port.rpartition("]")[2] if host_port.startswith("[") else host_port
        raise ValueError(
            f"its port {port.partition(':')[2]!r} is not a number from 0 to 65535"
        ) from None
    return parts


def check(url: str, *, what: str, location: Location | None) -> SplitResult:
    """``split(url)`` for a URL read from an input: InputError naming where it was written."""
    try:
        return split(url)
    except ValueError as exc:
        raise InputError(
            f"{what} {redact(url)!r} is not a valid URL: {exc}",
            location=location,
            hint="fix the URL: a port is a number from 0 to 65535, an IPv6 host is written "
            "in [brackets], and characters outside ASCII in a host are percent-encoded",
        ) from None


def redact(url: str) -> str:
    """The URL with any user:password replaced by ``***`` (safe to print or log, even when the
    URL does not split)."""
    try:
        parts = split(url)
    except ValueError:
        return re.sub(_USERINFO, lambda m: f"{m[1] or ''}//***@", url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def strip_credentials(url: str) -> str:
    """The URL without user:password (for writing to locks and comparing); a URL that does not
    ``split`` raises ValueError."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


def normalize(url: str) -> str:
    """Comparable index URL: no credentials, lower-case scheme and host, no trailing slash; a URL
    that does not ``split`` raises ValueError."""
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
    import ipaddress  # only here: every `check` imports this module, few ask this

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
