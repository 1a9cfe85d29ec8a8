"""Pooled HTTPS for index pages, metadata and artifacts, with the limits a hostile server needs.

One ``Http`` serves every thread of a run (urllib3's PoolManager is thread-safe). Each request:

- is checked with ``allowed(url)`` (the policy), and so is every redirect hop; redirects are
  followed by hand, at most 10 hops, never from https to http, never in a loop;
- goes through the proxy that ``settings`` (settings.py: pip's and the environment's) choose for
  its destination, the policy still judging that destination; verifies TLS with the chosen CAs;
  has connect/read timeouts and a total deadline (TUF slow retrieval) over retries and redirects;
- is retried with exponential backoff on connection errors, resets, truncation and 5xx (not 4xx,
  and not a host name the resolver says does not exist);
- reads at most ``max_bytes`` (TUF endless data) and detects a body shorter than Content-Length.

Credentials (see credentials.py) go only to the origin they belong to; caller-supplied Authorization
and Cookie headers are dropped when a redirect leaves the first origin. No URL in a Response or an
error carries credentials (``urls.strip_credentials``).
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3.exceptions import DecodeError, HTTPError, LocationValueError, ProxyError, SSLError

from safeinstall import __version__
from safeinstall.errors import IndexServerError
from safeinstall.net.credentials import Credentials, Origin
from safeinstall.net.failures import (
    NETWORK_HINT,
    describe,
    proxy_refused,
    server_hint,
    shown,
    status_error,
    tls_error,
    too_large,
)
from safeinstall.net.keyring import Keyring
from safeinstall.net.redirects import next_hop
from safeinstall.net.settings import NetSettings, current_settings
from safeinstall.net.tls import ssl_context
from safeinstall.urls import origin, redact, strip_credentials

USER_AGENT = f"safeinstall/{__version__}"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Response:
    url: str  # final URL after redirects, credentials stripped
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class _Transient(Exception):
    """A failure worth retrying (connection error, reset, truncation, 5xx)."""


class Http:
    def __init__(
        self,
        *,
        allowed: Callable[[str], bool],
        timeout: float = 15.0,
        deadline: float = 120.0,
        retries: int = 3,
        max_bytes: int = 64 * 1024 * 1024,
        credentials: Iterable[str] = (),
        backoff: float = 0.5,
        pool_size: int = 10,
        settings: NetSettings | None = None,
    ) -> None:
        """``credentials``: URLs with ``user:password@`` whose secrets to use for their origin
        (``user@`` alone: the keyring's password, when ``settings`` allow the keyring).
        ``settings``: proxies, CAs, client certificate; default: this run's (settings.py)."""
        self._allowed = allowed
        self._timeout = timeout
        self._deadline = deadline
        self._retries = retries
        self._max_bytes = max_bytes
        self._backoff = backoff
        self._settings = settings if settings is not None else current_settings()
        keyring = Keyring(self._settings.keyring_command) if self._settings.keyring else None
        self._credentials = Credentials(credentials, keyring=keyring)
        tls = ssl_context(self._settings)
        self._pool = urllib3.PoolManager(
            num_pools=32, maxsize=pool_size, retries=False, ssl_context=tls
        )
        self._proxies = {
            proxy: _proxy_manager(proxy, tls, pool_size)
            for proxy in (self._settings.http_proxy, self._settings.https_proxy)
            if proxy is not None
        }

    def close(self) -> None:
        self._pool.clear()
        for manager in self._proxies.values():
            manager.clear()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> Response:
        """The response whatever its status (4xx are the caller's to judge; 5xx are retried first).

        Raises IndexServerError on connection failure after bounded retries, on a body larger
        than ``max_bytes`` or shorter than its Content-Length, past the deadline, and on a
        redirect that ``next_hop`` refuses. A Range header is passed through; the caller handles
        206 versus a full 200.
        """
        limit = self._max_bytes if max_bytes is None else max_bytes
        return self._fetch(url, dict(headers or {}), limit, None, None)

    def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """POST ``body`` (for idempotent query APIs: it is retried like a GET); same checks as
        ``get``, except that a redirect is an error (a POST is never re-sent elsewhere)."""
        limit = self._max_bytes if max_bytes is None else max_bytes
        return self._fetch(url, dict(headers or {}), limit, None, None, body=body)

    def stream(
        self, url: str, sink: BinaryIO, *, max_bytes: int, expected_size: int | None = None
    ) -> Response:
        """Download ``url`` into ``sink`` as the bytes arrive (Response.body is empty).

        ``sink`` must be seekable (a file, BytesIO): a retry rewinds it to where it started.

        Same checks as ``get``; also any status but 200 is an error, and so is a body of another
        size than ``expected_size``. The body is not content-decoded (the hash is over the bytes
        as served).
        """
        return self._fetch(url, {}, max_bytes, sink, expected_size)

    # -- the request loop --------------------------------------------------------------------
    def _fetch(
        self,
        url: str,
        headers: dict[str, str],
        limit: int,
        sink: BinaryIO | None,
        expected_size: int | None,
        *,
        body: bytes | None = None,
    ) -> Response:
        stop_at = time.monotonic() + self._deadline
        try:
            scheme, host, _ = origin(url)
        except ValueError:
            raise IndexServerError(
                f"{shown(url)} is not a valid URL", hint="check the index URL"
            ) from None
        if scheme == "file" and body is None:  # a local index or folder: read from disk
            from safeinstall.index.localdir import read_local

            reply = read_local(url, self._allowed, headers, limit, sink, expected_size)
            return Response(*reply)
        current = self._credentials.learn(url)
        if scheme not in ("http", "https") or not host or not self._allowed(current):
            raise IndexServerError(
                f"refusing to fetch {current}: the policy does not trust this location",
                hint="use a trusted index, or add its host to the policy",
            )
        first_origin = origin(current)
        visited = [current]
        start = sink.tell() if sink is not None else 0
        failures = 0
        while True:
            try:
                raw = self._send(current, headers, first_origin, stop_at, sink is None, body=body)
                if raw.status in REDIRECT_STATUSES and "location" in raw.headers:
                    _discard(raw)
                    if body is not None:
                        raise IndexServerError(
                            f"{current} answered a POST request with a redirect",
                            hint=server_hint(),
                        )
                    current = next_hop(current, raw.headers["location"], visited, self._allowed)
                    visited.append(current)
                    continue
                if raw.status >= 500 and failures < self._retries:
                    _discard(raw)
                    raise _Transient(f"it answered HTTP {raw.status}")
                if sink is not None and raw.status != 200:
                    _discard(raw)
                    raise status_error(current, raw.status)
                body = self._read(
                    raw, current, limit, sink=sink, expected_size=expected_size, stop_at=stop_at
                )
                merged = {k.lower(): v for k, v in raw.headers.itermerged()}
                return Response(current, raw.status, merged, body)
            except _Transient as exc:
                failures += 1
                if time.monotonic() >= stop_at:
                    raise self._too_slow(current) from None
                if failures > self._retries:
                    raise IndexServerError(
                        f"could not fetch {current}: {exc}",
                        hint=f"{NETWORK_HINT}; retried {self._retries} times",
                    ) from None
                if sink is not None:
                    sink.seek(start)
                    sink.truncate()
                delay = self._backoff * 2 ** (failures - 1)
                time.sleep(max(0.0, min(delay, stop_at - time.monotonic())))

    def _send(
        self,
        url: str,
        headers: Mapping[str, str],
        first_origin: Origin,
        stop_at: float,
        decode: bool,
        *,
        body: bytes | None = None,
    ) -> urllib3.BaseHTTPResponse:
        remaining = stop_at - time.monotonic()
        if remaining <= 0:
            raise self._too_slow(url)
        same_origin = origin(url) == first_origin
        # pages may come gzipped (the size cap counts decoded bytes); downloads and byte
        # ranges never are: their bytes are hashed or sliced as served
        ranged = any(name.lower() == "range" for name in headers)
        coding = "gzip" if decode and not ranged else "identity"
        sent = {"User-Agent": USER_AGENT, "Accept-Encoding": coding}
        for name, value in headers.items():
            if same_origin or name.lower() not in ("authorization", "cookie"):
                sent[name] = value
        if not any(name.lower() == "authorization" for name in sent):
            auth = self._credentials.authorization(url)
            if auth is not None:
                sent["Authorization"] = auth
        wait = min(self._timeout, remaining)
        proxy = self._settings.proxy_for(url)
        manager = self._pool if proxy is None else self._proxies[proxy]
        try:
            raw = manager.request(
                "GET" if body is None else "POST",
                url,
                body=body,
                headers=sent,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=decode,
                timeout=urllib3.Timeout(connect=wait, read=wait),
            )
        except SSLError as exc:
            raise self._tls_error(url, exc) from None
        except ProxyError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise self._tls_error(url, exc) from None
            if "407 Proxy" in str(exc):  # wrong credentials stay wrong: no retry
                raise proxy_refused(url, proxy or "") from None
            raise _Transient(f"the proxy {redact(proxy or '')} failed: {describe(exc)}") from None
        except HTTPError as exc:
            # no such host name (EAI_NONAME, not EAI_AGAIN): asked again, the answer stays no
            unknown = getattr(exc.__cause__, "errno", None) == socket.EAI_NONAME
            if isinstance(exc, LocationValueError) or unknown:
                raise IndexServerError(
                    f"could not fetch {url}: {describe(exc)}", hint=NETWORK_HINT
                ) from None
            raise _Transient(describe(exc)) from None
        if raw.status == 407 and proxy is not None:  # a plain-http request the proxy refused
            _discard(raw)
            raise proxy_refused(url, proxy)
        return raw

    def _tls_error(self, url: str, exc: Exception) -> IndexServerError:
        return tls_error(url, exc, self._settings.ca_source)

    def _read(
        self,
        raw: urllib3.BaseHTTPResponse,
        url: str,
        limit: int,
        *,
        sink: BinaryIO | None,
        expected_size: int | None,
        stop_at: float,
    ) -> bytes:
        try:
            declared = _content_length(raw, url)
            if expected_size is not None:
                if declared is not None and declared != expected_size:
                    raise IndexServerError(
                        f"{url} announced {declared} bytes, but {expected_size} were expected",
                        hint=server_hint(),
                    )
                limit = min(limit, expected_size)
            if declared is not None and declared > limit:
                raise too_large(url, limit)
            chunks: list[bytes] = []
            received = 0
            while chunk := raw.read1(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise too_large(url, limit)
                if time.monotonic() > stop_at:
                    raise self._too_slow(url)
                if sink is not None:
                    sink.write(chunk)
                else:
                    chunks.append(chunk)
            wanted = declared if expected_size is None else expected_size
            if wanted is not None and received < wanted:
                raise _Transient(f"the download is incomplete ({received} of {wanted} bytes)")
        except DecodeError as exc:
            raise IndexServerError(f"{url} sent a body that cannot be decoded: {exc}") from None
        except HTTPError as exc:
            raise _Transient(describe(exc)) from None
        finally:
            raw.close()
            raw.release_conn()
        return b"".join(chunks)

    def _too_slow(self, url: str) -> IndexServerError:
        return IndexServerError(
            f"fetching {url} took longer than {self._deadline:g} s",
            hint=f"{NETWORK_HINT}; a server that sends this slowly is not usable",
        )


def _proxy_manager(proxy: str, tls: ssl.SSLContext, pool_size: int) -> urllib3.ProxyManager:
    """https goes through a CONNECT tunnel; the proxy's credentials go in Proxy-Authorization
    to the proxy alone (in the CONNECT request, never inside the tunnel)."""
    parts = urlsplit(proxy)
    headers = {}
    if parts.username is not None:
        user_pass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers = urllib3.make_headers(proxy_basic_auth=user_pass)
    return urllib3.ProxyManager(
        strip_credentials(proxy),
        num_pools=32,
        proxy_headers=headers,
        proxy_ssl_context=tls,
        maxsize=pool_size,
        retries=False,
        ssl_context=tls,
    )


def _content_length(raw: urllib3.BaseHTTPResponse, url: str) -> int | None:
    """Content-Length when it describes the bytes we count (no content coding), else None."""
    value = raw.headers.get("content-length")
    encoding = raw.headers.get("content-encoding", "identity").strip().lower()
    if value is None or encoding != "identity":
        return None
    if not value.strip().isdigit():
        raise IndexServerError(f"{url} sent an invalid Content-Length {value!r}")
    return int(value)


def _discard(raw: urllib3.BaseHTTPResponse) -> None:
    """Drop a response without reading its body (a hostile body could be endless)."""
    raw.close()
    raw.release_conn()
