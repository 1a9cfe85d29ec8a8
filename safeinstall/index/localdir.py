"""Local indexes and find-links folders: ``file:`` URLs answered from disk like HTTP answers.

``net.http.Http`` hands every ``file:`` URL here after the same ``allowed`` test (the host rule
of policy/hosts.py: inside a trusted index's tree), so pages, metadata, the artifact store,
builds and ``download`` all read local sources through one path with one set of limits:

- the path is judged as written and again as the real path (symlinks resolved): a link to
  ``/etc/passwd`` or out of the tree is refused, and the file is opened with ``O_NOFOLLOW``;
- only regular files are read, at most ``limit`` bytes (a size over it is an error, as over HTTP);
- a directory is a page: its ``index.html`` (PEP 503), or else a listing of its distribution
  files (a find-links folder, or a project directory without one); a directory whose name on
  disk is not exactly the one asked for (another case on a case-insensitive disk) is not found.

Hashes: a listing may carry ``#sha256=`` fragments, but for bytes on this disk the honest source
is the bytes. ``with_local_hashes`` gives each file of a page the sha256 of its bytes when that
release is asked for (a fragment that disagrees is an error), so the lock records what was read;
install copies the file into the store and checks it against the lock like a download.
"""

from __future__ import annotations

import hashlib
import html
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import BinaryIO
from urllib.parse import quote

from packaging.version import Version

from safeinstall.errors import IndexServerError, IntegrityError
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.policy.hosts import local_path

_CHUNK = 1024 * 1024
_DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")
_MAX_LISTING = 100_000  # entries of one folder
LocalReply = tuple[str, int, dict[str, str], bytes]  # url, status, headers, body


def read_local(  # noqa: PLR0917 - Http's request, handed over as is
    url: str,
    allowed: Callable[[str], bool],
    headers: Mapping[str, str],
    limit: int,
    sink: BinaryIO | None,
    expected_size: int | None,
) -> LocalReply:
    """Answer ``url`` from disk: 200 (206 for a ``Range`` request), or 404 when it is absent."""
    path = _trusted_path(url, allowed)
    if os.path.isdir(path):
        if sink is not None:
            raise IndexServerError(f"{path} is a directory, not a file", hint=_HINT)
        return _page(url, path, allowed, limit)
    fh = _open_regular(path)
    if fh is None:
        return url, 404, {}, b""
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if sink is not None:
            return url, 200, {}, _copy(fh, sink, path, size, limit, expected_size)
        span = _range(headers.get("Range") or headers.get("range") or "", size)
        if span is None:
            _check_size(path, size, limit)
            return url, 200, {"content-length": str(size)}, fh.read(size)
        start, end = span
        _check_size(path, end - start, limit)
        fh.seek(start)
        body = fh.read(end - start)
        return url, 206, {"content-range": f"bytes {start}-{end - 1}/{size}"}, body


def with_local_hashes(page: ProjectPage, allowed: Callable[[str], bool]) -> ProjectPage:
    """``page`` with each file's sha256 (and size) read from its bytes, release by release."""

    def load(version: Version) -> tuple[DistFile, ...]:
        return tuple(_hashed(f, allowed) for f in page.files_of(version))

    lazy = (frozenset(page.releases()), load)
    return ProjectPage(page.project, page.index, versions=page.versions, lazy=lazy)


_HINT = "check the local index or find-links folder (its files must lie inside its directory)"


def _trusted_path(url: str, allowed: Callable[[str], bool]) -> str:
    path = local_path(url)
    real = os.path.realpath(path) if path is not None else None
    if path is not None and real != path and not allowed(f"file://{quote(str(real))}"):
        raise IndexServerError(
            f"refusing to read {path}: it leads to {real}, outside the trusted directory",
            hint=_HINT,
        )
    if real is None or not allowed(url):
        raise IndexServerError(
            f"refusing to read {url}: the policy does not trust this location",
            hint="list the folder in the policy's find-links or indexes (or pip's configuration)",
        )
    return real


def _open_regular(path: str) -> BinaryIO | None:
    """``path`` opened for reading if it is a regular file (no symlink followed, no wait on a
    FIFO or device); None when it is absent."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexServerError(f"cannot read {path}: {exc.strerror or exc}", hint=_HINT) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IndexServerError(f"{path} is not a regular file", hint=_HINT)
    return os.fdopen(fd, "rb")


def _page(url: str, path: str, allowed: Callable[[str], bool], limit: int) -> LocalReply:
    parent, name = os.path.split(path)
    try:
        if name not in os.listdir(parent):  # ALPHA/ answering for alpha/ on a case-blind disk
            return url, 404, {}, b""
        entries = sorted(os.listdir(path))[:_MAX_LISTING]
    except OSError as exc:
        raise IndexServerError(f"cannot list {path}: {exc.strerror or exc}", hint=_HINT) from None
    base = url if url.endswith("/") else url + "/"
    if "index.html" in entries:
        _, status, _, body = read_local(base + "index.html", allowed, {}, limit, None, None)
        return base, status, {"content-type": "text/html"}, body
    links = [
        f'<a href="{quote(entry)}">{html.escape(entry)}</a>'
        for entry in entries
        if entry.endswith(_DIST_SUFFIXES) and os.path.isfile(os.path.join(path, entry))
    ]
    listing = "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
    return base, 200, {"content-type": "text/html"}, listing.encode()


def _hashed(file: DistFile, allowed: Callable[[str], bool]) -> DistFile:
    digest = hashlib.sha256()
    size = 0
    path = _trusted_path(file.url, allowed)
    fh = _open_regular(path)
    if fh is None:
        raise IndexServerError(f"{path} is listed but absent", hint=_HINT)
    with fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    sha256 = digest.hexdigest()
    listed = file.hashes.get("sha256")
    if listed is not None and listed != sha256:
        raise IntegrityError(
            f"{path} does not match the sha256 its index page lists for it",
            hint="the file or the page was changed; rebuild the index page from the files",
        )
    return replace(file, hashes={"sha256": sha256}, size=size)


def _copy(  # noqa: PLR0917
    fh: BinaryIO, sink: BinaryIO, path: str, size: int, limit: int, expected: int | None
) -> bytes:
    if expected is not None and size != expected:
        raise IntegrityError(
            f"{path} is {size} bytes, not the {expected} the lock records",
            hint="the file changed since the lock was made; lock again if the change is trusted",
        )
    _check_size(path, size, limit)
    copied = 0
    while chunk := fh.read(min(_CHUNK, limit + 1 - copied)):
        copied += len(chunk)
        if copied > limit:
            _check_size(path, copied, limit)
        sink.write(chunk)
    return b""


def _check_size(path: str, size: int, limit: int) -> None:
    if size > limit:
        raise IndexServerError(
            f"{path} is larger than the {limit} bytes allowed for it", hint=_HINT
        )


def _range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) of ``bytes=A-B`` or ``bytes=-N`` within ``size``; None: the whole file."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header.removeprefix("bytes=").partition("-")
    try:
        if not first:
            start, end = max(0, size - int(last)), size
        else:
            start, end = int(first), min(size, int(last) + 1) if last else size
    except ValueError:
        return None
    return (start, end) if 0 <= start < end else None
