"""A real package index on loopback that can misbehave on request.

One threaded ``http.server`` on 127.0.0.1 (port 0) serves any number of named indexes::

    /<index>/simple/                   root listing (PEP 503 HTML or PEP 691 JSON)
    /<index>/simple/<project>/         project page (JSON when Accept asks for it)
    /<index>/files/<filename>          the file; single HTTP ranges (``bytes=a-b``, ``a-``, ``-N``)
    /<index>/files/<filename>.metadata the PEP 658 sidecar

Typical use (see ``fixtures.py`` for the pytest fixtures)::

    wheel = build_wheel(tmp_path, "demo", "1.0")
    index_server.add("a", wheel, upload_time=datetime(2024, 1, 1, tzinfo=UTC))
    index_server.set_status("a", "demo", "quarantined", "malware")  # PEP 792, both formats
    index_server.misbehave("/a/files/*", times=2, status=500)   # two 500s, then normal
    url = index_server.index_url("a")                              # http://127.0.0.1:PORT/a/simple/
    index_server.requests                                          # what the client sent

Misbehaviours (``misbehave(pattern, *, times=None, **knobs)``, ``pattern`` an fnmatch glob over the
request path, ``"*"`` for all; the first matching rule with uses left applies) are listed on
``Misbehaviour``. Each is bounded: ``times`` uses, a size, or ``trickle_for`` seconds; the server's
threads are daemons and ``stop()`` ends them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name

from tests.support import simplepages
from tests.support.builders import read_core_metadata
from tests.support.simplepages import ServedFile


@dataclass(frozen=True, slots=True)
class Misbehaviour:
    """What to do wrong. Unset knobs keep the normal behaviour; several may combine."""

    status: int | None = None  # answer this status (401 adds WWW-Authenticate) instead
    content_type: str | None = None  # wrong Content-Type
    truncate_at: int | None = None  # announce the full Content-Length, send this many bytes, close
    reset_after: int | None = None  # send this many body bytes, then a TCP reset
    trickle: int | None = None  # send the body at this many bytes per second ...
    trickle_for: float = 10.0  # ... for at most this long, then close
    redirect_to: str | None = None  # Location (a path or an absolute URL)
    redirect_status: int = 302
    oversize: int | None = None  # pad the body with spaces to this many bytes
    no_content_length: bool = False  # no Content-Length: the body ends when the connection closes
    tamper: bool = False  # serve different bytes than the listing's hash
    ignore_range: bool = False  # answer a Range request with the whole file (200)
    ranges_from: bytes | None = None  # answer Range requests from these bytes (a lying proxy)


@dataclass(slots=True)
class _Rule:
    pattern: str
    action: Misbehaviour
    remaining: int | None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names
    client_port: int  # the same port for requests over one (pooled) connection

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


@dataclass(slots=True)
class _Index:
    files: list[ServedFile] = field(default_factory=list)
    statuses: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # PEP 792


class IndexServer:
    """Start with ``start()`` or ``with IndexServer() as server:``; the fixtures do it for you."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[str, _Index] = {}
        self._rules: list[_Rule] = []
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> IndexServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/", *, host: str = "127.0.0.1") -> str:
        """Absolute URL of ``path``; ``host="localhost"`` names the same server as another host."""
        return f"http://{host}:{self.port}{path}"

    def index_url(self, index: str, *, host: str = "127.0.0.1") -> str:
        return self.url(f"/{index}/simple/", host=host)

    def file_url(self, index: str, filename: str, *, host: str = "127.0.0.1") -> str:
        return self.url(f"/{index}/files/{quote(filename, safe='')}", host=host)

    # -- content -----------------------------------------------------------------------------
    def add(
        self,
        index: str,
        file_path: Path,
        *,
        yanked: str | bool | None = None,
        upload_time: datetime | None = None,
        metadata: bool | bytes = True,
        requires_python: str | None = None,
        filename: str | None = None,
        href: str | None = None,
        sha256: str | None = None,
        project: str | None = None,
    ) -> ServedFile:
        """List ``file_path`` on ``index`` (created on first use) and serve its bytes.

        ``metadata``: True serves the file's real core metadata as the PEP 658 sidecar, False strips
        it, bytes serve those (a lying sidecar). ``filename``/``href`` override what the listing
        says (hostile names, absolute or ``javascript:`` URLs); ``sha256`` overrides the listed hash
        (``""`` lists none); adding the same file twice with another ``sha256`` makes duplicate
        anchors. ``project`` overrides the project parsed from the file name.
        """
        data = file_path.read_bytes()
        name = filename if filename is not None else file_path.name
        parsed_project, version = simplepages.project_and_version(file_path.name)
        sidecar = read_core_metadata(file_path) if metadata is True else metadata or None
        served = ServedFile(
            project=canonicalize_name(project) if project else parsed_project,
            filename=name,
            data=data,
            sha256=hashlib.sha256(data).hexdigest() if sha256 is None else sha256 or None,
            href=href,
            yanked=yanked,
            upload_time=upload_time,
            requires_python=requires_python,
            metadata=sidecar,
            metadata_sha256=hashlib.sha256(sidecar).hexdigest() if sidecar else None,
            version=version,
        )
        with self._lock:
            self._indexes.setdefault(index, _Index()).files.append(served)
        return served

    def yank(self, index: str, filename: str, reason: str | bool = True) -> None:
        """Yank the listed ``filename`` on ``index`` (PEP 592), as if after it was locked."""
        with self._lock:
            files = self._indexes[index].files
            files[:] = [replace(f, yanked=reason) if f.filename == filename else f for f in files]

    def set_status(self, index: str, project: str, status: str, reason: str | None = None) -> None:
        """Mark ``project`` on ``index`` with a PEP 792 status (and reason) on its page."""
        with self._lock:
            statuses = self._indexes.setdefault(index, _Index()).statuses
            statuses[canonicalize_name(project)] = (status, reason)

    # -- misbehaviour ------------------------------------------------------------------------
    def misbehave(self, pattern: str = "*", *, times: int | None = None, **knobs: Any) -> None:
        """Misbehave on paths matching ``pattern``, ``times`` times or always (see Misbehaviour)."""
        rule = _Rule(pattern, Misbehaviour(**knobs), times)
        with self._lock:
            self._rules.append(rule)

    def behave(self) -> None:
        """Drop every misbehaviour rule."""
        with self._lock:
            self._rules.clear()

    def _take_rule(self, path: str) -> Misbehaviour:
        with self._lock:
            for rule in self._rules:
                if rule.remaining != 0 and fnmatch.fnmatchcase(path, rule.pattern):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.action
        return Misbehaviour()

    # -- requests ----------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == path]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # -- routing -----------------------------------------------------------------------------
    def _route(self, path: str, accept: str | None) -> _Answer:
        parts = path.split("/")
        with self._lock:
            index = self._indexes.get(parts[1]) if len(parts) > 2 else None
            files = list(index.files) if index is not None else []
            statuses = dict(index.statuses) if index is not None else {}
        if index is None:
            return _Answer(404, "text/plain", b"no such index\n")
        kind, rest = parts[2], "/".join(parts[3:])
        if kind == "simple" and rest == "":
            projects = sorted({f.project for f in files})
            if simplepages.wants_json(accept):
                return _Answer(200, simplepages.JSON_TYPE, simplepages.root_json(projects))
            return _Answer(200, simplepages.HTML_TYPE, simplepages.root_html(projects))
        if kind == "simple":
            return self._project(parts[1], rest, files, accept, statuses)
        if kind == "files":
            return _file(unquote(rest), files)
        return _Answer(404, "text/plain", b"not found\n")

    def _project(
        self,
        index: str,
        rest: str,
        files: list[ServedFile],
        accept: str | None,
        statuses: dict[str, tuple[str, str | None]],
    ) -> _Answer:
        name = rest.rstrip("/")
        canonical = canonicalize_name(name)
        if name != canonical or not rest.endswith("/"):
            return _Answer(301, "text/plain", b"", location=f"/{index}/simple/{canonical}/")
        listed = [f for f in files if f.project == canonical]
        if not listed:
            return _Answer(404, "text/plain", b"no such project\n")
        status = statuses.get(canonical)
        if simplepages.wants_json(accept):
            page = simplepages.project_json(canonical, listed, status)
            return _Answer(200, simplepages.JSON_TYPE, page)
        return _Answer(
            200, simplepages.HTML_TYPE, simplepages.project_html(canonical, listed, status)
        )


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    content_type: str
    body: bytes
    location: str | None = None
    is_file: bool = False


def _file(filename: str, files: list[ServedFile]) -> _Answer:
    for f in files:
        if f.filename == filename:
            return _Answer(200, "application/octet-stream", f.data, is_file=True)
    if filename.endswith(".metadata"):
        for f in files:
            if f.filename == filename[: -len(".metadata")] and f.metadata is not None:
                return _Answer(200, "application/octet-stream", f.metadata, is_file=True)
    return _Answer(404, "text/plain", b"no such file\n")


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as (first, last) inclusive, clamped to ``size``; None if unsatisfiable.

    Raises ValueError for a header this server does not support (several ranges, other units).
    """
    unit, _, spec = value.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        raise ValueError(value)
    first_text, _, last_text = spec.strip().partition("-")
    if first_text == "":
        length = int(last_text)
        return (max(size - length, 0), size - 1) if length > 0 and size > 0 else None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    return (first, last) if first <= last else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: IndexServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer are expected here; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def do_GET(self) -> None:
        owner = self.server.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        owner._record(RecordedRequest("GET", self.path, headers, self.client_address[1]))
        path = urlsplit(self.path).path
        action = owner._take_rule(path)
        try:
            self._answer(owner, path, action, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _answer(
        self, owner: IndexServer, path: str, action: Misbehaviour, headers: dict[str, str]
    ) -> None:
        if action.redirect_to is not None:
            self._send(_Answer(action.redirect_status, "text/plain", b"", action.redirect_to))
            return
        if action.status is not None:
            body = f"error {action.status}\n".encode()
            self._send(_Answer(action.status, "text/plain", body), action=action)
            return
        answer = owner._route(path, headers.get("accept"))
        body = answer.body
        if action.tamper and body:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
        if action.oversize is not None and len(body) < action.oversize:
            body += b" " * (action.oversize - len(body))
        answer = replace(answer, body=body)
        if action.content_type is not None:
            answer = replace(answer, content_type=action.content_type)
        range_header = headers.get("range")
        if answer.is_file and answer.status == 200 and range_header and not action.ignore_range:
            if action.ranges_from is not None:
                answer = replace(answer, body=action.ranges_from)
            self._send_range(answer, range_header, action)
            return
        self._send(answer, action=action)

    def _send_range(self, answer: _Answer, header: str, action: Misbehaviour) -> None:
        size = len(answer.body)
        try:
            wanted = parse_range(header, size)
        except ValueError:
            self._send(answer, action=action)  # unsupported: RFC 9110 allows the whole file
            return
        if wanted is None:
            self._send(_Answer(416, "text/plain", b""), extra={"Content-Range": f"bytes */{size}"})
            return
        first, last = wanted
        part = replace(answer, status=206, body=answer.body[first : last + 1])
        self._send(part, action=action, extra={"Content-Range": f"bytes {first}-{last}/{size}"})

    def _send(
        self,
        answer: _Answer,
        *,
        action: Misbehaviour | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        action = action or Misbehaviour()
        body = answer.body
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        if answer.location is not None:
            self.send_header("Location", answer.location)
        if answer.status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
        if answer.is_file:
            self.send_header("Accept-Ranges", "none" if action.ignore_range else "bytes")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if action.no_content_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if action.truncate_at is not None:
            body = body[: action.truncate_at]
            self.close_connection = True
        if action.reset_after is not None:
            self.wfile.write(body[: action.reset_after])
            self._reset()
            return
        if action.trickle is not None:
            self._trickle(body, action.trickle, action.trickle_for)
            return
        self.wfile.write(body)

    def _trickle(self, body: bytes, rate: int, limit: float) -> None:
        step = max(rate // 10, 1)
        stop_at = time.monotonic() + limit
        for start in range(0, len(body), step):
            if time.monotonic() > stop_at or self.server.owner._stopping.is_set():
                break
            self.wfile.write(body[start : start + step])
            time.sleep(step / rate)
        self.close_connection = True

    def _reset(self) -> None:
        """Abort the connection with an RST (SO_LINGER 0) instead of an orderly FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
