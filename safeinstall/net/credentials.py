"""Credentials for index hosts, and keeping them out of sight.

They come from URL userinfo (``https://user:token@host/simple/``, as in the configured index URLs)
and from the netrc file (``$NETRC``, else ``~/.netrc``; ``machine`` entries only, never
``default``). Each is scoped to one origin (scheme, host, port) and sent as Basic auth only there;
every URL handed on is stripped of them (``urls.strip_credentials``).
"""

from __future__ import annotations

import base64
import netrc
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from safeinstall.errors import InputError, Location
from safeinstall.urls import origin, strip_credentials

Origin = tuple[str, str, int]  # scheme, host, port


class Credentials:
    """Thread-safe store of Authorization values by origin; netrc is read once, on first need."""

    def __init__(self, urls: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._auth: dict[Origin, str] = {}
        self._netrc: netrc.netrc | bool | None = False  # False: not read yet
        for url in urls:
            self.learn(url)

    def learn(self, url: str) -> str:
        """Remember credentials in ``url`` for its origin; return ``url`` without them."""
        parts = urlsplit(url)
        if parts.username is not None:
            user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            with self._lock:
                self._auth[origin(url)] = _basic(user_pass)
        return strip_credentials(url)

    def authorization(self, url: str) -> str | None:
        key = origin(url)
        with self._lock:
            if key in self._auth:
                return self._auth[key]
            if self._netrc is False:
                self._netrc = _read_netrc()
            entries = self._netrc
        found = entries.hosts.get(key[1]) if isinstance(entries, netrc.netrc) else None
        return _basic(f"{found[0]}:{found[2]}") if found else None


def _basic(user_pass: str) -> str:
    return "Basic " + base64.b64encode(user_pass.encode()).decode("ascii")


def _read_netrc() -> netrc.netrc | None:
    path = Path(os.environ.get("NETRC") or os.path.expanduser("~/.netrc"))
    if not path.is_file():
        return None
    try:
        return netrc.netrc(str(path))
    except netrc.NetrcParseError as exc:
        raise InputError(
            f"the netrc file cannot be read: {exc.msg}",
            location=Location(str(path), exc.lineno),
            hint="fix the file or point NETRC at another one",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"the netrc file cannot be read: {exc}", location=Location(str(path))
        ) from None
