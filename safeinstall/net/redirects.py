"""Where a redirect may lead: every hop is checked before it is followed (see ``http.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urljoin, urlsplit

from safeinstall.errors import IndexServerError
from safeinstall.net.failures import server_hint, shown
from safeinstall.urls import origin, strip_credentials

MAX_REDIRECTS = 10


def next_hop(
    current: str, location: str, visited: Iterable[str], allowed: Callable[[str], bool]
) -> str:
    """The URL a redirect from ``current`` to ``location`` leads to, or IndexServerError.

    Userinfo in ``location`` is dropped: credentials never come from server data.
    """
    try:
        here = strip_credentials(current)
        target = strip_credentials(urljoin(current, location.strip())).partition("#")[0]
        scheme, host, _ = origin(target)
    except ValueError:
        raise IndexServerError(
            f"{shown(current)} redirected to an invalid URL", hint=server_hint()
        ) from None
    said = f"{here} redirected to {target}"
    if scheme not in ("http", "https") or not host:
        raise IndexServerError(f"{said}, which is not an http(s) URL", hint=server_hint())
    if urlsplit(current).scheme.lower() == "https" and scheme == "http":
        raise IndexServerError(
            f"{said}, from https to plain http", hint="use an index that stays on https"
        )
    seen = list(visited)
    if target in seen:
        raise IndexServerError(f"{said}, which loops back to an earlier URL", hint=server_hint())
    if len(seen) > MAX_REDIRECTS:
        raise IndexServerError(
            f"{said} after more than {MAX_REDIRECTS} redirects", hint=server_hint()
        )
    if not allowed(target):
        raise IndexServerError(
            f"{said}, a location the policy does not trust",
            hint="add that host to the index's file-hosts in the policy if you trust it",
        )
    return target
