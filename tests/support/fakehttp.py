"""An in-memory Http honouring the contract in safeinstall/http.py, for index and metadata tests.

``routes`` maps a URL to (status, headers, body). Single ``Range: bytes=a-b`` and suffix
``bytes=-N`` requests get a 206 unless ``ignore_range`` is set. Every request is recorded.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from safeinstall.errors import IndexServerError

_RANGE = re.compile(r"bytes=(\d*)-(\d*)\Z")


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass
class FakeHttp:
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    ignore_range: bool = False
    errors: dict[str, Exception] = field(default_factory=dict)  # url -> raised on get
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, url: str, body: bytes, *, status: int = 200, **headers: str) -> None:
        self.routes[url] = (
            status,
            {k.replace("_", "-").lower(): v for k, v in headers.items()},
            body,
        )

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> Response:
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self.requests.append((url, sent))
        if url in self.errors:
            raise self.errors[url]
        status, reply_headers, body = self.routes.get(url, (404, {}, b"not found"))
        reply_headers = dict(reply_headers)
        wanted = _RANGE.match(sent.get("range", ""))
        if status == 200 and wanted and not self.ignore_range:
            start_text, end_text = wanted.groups()
            if start_text:
                start = int(start_text)
                end = min(int(end_text), len(body) - 1) if end_text else len(body) - 1
            else:
                start, end = max(len(body) - int(end_text), 0), len(body) - 1
            if start >= len(body):
                return Response(url, 416, {}, b"")
            reply_headers["content-range"] = f"bytes {start}-{end}/{len(body)}"
            status, body = 206, body[start : end + 1]
        if max_bytes is not None and len(body) > max_bytes:
            raise IndexServerError(f"{url} is larger than {max_bytes} bytes")
        return Response(url, status, reply_headers, body)

    def urls(self) -> list[str]:
        return [url for url, _ in self.requests]
