"""A fake OSV API on 127.0.0.1: ``POST /v1/querybatch`` and ``GET /v1/vulns/<id>``.

It answers from the records it is given, matching by package name only (the client re-matches),
one id per page so that paging with ``next_page_token`` is exercised. ``fail_next`` makes the next
requests answer 503; ``redirect_batch`` makes querybatch answer a redirect.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from packaging.utils import canonicalize_name


class OsvServer:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = {r["id"]: r for r in records}
        self.requests: list[tuple[str, str, Any]] = []
        self.fail_next = 0
        self.redirect_batch = False
        self.wrong_id = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(("POST", self.path, body))
                if self._failed():
                    return
                if server.redirect_batch:
                    self._send(307, b"", location="/elsewhere")
                    return
                results = [server.page(q) for q in body["queries"]]
                self._send(200, json.dumps({"results": results}).encode())

            def do_GET(self) -> None:
                server.requests.append(("GET", self.path, None))
                if self._failed():
                    return
                ident = self.path.removeprefix("/v1/vulns/")
                if ident not in server.records:
                    self._send(404, b'{"code": 5, "message": "Bug not found."}')
                    return
                data = dict(server.records[ident])
                if server.wrong_id:
                    data["id"] = "OTHER-1"
                self._send(200, json.dumps(data).encode())

            def _failed(self) -> bool:
                if server.fail_next > 0:
                    server.fail_next -= 1
                    self._send(503, b"unavailable")
                    return True
                return False

            def _send(self, status: int, body: bytes, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def page(self, query: dict[str, Any]) -> dict[str, Any]:
        name = canonicalize_name(query["package"]["name"])
        ids = sorted(
            i
            for i, r in self.records.items()
            if any(canonicalize_name(a["package"]["name"]) == name for a in r["affected"])
        )
        start = int(query.get("page_token", "0"))
        result: dict[str, Any] = {}
        if ids[start : start + 1]:
            result["vulns"] = [{"id": ids[start], "modified": "2024-01-01T00:00:00Z"}]
        if start + 1 < len(ids):
            result["next_page_token"] = str(start + 1)
        return result

    def start(self) -> OsvServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
