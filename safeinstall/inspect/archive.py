"""Reading an artifact's members in place: a wheel as a zip, an sdist as a tar or zip archive.

Nothing is extracted or run. One pass in archive order (a compressed tar cannot seek back
cheaply); each member's bytes are read on demand, at most ``limit`` of them, so a member larger
than a rule needs is never held whole. Member count and total size are capped with the same
limits as unpacking (``environment/unpack.py``). Names are normalised as an installer
writes them (``./x.pth`` and ``a//b`` are ``x.pth`` and ``a/b``); names that are not plain
relative paths are skipped here (wheels are refused for them before, sdists when unpacked for a
build).
"""

from __future__ import annotations

import contextlib
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TypeVar

from safeinstall.environment.unpack import MAX_MEMBERS, MAX_UNPACKED_BYTES, path_parts, plain_name

KEPT_NAME_LENGTH = 512  # of the member names whose reading ``by_name`` keeps
_T = TypeVar("_T")


def by_name(read: Callable[[str], _T]) -> Callable[[str], _T]:
    """``read`` (of a member name alone) done once a run per name: a lock reads tens of
    thousands of names, its platforms' wheels alike. Only names of a usual length are kept
    (65,536 of them at most): a hostile wheel's 64 KiB names are read each time."""
    kept = lru_cache(maxsize=1 << 16)(read)

    def reading(name: str) -> _T:
        return kept(name) if len(name) <= KEPT_NAME_LENGTH else read(name)

    return reading


class Unreadable(Exception):
    """The archive cannot be read, or is over the limits (the message says which)."""


@dataclass(frozen=True, slots=True)
class Member:
    """A regular file in the archive: its path (for an sdist, inside its top directory)."""

    name: str
    size: int
    read: Callable[[int], bytes]  # up to that many bytes; valid only while iterating


def members(path: Path, filename: str) -> Iterator[Member]:
    """Each regular file of the wheel or sdist at ``path``; Unreadable when it cannot be read."""
    try:
        if filename.endswith((".whl", ".zip")):
            yield from _zip(path, strip=not filename.endswith(".whl"))
        else:
            yield from _tar(path)
    except _READ_ERRORS as exc:  # also encrypted members and unknown compression methods
        raise Unreadable(f"it is not a readable archive ({exc})") from None


_READ_ERRORS = (
    OSError,
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
)


@contextlib.contextmanager
def _reading() -> Iterator[None]:
    """A member read (called by the rules, outside this module's loop) fails as Unreadable."""
    try:
        yield
    except _READ_ERRORS as exc:
        raise Unreadable(f"a member cannot be read ({exc})") from None


def check_caps(count: int, total: int) -> None:
    """Unreadable when ``count`` members of ``total`` bytes are over the unpacking limits."""
    if count > MAX_MEMBERS or total > MAX_UNPACKED_BYTES:
        raise Unreadable(f"it has {count} members unpacking to {total} bytes, above the limits")


def _zip(path: Path, *, strip: bool) -> Iterator[Member]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        check_caps(len(infos), sum(i.file_size for i in infos))
        for info in infos:

            def read(limit: int, info: zipfile.ZipInfo = info) -> bytes:
                with _reading(), zf.open(info) as fh:  # zipfile stops at the declared size
                    return fh.read(limit)

            found = zip_member(info.filename, info.file_size, info.external_attr >> 16, read, strip)
            if found is not None:
                yield found


def zip_member(
    raw: str, size: int, mode: int, read: Callable[[int], bytes], strip: bool = False
) -> Member | None:
    """The zip entry ``raw`` (with its Unix ``mode``) as a Member; None for a directory, a
    symlink or a name that is not a plain relative path. Also for a central directory read with
    ranges at lock time (``inspect/listing.py``)."""
    if raw.endswith("/") or stat.S_ISLNK(mode):
        return None
    name = _inside(raw) if strip else _plain(raw)
    if name is None or (strip and not plain_name(raw)):
        return None
    return Member(name, size, read)


@by_name
def _plain(raw: str) -> str | None:
    """``raw`` as an installer writes it, when it is a plain relative path."""
    parts = path_parts(raw)  # split once
    return _normal(raw, parts) if plain_name(raw, parts) else None


def _tar(path: Path) -> Iterator[Member]:
    with tarfile.open(path, mode="r:*") as tar:
        count = total = 0
        while (info := tar.next()) is not None:  # headers one by one: a bomb stops at the cap
            count, total = count + 1, total + info.size
            check_caps(count, total)
            name = _inside(info.name)
            if not info.isfile() or name is None or not plain_name(info.name):
                continue

            def read(limit: int, info: tarfile.TarInfo = info) -> bytes:
                with _reading():
                    fh = tar.extractfile(info)
                    return fh.read(limit) if fh is not None else b""

            yield Member(name, info.size, read)


def _normal(name: str, parts: tuple[str, ...] | None = None) -> str:
    """The path as an installer writes it: ``./x.pth`` and ``a//b`` are ``x.pth`` and ``a/b``
    (``parts``: ``path_parts(name)``, when at hand)."""
    return "/".join(path_parts(name) if parts is None else parts)


def _inside(name: str) -> str | None:
    """An sdist member's path below its one top-level directory (None: the directory itself)."""
    parts = PurePosixPath(name).parts
    return "/".join(parts[1:]) if len(parts) > 1 else None
