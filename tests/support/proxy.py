"""A small forward proxy on 127.0.0.1 that records what went through it.

``CONNECT host:port`` opens a tunnel (https); ``GET http://host:port/path`` (any method) is
forwarded on a fresh connection (plain http). Each request is recorded as the proxy saw it::

    with RecordingProxy(credentials="px:secret") as proxy:   # 407 without Proxy-Authorization
        proxy.url                      # http://127.0.0.1:PORT
        proxy.seen                     # [Seen("CONNECT", "127.0.0.1:4431", {...}), ...]

Only loopback destinations are served (anything else is answered 403), so a test that goes
wrong never reaches out.
"""

from __future__ import annotations

import base64
import socket
import socketserver
import threading
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

from tests.support.tlsindex import pipe


@dataclass(frozen=True)
class Seen:
    method: str
    target: str  # host:port for CONNECT, the absolute URL otherwise
    headers: dict[str, str]  # lower-case names
    raw: bytes  # the request head as received (what the proxy could read)


class RecordingProxy:
    def __init__(self, *, credentials: str | None = None) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        expected = base64.b64encode(credentials.encode()).decode() if credentials else None
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = self.rfile.readline(65537)
                    if not line:
                        return
                    head += line
                request, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request.split(" ", 2)
                headers: dict[str, str] = {}
                for text in lines:
                    name, sep, value = text.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                with owner._lock:
                    owner.seen.append(Seen(method, target, headers, head))
                if expected and headers.get("proxy-authorization") != f"Basic {expected}":
                    self._answer(407, 'Proxy-Authenticate: Basic realm="test"\r\n')
                    return
                if method == "CONNECT":
                    self._tunnel(target)
                else:
                    self._forward(method, target, lines)

            def _answer(self, status: int, extra: str = "") -> None:
                self.wfile.write(
                    f"HTTP/1.1 {status} Proxy\r\n{extra}Content-Length: 0\r\n"
                    "Connection: close\r\n\r\n".encode()
                )

            def _tunnel(self, target: str) -> None:
                host, _, port = target.rpartition(":")
                if host != "127.0.0.1":
                    self._answer(403)
                    return
                upstream = socket.create_connection((host, int(port)), timeout=10)
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                pipe(self.connection, upstream)

            def _forward(self, method: str, target: str, lines: list[str]) -> None:
                parts = urlsplit(target)
                if parts.hostname != "127.0.0.1" or parts.port is None:
                    self._answer(403)
                    return
                kept = [
                    line
                    for line in lines
                    if line
                    and not line.lower().startswith(("proxy-", "connection:", "keep-alive:"))
                ]
                sizes = [h for h in kept if h.lower().startswith("content-length:")]
                length = int(sizes[0].split(":", 1)[1]) if sizes else 0
                body = self.rfile.read(length) if length else b""
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                head = "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close"])
                with socket.create_connection(("127.0.0.1", parts.port), timeout=10) as upstream:
                    upstream.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
                    answer = b""
                    while data := upstream.recv(65536):
                        answer += data
                status, sep, rest = answer.partition(b"\r\n")
                self.wfile.write(status + sep + b"Connection: close\r\n" + rest)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def targets(self) -> list[str]:
        with self._lock:
            return [s.target for s in self.seen]
