"""The OSV API online: one batched ``querybatch`` for the ids, then each advisory by id.

``POST {base}/v1/querybatch`` answers, per (name, version) query, the ids of the advisories that
affect it (paged with ``next_page_token``); ``GET {base}/v1/vulns/{id}`` gives the full record,
matched again locally by ``audit`` so every source follows the same rules. The base URL is
configurable (``--osv-url``) for a mirror; requests go only to its origin.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.audit.advisories import ECOSYSTEM, Advisory, MalformedAdvisory, parse_advisory
from safeinstall.errors import IndexServerError
from safeinstall.net.transport import Reply

if TYPE_CHECKING:
    from safeinstall.net.http import Http

DEFAULT_URL = "https://api.osv.dev"
BATCH_SIZE = 1000  # the API's limit of queries per batch
MAX_PAGES = 100  # per query: a server that pages forever is not usable
MAX_REPLY_BYTES = 32 * 1024 * 1024
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_HINT = "Try again later, or audit offline with --db PATH (the OSV database zip for PyPI)."


class HttpClient(Protocol):
    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> Reply: ...

    def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Reply: ...


class OsvApi:
    """``select``: which ids to fetch the records of (the malware gate wants only ``MAL-``)."""

    def __init__(
        self,
        http: HttpClient,
        base_url: str = DEFAULT_URL,
        *,
        workers: int = 8,
        select: Callable[[str], bool] = lambda ident: True,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._workers = workers
        self._select = select

    def advisories(self, packages: Sequence[tuple[NormalizedName, Version]]) -> list[Advisory]:
        ids: set[str] = set()
        for start in range(0, len(packages), BATCH_SIZE):
            ids |= self._query(packages[start : start + BATCH_SIZE])
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            return list(pool.map(self._vuln, sorted(filter(self._select, ids))))

    def _query(self, batch: Sequence[tuple[NormalizedName, Version]]) -> set[str]:
        queries: list[dict[str, Any]] = [
            {"package": {"name": name, "ecosystem": ECOSYSTEM}, "version": str(version)}
            for name, version in batch
        ]
        ids: set[str] = set()
        for _ in range(MAX_PAGES):
            if not queries:
                return ids
            reply = self._json(
                self._http.post(
                    f"{self.base_url}/v1/querybatch",
                    json.dumps({"queries": queries}).encode(),
                    headers={"Content-Type": "application/json"},
                    max_bytes=MAX_REPLY_BYTES,
                )
            )
            results = reply.get("results")
            if not isinstance(results, list) or len(results) != len(queries):
                raise self._unusable("querybatch", "one result per query was expected")
            paged = []
            for query, raw in zip(queries, results, strict=True):
                result = raw if isinstance(raw, Mapping) else {}
                for vuln in result.get("vulns") or ():
                    ids.add(self._checked_id(vuln.get("id") if isinstance(vuln, Mapping) else None))
                token = result.get("next_page_token")
                if isinstance(token, str) and token:
                    paged.append({**query, "page_token": token})
            queries = paged
        raise self._unusable("querybatch", f"it paged more than {MAX_PAGES} times")

    def _vuln(self, ident: str) -> Advisory:
        reply = self._json(
            self._http.get(
                f"{self.base_url}/v1/vulns/{quote(ident, safe='')}", max_bytes=MAX_REPLY_BYTES
            )
        )
        try:
            advisory = parse_advisory(reply)
        except MalformedAdvisory as exc:
            raise self._unusable(f"vulns/{ident}", str(exc)) from exc
        if advisory.id != ident:
            raise self._unusable(f"vulns/{ident}", f"it sent the record of {advisory.id}")
        return advisory

    def _json(self, reply: Reply) -> dict[str, Any]:
        if reply.status != 200:
            raise IndexServerError(
                f"the OSV API at {self.base_url} answered HTTP {reply.status}", hint=_HINT
            )
        try:
            data = json.loads(reply.body)
        except ValueError as exc:
            raise self._unusable(reply.url, "the answer is not JSON") from exc
        if not isinstance(data, dict):
            raise self._unusable(reply.url, "the answer is not a JSON object")
        return data

    def _checked_id(self, ident: object) -> str:
        """An advisory id goes into a URL path: only the characters OSV ids are made of."""
        if not isinstance(ident, str) or not _ID.fullmatch(ident):
            raise self._unusable("querybatch", f"it named an invalid advisory id {ident!r}")
        return ident

    def _unusable(self, what: str, why: str) -> IndexServerError:
        return IndexServerError(
            f"the OSV API at {self.base_url} sent an unusable answer ({what}): {why}", hint=_HINT
        )


def osv_http(base_url: str) -> Http:
    """The pooled ``Http`` allowed to reach only the API's own origin."""
    from safeinstall.net.http import Http
    from safeinstall.urls import origin

    home = origin(base_url)

    def allowed(url: str) -> bool:
        try:
            return origin(url) == home
        except ValueError:
            return False

    return Http(allowed=allowed)
