"""Artifacts by sha256: a content-addressed store and parallel, verified downloads into it.

Store layout under ``cache_root()/artifacts/sha256/`` (directories 0700): ``<hex>`` holds the
bytes, ``<hex>.name`` the validated file name they were fetched as (for staging and for restoring
a replaced version). Entries are written through a temp file and ``os.replace`` only after the
sha256, computed while streaming, and the size match; every read re-hashes the entry, so a
bit-flipped or swapped entry is discarded (and fetched again), never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, BinaryIO, cast

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from safeinstall.digests import is_sha256
from safeinstall.errors import IntegrityError, SafeinstallError
from safeinstall.files.cachedir import private_dir

if TYPE_CHECKING:
    from safeinstall.net.http import Http

WORKERS = 8
MAX_UNSIZED_BYTES = 4 * 1024 * 1024 * 1024  # a file whose size nobody announced
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*\.(whl|tar\.gz|zip)\Z")
_CHUNK = 1024 * 1024

# (files done, files total, bytes received, bytes expected or 0 when unknown)
Progress = Callable[[int, int, int, int], None]


@dataclass(frozen=True, slots=True)
class Artifact:
    """One file to install: what the lock pins (sha256) and where it comes from."""

    name: NormalizedName
    version: Version
    filename: str  # validated by ``check_filename``
    sha256: str
    url: str | None = None  # None: it must already be local (store or --find-links)
    size: int | None = None
    path: Path | None = None  # a local file (--find-links), verified when chosen

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


def parse_filename(filename: str) -> tuple[NormalizedName, Version] | None:
    """(project, version) of a wheel or sdist file name; None when it is not a safe one."""
    if not _FILENAME.match(filename) or ".." in filename:
        return None
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return canonicalize_name(name), version


def check_filename(filename: str, name: str, version: Version) -> bool:
    """True when ``filename`` is a plain distribution file name of exactly ``name`` ``version``."""
    parsed = parse_filename(filename)
    return parsed is not None and parsed == (canonicalize_name(name), version)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class Store:
    """The sha256-addressed artifact store; safe to use from many threads and processes."""

    def __init__(self, cache: Path) -> None:
        self.cache = private_dir(cache)
        private_dir(cache / "artifacts")
        self.root = private_dir(cache / "artifacts" / "sha256")

    def _entry(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise IntegrityError(f"{sha256!r} is not a sha256 digest")
        return self.root / sha256

    def get(self, sha256: str) -> Path | None:
        """The verified entry for ``sha256``; a damaged entry is removed and None returned."""
        path = self._entry(sha256)
        try:
            if path.is_symlink() or not path.is_file():
                path.unlink(missing_ok=True)
                return None
            if file_sha256(path) == sha256:
                return path
        except OSError:
            return None
        path.unlink(missing_ok=True)
        return None

    def name_of(self, sha256: str) -> str | None:
        try:
            text = (self.root / f"{sha256}.name").read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text if parse_filename(text) is not None else None

    def named_entries(self) -> Iterator[tuple[str, str]]:
        """(sha256, file name) of every entry that recorded its name (not yet re-verified)."""
        for marker in self.root.glob("*.name"):
            sha256 = marker.name.removesuffix(".name")
            name = self.name_of(sha256) if is_sha256(sha256) else None
            if name is not None and (self.root / sha256).is_file():
                yield sha256, name

    def add_file(self, source: Path, sha256: str, filename: str) -> Path:
        """Copy a local file into the store, verifying its bytes on the way."""
        with open(source, "rb") as fh:
            return self._write(sha256, filename, lambda sink: _copy(fh, sink), None)

    def fetch(self, http: Http, artifact: Artifact, on_bytes: Callable[[int], None]) -> Path:
        """Download ``artifact`` into the store (or take the verified entry already there)."""
        found = self.get(artifact.sha256)
        if found is not None:
            return found
        if artifact.url is None:
            raise IntegrityError(f"{artifact.filename} is not in the cache and has no URL")
        url = artifact.url
        limit = artifact.size if artifact.size is not None else MAX_UNSIZED_BYTES

        def download(sink: _HashingSink) -> None:
            sink.on_bytes = on_bytes
            http.stream(url, cast(BinaryIO, sink), max_bytes=limit, expected_size=artifact.size)

        return self._write(artifact.sha256, artifact.filename, download, artifact.size)

    def _write(
        self,
        sha256: str,
        filename: str,
        fill: Callable[[_HashingSink], None],
        size: int | None,
    ) -> Path:
        final = self._entry(sha256)
        tmp = self.root / f".{sha256}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            with os.fdopen(fd, "w+b") as fh:
                sink = _HashingSink(fh)
                fill(sink)
                fh.flush()
                os.fsync(fh.fileno())
            got = sink.digest.hexdigest()
            if got != sha256:
                raise IntegrityError(
                    f"{filename} does not match its locked hash: expected sha256 {sha256}, "
                    f"got {got}",
                    hint="the file was changed on the index or in transit; nothing was installed",
                )
            if size is not None and sink.count != size:
                raise IntegrityError(
                    f"{filename} has {sink.count} bytes, but {size} were expected",
                    hint="the index serves another file than the lock pins; nothing was installed",
                )
            (self.root / f"{sha256}.name").write_text(filename + "\n", "utf-8")
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final


class _HashingSink:
    """A seekable file wrapper that hashes what is written; a rewind to 0 (a retry) starts over."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()
        self.count = 0
        self.on_bytes: Callable[[int], None] = lambda n: None

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.count += len(data)
        self.on_bytes(len(data))
        return self._fh.write(data)

    def tell(self) -> int:
        return self._fh.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0:
            raise OSError("only a rewind to the start is supported")
        self.on_bytes(-self.count)
        self.digest, self.count = hashlib.sha256(), 0
        return self._fh.seek(0)

    def truncate(self, size: int | None = None) -> int:
        return self._fh.truncate(size)


def _copy(source: BinaryIO, sink: _HashingSink) -> None:
    while chunk := source.read(_CHUNK):
        sink.write(chunk)


def fetch_all(
    artifacts: Sequence[Artifact],
    store: Store,
    http: Http | None,
    *,
    progress: Progress | None = None,
    workers: int = WORKERS,
) -> dict[str, Path]:
    """Every artifact, verified, as sha256 -> local path; raises if ANY of them failed.

    Local artifacts (``path`` set) are re-hashed in place; the rest come from the store or, with
    ``http``, are downloaded in parallel. All downloads finish (or fail) before this returns, and
    the first failure is raised with a count of the others. A wheel whose METADATA differs from
    the core metadata cached under its sha256 (what a lock here was resolved from) fails too
    (``reconcile``).
    """
    from safeinstall.index.coremeta import compare_with_cache

    total_bytes = sum(a.size or 0 for a in artifacts if a.path is None)
    state = {"done": 0, "bytes": 0}
    guard = Lock()

    def report(files: int = 0, received: int = 0) -> None:
        with guard:
            state["done"] += files
            state["bytes"] += received
            done, got = state["done"], state["bytes"]
        if progress is not None:
            progress(done, len(artifacts), got, total_bytes)

    def one(artifact: Artifact) -> Path:
        if artifact.path is not None:
            path = _verified_local(artifact)
        elif http is None:
            path = store.get(artifact.sha256) or _missing_offline(artifact)
        else:
            path = store.fetch(http, artifact, lambda n: report(received=n))
        if artifact.is_wheel:
            compare_with_cache(store.cache, path, artifact.filename, artifact.sha256)
        report(files=1)
        return path

    results: dict[str, Path] = {}
    errors: list[SafeinstallError] = []
    with ThreadPoolExecutor(max(1, min(workers, len(artifacts))), "safeinstall-fetch") as pool:
        futures = [(a, pool.submit(one, a)) for a in artifacts]
        for artifact, future in futures:
            try:
                results[artifact.sha256] = future.result()
            except SafeinstallError as exc:
                errors.append(exc)
    if errors:
        first = errors[0]
        if len(errors) > 1:
            others = f"{len(errors) - 1} other file{'s' * (len(errors) > 2)} also failed"
            first.hint = f"{first.hint + '; ' if first.hint else ''}{others}"
        raise first
    return results


def _verified_local(artifact: Artifact) -> Path:
    assert artifact.path is not None
    with contextlib.suppress(OSError):
        if file_sha256(artifact.path) == artifact.sha256:
            return artifact.path
    raise IntegrityError(
        f"{artifact.path} does not match its locked hash sha256:{artifact.sha256}",
        hint="the local file changed after it was matched; run `safeinstall download` again",
    )


def _missing_offline(artifact: Artifact) -> Path:
    raise IntegrityError(
        f"{artifact.filename} is not available offline",
        hint="run `safeinstall download LOCK -d DIR` and pass --find-links DIR",
    )
