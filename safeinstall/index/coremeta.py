"""Core metadata as bytes: read from a wheel's zip, parsed and checked against the file it
describes, cached forever under the file's sha256, and compared with the METADATA inside a whole
wheel. ``metadata.py`` (reading it from an index), ``reconcile.py`` (a wheel against its lock) and
``fetch.py`` (every wheel it delivers) all use these, so there is one comparison."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from packaging.metadata import InvalidMetadata, Metadata
from packaging.utils import InvalidWheelFilename, canonicalize_name
from packaging.version import InvalidVersion, Version

from safeinstall.errors import IndexServerError, IntegrityError, SafeinstallError
from safeinstall.files.cachedir import private_dir, read_entry
from safeinstall.index import filenames
from safeinstall.index.distfile import DistFile
from safeinstall.index.remotezip import (
    RemoteBytes,
    ZipFormatError,
    ZipMember,
    central_directory,
    read_member,
)

MAX_METADATA_BYTES = 4 * 1024 * 1024
# fields whose being dynamic changes what the resolver would see (PEP 643)
_DEPENDENCY_FIELDS = {"requires-dist", "requires-python", "provides-extra"}


class NeedsBuild(SafeinstallError):
    """An sdist's metadata is dynamic: only building it (running its code) would tell."""


def cached_metadata(cache: Path, sha256: str) -> bytes | None:
    """The core metadata cached under ``cache`` (the cache root) for the file with ``sha256``,
    as it was read from the index (a PEP 658 file or ranged reads); None when there is none."""
    path = entry_path(cache / "metadata", sha256, "", create=False)
    return read_checked(path) if path is not None else None


def forget_metadata(cache: Path, sha256: str) -> None:
    """Drop the cached core metadata of the file with ``sha256`` (it was found to lie)."""
    path = entry_path(cache / "metadata", sha256, "", create=False)
    if path is not None:
        path.unlink(missing_ok=True)


def entry_path(
    directory: Path | None, digest: str | None, suffix: str, *, create: bool
) -> Path | None:
    if directory is None or digest is None or not re.fullmatch(r"[0-9a-f]{64}", digest):
        return None
    if not create:
        return directory / digest[:2] / (digest + suffix)
    private_dir(directory.parent)
    private_dir(directory)
    return private_dir(directory / digest[:2]) / (digest + suffix)


def read_checked(path: Path) -> bytes | None:
    """An entry's bytes after checking its checksum line; a corrupt entry is removed."""
    stored = read_entry(path)
    if stored is None:
        return None
    checksum, _, raw = stored.partition(b"\n")
    if checksum.decode("ascii", "replace") != hashlib.sha256(raw).hexdigest():
        path.unlink(missing_ok=True)  # corrupt: discard and fetch again
        return None
    return raw


def wheel_metadata(file: DistFile, zf: RemoteBytes) -> bytes:
    members = central_directory(zf)
    dist_infos = {m.name.split("/", 1)[0] for m in members if ".dist-info/" in m.name}
    dist_infos = {d for d in dist_infos if d.endswith(".dist-info")}
    if len(dist_infos) != 1:
        raise ZipFormatError(f"{file.filename} has {len(dist_infos)} .dist-info directories")
    (dist_info,) = dist_infos
    name, _, version = dist_info.removesuffix(".dist-info").rpartition("-")
    if canonicalize_name(name) != file.project or _version(version) != file.version:
        raise IntegrityError(f"{file.filename} contains {dist_info}, which names another release")
    return _one_member(file, zf, members, f"{dist_info}/METADATA")


def _one_member(file: DistFile, zf: RemoteBytes, members: list[ZipMember], name: str) -> bytes:
    found = [m for m in members if m.name == name]
    if len(found) != 1:
        raise ZipFormatError(f"{file.filename} has {len(found)} {name} entries instead of one")
    return read_member(zf, found[0], members, MAX_METADATA_BYTES)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


# Fields the resolver and the lock rely on: these must parse. Others are not judged (real
# wheels often carry fields newer than their Metadata-Version, which installers accept).
_USED_FIELDS = (
    "name",
    "version",
    "requires_dist",
    "requires_python",
    "provides_extra",
    "dynamic",
)


# line ends as the email parser splits lines (\r\n is one end; no other character, unlike
# str.splitlines: a form feed or U+2028 inside a header is part of its value)
_LINE_END = rb"\r\n|\r|\n"
_LINES = re.compile(_LINE_END)
_BLANK_LINE = re.compile(rb"((?>" + _LINE_END + rb"))(?>" + _LINE_END + rb")")


def header_block(raw: bytes) -> bytes:
    """The header block of core metadata: what an email parser reads as headers ends at the
    first empty line at the latest; the description after it (most of the bytes, and most of
    the parsing) is text, not metadata, whatever it says."""
    blank = _BLANK_LINE.search(raw)
    return raw if blank is None else raw[: blank.end(1)]


def header_lines(head: bytes) -> list[str]:
    """The lines of a header block as the email parser sees them (its line numbers too)."""
    return [line.decode("utf-8", "replace") for line in _LINES.split(head)]


def parse_metadata(file: DistFile, raw: bytes) -> Metadata:
    """Core metadata whose fields the resolver and the lock use parse; IndexServerError if not.
    Its header block only (``header_block``): no field read from it is in the description."""
    try:
        meta = Metadata.from_email(header_block(raw), validate=False)
        for field in _USED_FIELDS:
            getattr(meta, field)
    except (ExceptionGroup, InvalidMetadata, ValueError) as exc:
        raise IndexServerError(f"the core metadata of {file.filename} is invalid ({exc})") from None
    return meta


def check_identity(file: DistFile, meta: Metadata) -> None:
    if canonicalize_name(meta.name) != file.project or meta.version != file.version:
        raise IntegrityError(
            f"the metadata of {file.filename} names {meta.name} {meta.version}, "
            "not the release its file name says",
            hint="the file is mislabelled or tampered with; do not use it",
        )


def check_static(file: DistFile, meta: Metadata) -> None:
    dynamic = {d.lower() for d in meta.dynamic or ()}
    try:
        declared = Version(meta.metadata_version)
    except (InvalidMetadata, InvalidVersion):  # e.g. "2.0", which pip accepts: not static
        declared = Version("0")
    if declared < Version("2.2") or dynamic & _DEPENDENCY_FIELDS:
        raise NeedsBuild(
            f"metadata of sdist {file.filename} is dynamic; building it runs its code",
            hint="use a wheel of this project, or allow building it in the policy",
        )


# fields whose being dynamic changes what the resolver would see (PEP 643)


def same_metadata(recorded: bytes, wheel: Path, filename: str) -> None:
    """``recorded`` (what the index served) must equal the METADATA inside ``wheel``."""
    file = _wheel_file(filename)
    _same(file, recorded, _inside(file, wheel))


def _same(file: DistFile, recorded: bytes, inside: bytes) -> None:
    if recorded == inside:
        return
    what = ""
    try:
        served = _requires(parse_metadata(file, recorded))
        real = _requires(parse_metadata(file, inside))
        changes = [f"adds Requires-Dist {r}" for r in sorted(served - real)]
        changes += [f"drops Requires-Dist {r}" for r in sorted(real - served)]
        what = f" ({'; '.join(changes)})" if changes else ""
    except IndexServerError:
        pass  # say that they differ, not how
    raise IntegrityError(
        f"the metadata the index served for {file.filename} (its PEP 658 file or a ranged read, "
        f"cached under its sha256) differs from the METADATA inside the wheel file{what}",
        hint=METADATA_HINT,
    )


def _wheel_file(filename: str) -> DistFile:
    try:
        name, version, _ = filenames.parse_wheel(filename)
    except (InvalidWheelFilename, InvalidVersion):
        raise IntegrityError(f"{filename} is not a wheel file name") from None
    return DistFile(name, version, filename, url="", index="", kind="wheel")


def _inside(file: DistFile, wheel: Path) -> bytes:
    """The METADATA member of a local wheel, whose .dist-info must name its release."""
    with open(wheel, "rb") as fh:

        def pread(start: int, end: int) -> bytes:
            fh.seek(start)
            return fh.read(end - start)

        return wheel_metadata(file, RemoteBytes(fh.seek(0, io.SEEK_END), pread))


def _requires(meta: Metadata) -> set[str]:
    return {str(r) for r in meta.requires_dist or ()}


METADATA_HINT = (
    "the index or a mirror serves metadata (its PEP 658 file or ranged reads) that differs from "
    "the wheel; nothing was installed: tell the index's operator, then relock"
)


def compare_with_cache(cache: Path, wheel: Path, filename: str, sha256: str) -> None:
    """The METADATA of the verified ``wheel`` against the metadata cached for ``sha256`` (what a
    lock on this machine was resolved from); on a mismatch the cached entry is dropped."""
    recorded = cached_metadata(cache, sha256)
    if recorded is None:
        return
    file = _wheel_file(filename)
    try:
        _same(file, recorded, _inside(file, wheel))
    except IntegrityError:
        forget_metadata(cache, sha256)  # the next lock reads the index again
        raise


def inside_wheel(wheel: Path, filename: str) -> tuple[DistFile, bytes]:
    """The DistFile a local wheel's name describes, and the METADATA member inside it."""
    file = _wheel_file(filename)
    return file, _inside(file, wheel)


def same_as_wheel(file: DistFile, served: bytes, wheel: Path) -> None:
    """``served`` (metadata the index served for ``file``) must equal ``wheel``'s METADATA."""
    _same(file, served, _inside(file, wheel))
