"""Unpacking sdists and wheels for a build, refusing anything that would write outside the tree.

Both archive kinds are checked in full before a byte is written: tar members go through
``tarfile``'s ``data`` filter (no absolute paths, no ``..``, no link leaving the tree, no device
or fifo), zip members must be plain relative paths (no links at all); member count and total
unpacked size are capped, so a bomb fails before it fills the disk. An sdist must hold exactly one
top-level directory, as every sdist does. The archive's own names are used only inside ``dest``,
a directory the caller created for it.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from safeinstall.errors import IntegrityError

MAX_MEMBERS = 50_000
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
_CHUNK = 1024 * 1024


def unpack_sdist(data: bytes, filename: str, dest: Path) -> Path:
    """Unpack the (verified) sdist ``data`` into the empty directory ``dest``; returns the
    source tree, its single top-level directory."""
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = _unpack_zip(zf, filename, dest)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                names = _unpack_tar(tar, filename, dest)
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _unsafe(filename, f"is not a readable archive ({exc})") from None
    tops = {PurePosixPath(n).parts[0] for n in names if PurePosixPath(n).parts}
    if len(tops) != 1 or not (dest / next(iter(tops))).is_dir():
        raise _unsafe(filename, "does not hold exactly one top-level directory")
    return dest / tops.pop()


def unpack_wheel(path: Path, dest: Path) -> None:
    """Unpack a (verified) wheel's importable files into ``dest``: its root, plus the
    ``*.data/purelib`` and ``*.data/platlib`` trees; scripts, headers and data are left out."""
    try:
        with zipfile.ZipFile(path) as zf:
            _unpack_zip(zf, path.name, dest, rename=site_path)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _unsafe(path.name, f"is not a readable archive ({exc})") from None


def site_path(name: str, parts: tuple[str, ...] | None = None) -> str | None:
    """Where an installer puts a wheel member, relative to site-packages; None: outside it
    (``.data`` scripts, headers and data). ``parts``: ``path_parts(name)``, when at hand."""
    if parts is None:
        parts = path_parts(name)
    if parts and parts[0].endswith(".data"):
        if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            return "/".join(parts[2:])
        return None
    return name


def _unpack_tar(tar: tarfile.TarFile, filename: str, dest: Path) -> list[str]:
    members: list[tarfile.TarInfo] = []
    total = 0
    while (member := tar.next()) is not None:  # headers one by one: a bomb stops at the cap
        total += member.size
        _check_caps(filename, len(members) + 1, total)
        try:
            if not plain_name(member.name.removesuffix("/")):
                raise tarfile.FilterError("not a plain relative path")  # data_filter strips "/"
            tarfile.data_filter(member, str(dest))
        except tarfile.FilterError as exc:
            raise _unsafe(filename, f"has an unsafe member {member.name!r} ({exc})") from None
        members.append(member)
    tar.extractall(dest, members=members, filter="data")
    return [m.name for m in members]


def _unpack_zip(
    zf: zipfile.ZipFile,
    filename: str,
    dest: Path,
    *,
    rename: Callable[[str], str | None] = lambda name: name,
) -> list[str]:
    infos = zf.infolist()
    _check_caps(filename, len(infos), sum(i.file_size for i in infos))
    for info in infos:
        if not plain_name(info.filename) or stat.S_ISLNK(info.external_attr >> 16):
            raise _unsafe(filename, f"has an unsafe member {info.filename!r}")
    for info in infos:
        name = rename(info.filename)
        if name is None or not name.strip("/"):
            continue
        target = dest.joinpath(*PurePosixPath(name).parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            sink = open(target, "xb")  # noqa: SIM115 - closed below; a duplicate name fails here
        except FileExistsError:
            raise _unsafe(filename, f"lists {info.filename!r} twice") from None
        with sink, zf.open(info) as source:  # zipfile stops at the declared size, checks CRC
            shutil.copyfileobj(source, sink, _CHUNK)
        if info.external_attr >> 16 & 0o100:
            os.chmod(target, 0o700)  # executable for the owner; the tree is private
    return [i.filename for i in infos]


def plain_name(name: str, parts: tuple[str, ...] | None = None) -> bool:
    """A relative POSIX path without ``..``, backslashes, drive letters or NUL characters.
    ``parts``: ``path_parts(name)``, when at hand."""
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return False
    if parts is None:
        parts = path_parts(name)
    return bool(parts) and ":" not in parts[0] and ".." not in parts


def path_parts(name: str) -> tuple[str, ...]:
    """``PurePosixPath(name).parts``; a name with no empty or ``.`` part that is not absolute
    (most are) is split without building a path (a lock reads tens of thousands of names, each
    judged by ``plain_name`` and ``site_path``)."""
    if "//" in name or "/." in name or name[:1] in ("", ".", "/") or name.endswith("/"):
        return PurePosixPath(name).parts
    return tuple(name.split("/"))


def _check_caps(filename: str, members: int, size: int) -> None:
    if members > MAX_MEMBERS:
        raise _unsafe(filename, f"has more than {MAX_MEMBERS} members")
    if size > MAX_UNPACKED_BYTES:
        raise _unsafe(filename, f"unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB")


def _unsafe(filename: str, why: str) -> IntegrityError:
    return IntegrityError(
        f"refusing to unpack {filename}: it {why}",
        hint="nothing was built or installed from it; report the file to the project's maintainers",
    )
