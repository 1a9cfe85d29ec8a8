"""Which index a project comes from, and its page from there (cached on disk, ETag/max-age;
its parse kept by the sha256 of its bytes, ``pages.py``).

Binding rule (dependency confusion, DESIGN.md invariant 2): when an index's ``packages`` globs match
a name, only that index is asked; otherwise the indexes without ``packages`` are asked in order and
the first that has the project wins. A 404 moves on to the next index; 401/403, 5xx and transport
errors stop the search. Candidates are never merged across indexes.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from packaging.utils import NormalizedName, canonicalize_name

from safeinstall.errors import IndexServerError, ResolutionError
from safeinstall.files.cachedir import (
    DerivedCache,
    private_dir,
    read_entry,
    url_key,
    write_entry,
)
from safeinstall.index.distfile import ProjectPage
from safeinstall.index.filenames import FileFilter
from safeinstall.index.pages import HTML_TYPES, JSON_TYPE, built_page, parse_page, thin_page
from safeinstall.net.transport import Getter, Reply
from safeinstall.policy.hosts import index_allows
from safeinstall.policy.model import IndexSpec
from safeinstall.workers import HelperStopped

_T = TypeVar("_T")
MAX_PAGE_BYTES = 32 * 1024 * 1024
ELSEWHERE_WAIT = 180.0  # seconds a page read elsewhere is waited for (its requests have 120)
_PARSING = threading.BoundedSemaphore(1)
ACCEPT = f"{JSON_TYPE}, {HTML_TYPES[0]};q=0.2, {HTML_TYPES[1]};q=0.01"
_NAME = re.compile(r"[A-Z0-9]([A-Z0-9._-]*[A-Z0-9])?\Z", re.IGNORECASE)
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


class IndexClient:
    """Project pages from the policy's indexes; thread-safe, one fetch per project per run."""

    def __init__(
        self,
        indexes: Sequence[IndexSpec],
        http: Getter,
        *,
        cache_dir: Path | None,
        clock: Callable[[], float] = time.time,
        keep: FileFilter | None = None,
        elsewhere: Elsewhere | None = None,
    ) -> None:
        """``keep``: which files of a page to keep (a lock for given targets); None: all.
        ``elsewhere``: reads a page in another process when it can (``thinned`` there)."""
        self._indexes = tuple(indexes)
        self._keep = keep
        self._elsewhere = elsewhere
        self._http = http
        self._clock = clock
        self._cache = _PageCache(cache_dir / "pages") if cache_dir is not None else None
        # the index sends no cache headers: pages are fetched every run, their parse is kept
        self._parsed = DerivedCache(cache_dir / "parsed") if cache_dir is not None else None
        self._pages: dict[NormalizedName, ProjectPage] = {}
        self._locks: dict[NormalizedName, threading.Lock] = {}
        self._guard = threading.Lock()

    def project(self, name: str) -> ProjectPage:
        """The page of ``name`` from the one index the binding rule picks."""
        if not _NAME.match(name):
            raise ResolutionError(f"{name!r} is not a valid project name")
        canonical = canonicalize_name(name)
        with self._guard:
            lock = self._locks.setdefault(canonical, threading.Lock())
        with lock:
            page = self._pages.get(canonical)
            if page is None:
                page = self._lookup(canonical)
                self._pages[canonical] = page
            return page

    def index_for(self, name: str) -> IndexSpec | None:
        """The index the policy binds ``name`` to, or None when the open indexes are searched."""
        return next((i for i in self._indexes if i.serves(name)), None)

    def _lookup(self, name: NormalizedName) -> ProjectPage:
        bound = self.index_for(name)
        if bound is not None:
            page = self._fetch(bound, name)
            if page is None:
                raise ResolutionError(
                    f"{name} was not found on index {bound.name!r}, "
                    "the index the policy binds it to",
                    hint="other indexes are not asked for bound names (dependency confusion); "
                    "check the name, or the packages patterns of that index",
                )
            return page
        open_indexes = [i for i in self._indexes if not i.packages]
        for index in open_indexes:
            page = self._fetch(index, name)
            if page is not None:
                return page
        names = ", ".join(repr(i.name) for i in open_indexes) or "none"
        raise ResolutionError(
            f"{name} was not found on any index that may serve it (asked: {names})",
            hint="check the spelling of the name and the indexes in the policy",
        )

    def _fetch(self, index: IndexSpec, name: NormalizedName) -> ProjectPage | None:
        if index.url.startswith("file:"):
            return self._local(index, name)
        if self._elsewhere is not None and (there := self._elsewhere(index, name)) is not None:
            with suppress(HelperStopped, TimeoutError):  # it ended, or is stuck: read here
                thin = there.result(timeout=ELSEWHERE_WAIT)
                return self._built(thin, index, name) if thin is not None else None
        return self._read(index, name, self._parse)

    def thinned(self, index: IndexSpec, name: NormalizedName) -> Thinned | None:
        """The page of ``name`` on the remote ``index`` through ``pages.thin_page`` (checked,
        only the files ``keep`` keeps), for the process that started this one to build
        (``elsewhere``, ``_built``); None: the index has no such project."""
        return self._read(index, name, self._thin)

    def _read(
        self, index: IndexSpec, name: NormalizedName, make: Callable[[_Entry, IndexSpec, str], _T]
    ) -> _T | None:
        """``make`` of the page of ``name`` on the remote ``index`` (from the page cache while
        fresh; cached once ``make`` took it); None: the index has no such project."""
        url = f"{index.url}/{name}/"
        now = self._clock()
        cached = self._cache.load(url) if self._cache is not None else None
        if cached is not None and now < cached.stored_at + cached.max_age:
            return make(cached, index, name)
        headers = {"Accept": ACCEPT}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        reply = self._http.get(url, headers=headers, max_bytes=MAX_PAGE_BYTES)
        if reply.status == 304 and cached is not None:
            entry = replace(cached, stored_at=now, max_age=_max_age(reply.headers) or 0)
        elif reply.status == 200:
            entry = _Entry.of(url, reply, now)
        elif reply.status in (404, 410):
            return None
        elif reply.status in (401, 403):
            raise IndexServerError(
                f"index {index.name!r} refused access to {url} (HTTP {reply.status}); "
                "other indexes are not asked",
                hint="give safeinstall credentials for that index as pip takes them: "
                "user:password in the index URL, a netrc entry, or the user in the index URL "
                "(https://USER@host/...) and its password in the keyring with pip's "
                "keyring-provider = subprocess",
            )
        else:
            raise IndexServerError(
                f"index {index.name!r} answered HTTP {reply.status} for {url}",
                hint="try again later, or report the problem to the index's operator",
            )
        made = make(entry, index, name)
        if self._cache is not None and _storable(reply.headers, entry):
            self._cache.store(entry)
        return made

    # parsing holds the GIL, so more threads at it only add decoded JSON to the peak memory
    def _parse(self, entry: _Entry, index: IndexSpec, name: str) -> ProjectPage:
        where = self._where(entry.final_url, index, name)
        with _PARSING:
            return parse_page(entry.body, entry.content_type, **where, memo=self._parsed)

    def _thin(self, entry: _Entry, index: IndexSpec, name: str) -> Thinned:
        where = self._where(entry.final_url, index, name)
        with _PARSING:
            page = thin_page(entry.body, entry.content_type, **where, memo=self._parsed)
        return Thinned(entry.final_url, entry.content_type, page)

    def _built(self, thin: Thinned, index: IndexSpec, name: str) -> ProjectPage:
        where = self._where(thin.final_url, index, name)
        return built_page(thin.page, thin.content_type, **where)

    def _where(self, page_url: str, index: IndexSpec, name: str) -> dict[str, Any]:
        now = datetime.fromtimestamp(self._clock(), UTC)
        return {
            "page_url": page_url,
            "project": name,
            "index": index,
            "now": now,
            "fits": self._keep,
        }

    def _local(self, index: IndexSpec, name: NormalizedName) -> ProjectPage | None:
        """A page from disk (localdir.py): never cached, each file hashed from its bytes; a
        find-links folder "has" a project only when it holds a file of it."""
        url = f"{index.url}/" if index.flat else f"{index.url}/{name}/"
        reply = self._http.get(url, max_bytes=MAX_PAGE_BYTES)
        if reply.status == 404:
            return None
        page = self._parse(_Entry.of(url, reply, self._clock()), index, name)
        if index.flat:  # every project's files: keep the releases that have files of this one
            files = page.files
            if not files:
                return None
            page = ProjectPage(page.project, page.index, files)
        from safeinstall.index.localdir import with_local_hashes  # start-up: file: indexes only

        return with_local_hashes(page, lambda file_url: index_allows(index, file_url))


@dataclass(frozen=True, slots=True)
class Thinned:
    """A page as ``pages.thin_page`` leaves it, with where it was read and its content type."""

    final_url: str
    content_type: str
    page: dict[str, Any] | bytes


# reads a page in another process (``IndexClient.thinned`` there); None: not now, read here
Elsewhere = Callable[[IndexSpec, NormalizedName], "Future[Thinned | None] | None"]


@dataclass(frozen=True, slots=True)
class _Entry:
    url: str  # the URL asked for (the cache key)
    final_url: str  # after redirects: relative links resolve against it
    content_type: str
    etag: str | None
    last_modified: str | None
    max_age: float
    stored_at: float
    body: bytes

    @classmethod
    def of(cls, url: str, reply: Reply, now: float) -> _Entry:
        return cls(
            url=url,
            final_url=reply.url or url,
            content_type=reply.headers.get("content-type", ""),
            etag=reply.headers.get("etag"),
            last_modified=reply.headers.get("last-modified"),
            max_age=_max_age(reply.headers) or 0,
            stored_at=now,
            body=reply.body,
        )


def _max_age(headers: Mapping[str, str]) -> int | None:
    control = headers.get("cache-control", "")
    if "no-cache" in control.lower():
        return 0
    found = _MAX_AGE.search(control)
    return int(found.group(1)) if found else None


def _storable(headers: Mapping[str, str], entry: _Entry) -> bool:
    if "no-store" in headers.get("cache-control", "").lower():
        return False
    return entry.max_age > 0 or bool(entry.etag or entry.last_modified)


class _PageCache:
    """``pages/<sha256 of URL>``: a JSON header line, then the body; checked on every read."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def _path(self, url: str) -> Path:
        private_dir(self._dir.parent)  # checked once a process (``private_dir``)
        private_dir(self._dir)
        return self._dir / url_key(url)

    def load(self, url: str) -> _Entry | None:
        path = self._path(url)
        raw = read_entry(path)
        if raw is None:
            return None
        try:
            header, _, body = raw.partition(b"\n")
            fields = json.loads(header)
            digest = fields.pop("sha256")
            entry = _Entry(body=body, **fields)
            numbers_ok = all(type(v) in (int, float) for v in (entry.max_age, entry.stored_at))
            if not numbers_ok or entry.url != url or digest != hashlib.sha256(body).hexdigest():
                raise ValueError("entry does not match its checksum")
        except (ValueError, TypeError, KeyError, AttributeError):
            path.unlink(missing_ok=True)  # corrupt: drop it and fetch again
            return None
        return entry

    def store(self, entry: _Entry) -> None:
        fields = {
            "url": entry.url,
            "final_url": entry.final_url,
            "content_type": entry.content_type,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "max_age": entry.max_age,
            "stored_at": entry.stored_at,
            "sha256": hashlib.sha256(entry.body).hexdigest(),
        }
        header = json.dumps(fields, separators=(",", ":")).encode()
        # no fsync: a torn entry fails its checksum and is fetched again
        write_entry(self._path(entry.url), header + b"\n" + entry.body)
