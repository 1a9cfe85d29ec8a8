"""Credentials for index hosts, and keeping them out of sight.

They come from URL userinfo (``https://user:token@host/simple/``, as in the configured index URLs),
from the keyring command for a URL with a user name and no password when pip's keyring-provider is
subprocess (keyring.py; asked once, on the first request to that origin), and from the netrc file
(``$NETRC``, else ``~/.netrc``; ``machine`` entries only, never ``default``). Each is scoped to one
origin (scheme, host, port) and sent as Basic auth only there; every URL handed on is stripped of
them (``urls.strip_credentials``).
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
from safeinstall.net.keyring import Keyring
from safeinstall.urls import origin, strip_credentials

Origin = tuple[str, str, int]  # scheme, host, port


class Credentials:
    """Thread-safe store of Authorization values by origin; netrc is read once, on first need."""

    def __init__(self, urls: Iterable[str] = (), *, keyring: Keyring | None = None) -> None:
        """``keyring``: where a URL with a user name and no password finds its password."""
        self._lock = threading.Lock()
        self._auth: dict[Origin, str] = {}
        self._keyring = keyring
        self._ask: dict[Origin, tuple[str, str, str]] = {}  # index URL, host[:port], user
        self._netrc: netrc.netrc | bool | None = False  # False: not read yet
        for url in urls:
            self.learn(url)

    def learn(self, url: str) -> str:
        """Remember credentials in ``url`` for its origin; return ``url`` without them."""
        parts = urlsplit(url)
        bare = strip_credentials(url)
        if parts.username is not None:
            user = unquote(parts.username)
            with self._lock:
                if parts.password is None and self._keyring is not None:
                    service = bare.partition("#")[0].rstrip("/") + "/"
                    self._ask[origin(url)] = (service, urlsplit(bare).netloc, user)
                else:
                    self._auth[origin(url)] = _basic(f"{user}:{unquote(parts.password or '')}")
        return bare

    def authorization(self, url: str) -> str | None:
        key = origin(url)
        with self._lock:
            if key in self._auth:
                return self._auth[key]
            if key in self._ask and self._keyring is not None:
                service, host, user = self._ask[key]
                self._auth[key] = _basic(f"{user}:{self._keyring.password(service, host, user)}")
                del self._ask[key]
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
