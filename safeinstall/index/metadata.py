"""Core metadata of one listed file: PEP 658 sidecar, else ranged reads of the wheel, else download.

The typical wheel costs two ranged requests (the zip's tail, then METADATA), or one when METADATA
lies inside the tail. Results are cached forever under the file's sha256 with a checksum of the
stored bytes, re-verified on every read. The zip read is kept for the run (up to
``MAX_HELD_BYTES``), so the scan at lock time gets the wheel's member list (``listing``) with no
request more; a wheel whose metadata came otherwise costs one ranged read of its tail; listings
are cached like metadata. Neither a sidecar nor a range answer is covered by the
wheel's sha256: ``reconcile.py`` checks them against the whole wheel wherever it is at hand
(``fetch_all``, the install pipeline, and here, a wheel the artifact store already holds).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import threading
import zlib
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from packaging.metadata import Metadata
from packaging.version import Version

from safeinstall.errors import IndexServerError, IntegrityError
from safeinstall.files.cachedir import write_entry
from safeinstall.index.coremeta import (
    MAX_METADATA_BYTES,
    check_identity,
    check_static,
    entry_path,
    parse_metadata,
    read_checked,
    wheel_metadata,
)
from safeinstall.index.distfile import DistFile
from safeinstall.index.remotezip import (
    TAIL_BYTES,
    Listing,
    RemoteBytes,
    ZipFormatError,
    central_directory,
    read_member,
)
from safeinstall.net.transport import Getter

MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
MAX_HELD_BYTES = 64 * 1024 * 1024  # of the zips read for metadata, kept for ``listing``
HELD_PER_PROJECT = 2  # versions of one project whose zips are kept for ``listing``
MAX_RANGE_READS = 16  # of one file; then it is downloaded whole
MAX_SDIST_UNPACKED_BYTES = 1024 * 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)\Z")


class _RangeUnusable(Exception):
    """The server answered a range request with something other than that range."""


class MetadataReader:
    """Reads and caches core metadata; thread-safe, one fetch per file per run."""

    def __init__(
        self, http: Getter, *, cache_dir: Path | None, max_download: int = MAX_DOWNLOAD_BYTES
    ) -> None:
        self._http = http
        self._dir = cache_dir / "metadata" if cache_dir is not None else None
        self._max_download = max_download
        self._used: dict[str, tuple[Metadata, bytes]] = {}
        self._held: dict[str, RemoteBytes] = {}  # zips whose metadata was read, for ``listing``
        self._held_bytes = 0
        # per project, the versions whose zips are held, oldest read first, with their keys
        self._held_versions: dict[str, dict[Version, list[str]]] = {}
        self._parsed: dict[str, Metadata] = {}  # by sha256 of the METADATA bytes (``_parse``)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        # told once a file's metadata is read and checked: with the zip it was read from (None:
        # from the cache or a sidecar)
        self.on_read: Callable[[DistFile, RemoteBytes | None], None] | None = None

    def read(self, file: DistFile) -> Metadata:
        """The validated core metadata of ``file``; NeedsBuild for an sdist with dynamic deps."""
        key = file.sha256 or file.url
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._used:
                raw, zf, from_cache = self._load(file), None, True
                if raw is None:
                    (raw, zf), from_cache = self._fetch(file), False
                meta = self._parse(file, raw)
                check_identity(file, meta)
                if not from_cache:
                    self._check_stored(file, raw)
                    self._store(file, raw)
                self._used[key] = (meta, raw)
                if (told := self.on_read) is not None:  # read once: it is unset as reads go on
                    told(file, zf)
            meta = self._used[key][0]
        check_identity(file, meta)  # the same bytes may be listed under another name
        if file.kind == "sdist":
            check_static(file, meta)
        return meta

    def read_built(self, file: DistFile, build: Callable[[DistFile, bytes], bytes]) -> Metadata:
        """Metadata of an sdist by building it: ``build(file, verified sdist bytes)`` returns
        the built METADATA. Cached under the sdist's sha256 like any other metadata."""
        key = "built:" + (file.sha256 or file.url)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._used:
                raw = self._load(file, suffix=".built")
                if raw is None:
                    raw = build(file, self._download(file))
                    check_identity(file, self._parse(file, raw))
                    self._store(file, raw, suffix=".built")
                self._used[key] = (self._parse(file, raw), raw)
            meta = self._used[key][0]
        check_identity(file, meta)
        return meta

    def listing(self, file: DistFile) -> Listing:
        """The central directory of the wheel ``file``: the one its metadata was read from in
        this run, else the one cached under its sha256 (with the members' bytes read through it
        before), else read with one range (the whole file from a server without ranges)."""
        key = file.sha256 or file.url
        with self._guard:
            zf = self._held.pop(key, None)
        if zf is not None:
            zf = zf.rebound(self._ranges(file, zf.size, fallback=True))
        else:
            cached = self._load(file, suffix=".members")
            if cached is not None:
                with suppress(ValueError):
                    return Listing.from_json(
                        cached,
                        lambda size: RemoteBytes(size, self._ranges(file, size, fallback=True)),
                    )
            zf = self._zip(file, fallback=True)
        return Listing(central_directory(zf), zf)

    def adopt(self, file: DistFile, zf: RemoteBytes) -> None:
        """Hold ``zf``, the bytes of ``file`` another process read, for ``listing``."""
        with self._guard:
            self._held[file.sha256 or file.url] = zf

    def release(self, file: DistFile) -> None:
        """Drop the zip of ``file`` held for ``listing``: another process has listed it."""
        with self._guard:
            if (zf := self._held.pop(file.sha256 or file.url, None)) is not None:
                self._held_bytes -= zf.held

    def holds(self, file: DistFile) -> bool:
        """Whether the zip of ``file`` is held from its metadata read: its ``listing`` is had
        here with no request, which another process would have to make."""
        with self._guard:
            return (file.sha256 or file.url) in self._held

    def keep_listing(self, file: DistFile, listing: Listing) -> None:
        """Cache ``listing`` (and the bytes read through it) under ``file``'s sha256."""
        if listing.changed:
            self._store(file, listing.to_json(), suffix=".members")

    def compare_with_wheel(self, file: DistFile, wheel: Path) -> None:
        """The METADATA inside the (verified) ``wheel`` must equal the bytes resolved with
        (``reconcile.same_metadata``); on a mismatch the cached bytes are dropped."""
        from safeinstall.index.coremeta import same_metadata

        key = file.sha256 or file.url
        used = self._used.get(key)
        raw = used[1] if used is not None else self._load(file)
        if raw is None:
            return  # nothing was read for this file, so nothing can disagree
        try:
            same_metadata(raw, wheel, file.filename)
        except IntegrityError:
            with self._guard:
                self._used.pop(key, None)
            if (path := self._path(file)) is not None:
                path.unlink(missing_ok=True)
            raise

    def _parse(self, file: DistFile, raw: bytes) -> Metadata:
        """``parse_metadata`` once a run per sha256 of the bytes (its only input): platform
        wheels mostly share METADATA. Callers check it names each file's release."""
        digest = hashlib.sha256(raw).hexdigest()
        with self._guard:
            meta = self._parsed.get(digest)
        if meta is None:
            meta = parse_metadata(file, raw)
            with self._guard:
                self._parsed[digest] = meta
        return meta

    def _check_stored(self, file: DistFile, raw: bytes) -> None:
        """The whole wheel is at hand when the artifact store holds it (installed or downloaded
        here before): what the index served must equal its METADATA (``reconcile``)."""
        if self._dir is not None and file.kind == "wheel":
            from safeinstall.index.reconcile import check_against_store

            check_against_store(self._dir.parent, file, raw)

    # -- cache ---------------------------------------------------------------------------------

    def _path(self, file: DistFile, suffix: str = "") -> Path | None:
        return entry_path(self._dir, file.sha256, suffix, create=True)

    def _load(self, file: DistFile, suffix: str = "") -> bytes | None:
        path = self._path(file, suffix)
        return read_checked(path) if path is not None else None

    def _store(self, file: DistFile, raw: bytes, suffix: str = "") -> None:
        path = self._path(file, suffix)
        if path is not None:
            # no fsync: an entry torn by a crash fails its checksum line and reads as absent;
            # one that cannot be written (a full disk, its directory removed since it was
            # checked) only costs a fetch next time
            checked = hashlib.sha256(raw).hexdigest().encode() + b"\n" + raw
            with suppress(OSError):
                write_entry(path, checked)

    # -- fetching ------------------------------------------------------------------------------

    def _fetch(self, file: DistFile) -> tuple[bytes, RemoteBytes | None]:
        """The METADATA bytes, and the zip they were read from (a wheel without a sidecar)."""
        if file.metadata_hashes is not None:
            raw = self._sidecar(file)
            if raw is not None:
                return raw, None
        if file.kind == "sdist":
            return _sdist_metadata(file, self._download(file)), None
        return self._ranged(file)

    def _sidecar(self, file: DistFile) -> bytes | None:
        parts = urlsplit(file.url)
        url = urlunsplit(parts._replace(path=parts.path + ".metadata"))
        reply = self._http.get(url, max_bytes=MAX_METADATA_BYTES)
        if reply.status == 404:
            return None  # the listing promised one but it is gone: read the file itself
        if reply.status != 200:
            raise IndexServerError(f"fetching {url} answered HTTP {reply.status}")
        for algorithm, expected in (file.metadata_hashes or {}).items():
            known = algorithm in hashlib.algorithms_available
            if known and hashlib.new(algorithm, reply.body).hexdigest() != expected:
                raise IntegrityError(
                    f"the metadata file of {file.filename} does not match its listed "
                    f"{algorithm} hash",
                    hint="the index serves inconsistent data; report it to its operator",
                )
        return reply.body

    def _ranged(self, file: DistFile) -> tuple[bytes, RemoteBytes]:
        try:
            zf = self._zip(file, fallback=False)
            raw = wheel_metadata(file, zf)
        except _RangeUnusable:  # read it all again from the whole (verified) file
            zf = _in_memory(self._download(file))
            raw = wheel_metadata(file, zf)
        with self._guard:  # the member list, for the scan at lock time (``listing``)
            self._hold(file, zf)
        return raw, zf

    def _hold(self, file: DistFile, zf: RemoteBytes) -> None:
        """Keep ``zf`` for ``listing``: of each project only the files of the last
        ``HELD_PER_PROJECT`` versions read (a resolver stepping back through 900 releases
        locks one of them), at most ``MAX_HELD_BYTES`` in all; what is dropped costs one
        ranged read if it is listed after all."""
        if self._held_bytes + zf.held > MAX_HELD_BYTES:
            return
        key = file.sha256 or file.url
        versions = self._held_versions.setdefault(file.project, {})
        versions.setdefault(file.version, []).append(key)
        self._held[key] = zf.rebound(None)
        self._held_bytes += zf.held
        while len(versions) > HELD_PER_PROJECT:
            for old in versions.pop(next(iter(versions))):
                if (dropped := self._held.pop(old, None)) is not None:
                    self._held_bytes -= dropped.held

    def _zip(self, file: DistFile, *, fallback: bool) -> RemoteBytes:
        """The wheel's tail, read with a range, the rest on demand (``_ranges``); the whole
        (verified) file when the server does not answer ranges."""
        reply = self._http.get(
            file.url, headers={"Range": f"bytes=-{TAIL_BYTES}"}, max_bytes=self._max_download
        )
        if reply.status == 200:  # the server ignored Range: this is the whole file
            return _in_memory(_verified(file, reply.body))
        try:
            start, total = _content_range(reply.status, reply.headers, len(reply.body))
        except _RangeUnusable:
            return _in_memory(self._download(file))
        if file.size is not None and total != file.size:
            raise IntegrityError(
                f"{file.filename} is {total} bytes, not the {file.size} its index lists",
                hint="the file or the listing was tampered with; tell the index's operator",
            )
        zf = RemoteBytes(total, self._ranges(file, total, fallback=fallback))
        zf.add(start, reply.body)
        return zf

    def _ranges(self, file: DistFile, total: int, *, fallback: bool) -> Callable[[int, int], bytes]:
        """Reads of ``file``'s bytes ``[a, b)`` with ranges. When the server stops answering
        them, or after ``MAX_RANGE_READS`` of them: _RangeUnusable, or with ``fallback`` the
        bytes of the whole (verified) file, downloaded once."""
        whole: list[bytes] = []
        asked = [0]

        def fetch(a: int, b: int) -> bytes:
            if not whole and asked[0] < MAX_RANGE_READS:
                asked[0] += 1
                got = self._http.get(
                    file.url, headers={"Range": f"bytes={a}-{b - 1}"}, max_bytes=b - a
                )
                with suppress(_RangeUnusable):
                    if _content_range(got.status, got.headers, len(got.body)) == (a, total):
                        return got.body
            if not fallback:
                raise _RangeUnusable
            if not whole:
                whole.append(self._download(file))
            return whole[0][a:b]

        return fetch

    def _download(self, file: DistFile) -> bytes:
        if file.sha256 is None:
            raise IntegrityError(
                f"{file.filename} has no sha256 in the listing, so its bytes cannot be verified",
                hint="use an index that publishes sha256 hashes",
            )
        if file.size is not None and file.size > self._max_download:
            raise IndexServerError(f"{file.filename} is larger than {self._max_download} bytes")
        reply = self._http.get(file.url, max_bytes=self._max_download)
        if reply.status != 200:
            raise IndexServerError(f"downloading {file.url} answered HTTP {reply.status}")
        return _verified(file, reply.body)


def _content_range(status: int, headers: Mapping[str, str], length: int) -> tuple[int, int]:
    """(start, total size) of a 206 answer whose Content-Range matches its body."""
    match = _CONTENT_RANGE.match(headers.get("content-range", ""))
    if status != 206 or match is None:
        raise _RangeUnusable
    start, end, total = (int(g) for g in match.groups())
    if end - start + 1 != length or end >= total:
        raise _RangeUnusable
    return start, total


def _verified(file: DistFile, body: bytes) -> bytes:
    """``body`` after checking it against the listing's sha256."""
    if file.sha256 is None or hashlib.sha256(body).hexdigest() != file.sha256:
        raise IntegrityError(
            f"{file.filename} does not match the sha256 its index lists",
            hint="the file or the listing was tampered with; report it to the index's operator",
        )
    return body


def _in_memory(body: bytes) -> RemoteBytes:
    zf = RemoteBytes(len(body))
    zf.add(0, body)
    return zf


def _sdist_metadata(file: DistFile, body: bytes) -> bytes:
    if file.filename.endswith(".zip"):
        zf = _in_memory(body)
        members = central_directory(zf)
        found_zip = [m for m in members if _is_top_pkg_info(m.name)]
        if len(found_zip) != 1:
            raise ZipFormatError(f"{file.filename} has {len(found_zip)} top-level PKG-INFO files")
        return read_member(zf, found_zip[0], members, MAX_METADATA_BYTES)
    found: list[bytes] = []
    try:
        stream = _Capped(gzip.GzipFile(fileobj=io.BytesIO(body)), MAX_SDIST_UNPACKED_BYTES)
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                if _is_top_pkg_info(member.name):
                    extracted = tar.extractfile(member) if member.isreg() else None
                    if extracted is None or member.size > MAX_METADATA_BYTES:
                        raise ZipFormatError(f"PKG-INFO in {file.filename} is unusable")
                    found.append(extracted.read())
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise IndexServerError(f"{file.filename} is not a readable .tar.gz ({exc})") from None
    if len(found) != 1:
        raise ZipFormatError(f"{file.filename} has {len(found)} top-level PKG-INFO files")
    return found[0]


def _is_top_pkg_info(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and parts[1] == "PKG-INFO" and parts[0] not in ("", ".", "..")


class _Capped(io.RawIOBase):
    """A reader that refuses to yield more than ``cap`` bytes (gzip bombs)."""

    def __init__(self, inner: io.BufferedIOBase, cap: int) -> None:
        self._inner, self._left = inner, cap

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise OSError("the archive unpacks to more than the allowed size")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)
