"""Every wheel checked in full against the wheel format before pip sees it (as pypa/installer does).

A locked hash proves the bytes are the ones locked, not that they are a well-formed wheel: pip
writes members in order and stops at the first it dislikes, leaving what it wrote so far. So a
wheel is refused, before anything is written, when:

- a member name is not a plain relative path (``..``, absolute, drive letter, backslash, NUL; the
  rules of ``unpack.plain_name``), is a symlink, or appears twice (also when only its case differs);
- a member lies outside the places a wheel may use: its root, its one ``<name>-<ver>.dist-info``
  and ``<name>-<ver>.data/<scheme>/`` with a scheme among purelib, platlib, headers, scripts, data;
- there is not exactly one ``.dist-info``, or its name/version is not the file name's;
- WHEEL is missing or its Wheel-Version is not 1.x; the wheel ships ``direct_url.json``, which
  only an installer writes (a wheel carrying one could pose as an editable install);
- RECORD is missing, lists a file the wheel does not hold, or a member (other than RECORD and its
  signatures) is unlisted or does not match its sha256/384/512 hash and size;
- it holds more than ``unpack.MAX_MEMBERS`` members or unpacks to more than
  ``unpack.MAX_UNPACKED_BYTES`` (a zip bomb).

Every problem is collected and reported in one error. One pass over the central directory, and
each member is hashed once, by the algorithm its RECORD line names.
"""

from __future__ import annotations

import csv
import hashlib
import stat
import zipfile
import zlib
from base64 import urlsafe_b64encode
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from pathlib import Path, PurePosixPath

from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from safeinstall.environment.unpack import MAX_MEMBERS, MAX_UNPACKED_BYTES, plain_name
from safeinstall.errors import IntegrityError
from safeinstall.index.fetch import Artifact

SCHEMES = frozenset({"purelib", "platlib", "headers", "scripts", "data"})
SIGNATURES = ("RECORD.jws", "RECORD.p7s")
INSTALLER_FILES = ("direct_url.json",)
_HASHES = ("sha256", "sha384", "sha512")
_SHOWN = 30  # problems named in the message; the rest are counted
_CHUNK = 1024 * 1024


def check_wheels(files: Sequence[tuple[Artifact, Path]]) -> None:
    """Refuse the first wheel among ``files`` that is not a well-formed wheel (sdists pass)."""
    for artifact, path in files:
        if artifact.is_wheel:
            check_wheel(path, artifact.filename)


def check_wheel(path: Path, filename: str) -> None:
    """Refuse the wheel at ``path`` (named ``filename``) with every problem it has."""
    problems = wheel_problems(path, filename)
    if problems:
        shown = problems[:_SHOWN]
        more = len(problems) - len(shown)
        tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        raise IntegrityError(
            f"refusing to install {filename}: it is not a well-formed wheel: "
            f"{'; '.join(shown)}{tail}",
            hint="nothing was installed; report the file to the project's maintainers, "
            "or lock another version",
        )


def wheel_problems(path: Path, filename: str) -> list[str]:
    """Every way the wheel at ``path`` breaks the wheel format; empty when it is well formed."""
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return [f"{filename!r} is not a wheel file name"]
    try:
        with zipfile.ZipFile(path) as zf:
            return _problems(zf, name, version)
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        return [f"it is not a readable zip archive ({exc})"]


def _problems(zf: zipfile.ZipFile, name: NormalizedName, version: Version) -> list[str]:
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_MEMBERS or total > MAX_UNPACKED_BYTES:
        return [f"it has {len(infos)} members unpacking to {total} bytes, above the limits"]
    problems: list[str] = []
    dist_infos = sorted(
        {_top(i.filename) for i in infos if _top(i.filename).endswith(".dist-info")}
    )
    ours = [d for d in dist_infos if _names(d.removesuffix(".dist-info"), name, version)]
    if len(dist_infos) != 1 or not ours:
        found = ", ".join(dist_infos) or "none"
        problems.append(f"it must hold exactly one {name}-{version}.dist-info (found: {found})")
    meta = ours[0] if ours else f"{name.replace('-', '_')}-{version}.dist-info"
    data = meta.removesuffix(".dist-info") + ".data"
    record = _record(zf, f"{meta}/RECORD", problems)
    problems += _wheel_version(zf, f"{meta}/WHEEL")
    seen: dict[str, str] = {}
    for info in infos:
        member = info.filename
        problems += _member_problems(info, meta, data)
        folded = member.rstrip("/").casefold()
        if folded in seen:
            problems.append(f"{member!r} is listed twice (as {seen[folded]!r})")
            continue
        seen[folded] = member
        if info.is_dir() or member == f"{meta}/RECORD" or record is None:
            continue
        line = record.pop(member, None)
        if line is None:
            if not _is_signature(member, meta):
                problems.append(f"{member} is not listed in RECORD")
            continue
        problems += _hash_problems(zf, info, line)
    for entry in record or {}:
        problems.append(f"RECORD lists {entry}, which the wheel does not hold")
    return problems


def _member_problems(info: zipfile.ZipInfo, meta: str, data: str) -> list[str]:
    member = info.filename
    if not plain_name(member):
        return [f"{member!r} is not a plain relative path"]
    problems = []
    if stat.S_ISLNK(info.external_attr >> 16):
        problems.append(f"{member} is a symbolic link")
    parts = PurePosixPath(member).parts
    top = parts[0]
    if top == data:
        if (len(parts) < 3 and not info.is_dir()) or (len(parts) > 1 and parts[1] not in SCHEMES):
            problems.append(f"{member} is not under {data}/<scheme>/ with a known scheme")
    elif top.endswith(".data") and top != data:
        problems.append(f"{member} is outside the wheel's own directories ({data} is the one)")
    elif top == meta and len(parts) == 2 and parts[1] in INSTALLER_FILES:
        problems.append(f"{member} is written by installers, never shipped in a wheel")
    return problems


def _top(member: str) -> str:
    return member.split("/", 1)[0]


def _names(stem: str, name: NormalizedName, version: Version) -> bool:
    """True when ``<stem>.dist-info`` names ``name`` ``version``."""
    dist, _, text = stem.rpartition("-")
    try:
        return canonicalize_name(dist) == name and Version(text) == version
    except InvalidVersion:
        return False


def _is_signature(member: str, meta: str) -> bool:
    return member in (f"{meta}/{s}" for s in SIGNATURES)


def _record(
    zf: zipfile.ZipFile, path: str, problems: list[str]
) -> dict[str, tuple[str, str]] | None:
    """RECORD's entries (path -> (hash, size)); None (and a problem) when it is unusable."""
    try:
        text = zf.read(path).decode("utf-8")
    except KeyError:
        problems.append(f"it has no {path}")
        return None
    except (UnicodeDecodeError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        problems.append(f"{path} cannot be read ({exc})")
        return None
    entries: dict[str, tuple[str, str]] = {}
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        problems.append(f"{path} is not valid CSV ({exc})")
        return None
    for row in rows:
        if not row or not row[0]:
            continue
        entry, digest, size = [*row, "", ""][:3]
        if entry in entries:
            problems.append(f"RECORD lists {entry} twice")
        entries[entry] = (digest, size)
    entries.pop(path, None)
    return entries


def _hash_problems(zf: zipfile.ZipFile, info: zipfile.ZipInfo, line: tuple[str, str]) -> list[str]:
    digest, size = line
    algorithm, _, expected = digest.partition("=")
    if algorithm not in _HASHES or not expected:
        return [f"RECORD gives {info.filename} no sha256 (or stronger) hash"]
    hasher = hashlib.new(algorithm)
    length = 0
    try:
        with zf.open(info) as member:  # zipfile checks the CRC and stops at the declared size
            while chunk := member.read(_CHUNK):
                hasher.update(chunk)
                length += len(chunk)
    except (OSError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        return [f"{info.filename} cannot be read ({exc})"]
    actual = urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()
    if actual != expected.rstrip("=") or size != str(length):
        return [f"{info.filename} does not match its RECORD hash and size"]
    return []


def _wheel_version(zf: zipfile.ZipFile, path: str) -> list[str]:
    try:
        headers = BytesHeaderParser().parsebytes(zf.read(path))
    except KeyError:
        return [f"it has no {path}"]
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        return [f"{path} cannot be read ({exc})"]
    text = str(headers.get("Wheel-Version", "")).strip()
    if text.split(".")[0] != "1" or not all(p.isdigit() for p in text.split(".")):
        return [f"{path} has Wheel-Version {text or 'missing'}; only 1.x is supported"]
    return []
