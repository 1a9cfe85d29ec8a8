"""Reading single members of a zip whose bytes arrive piecemeal (HTTP ranges) or all at once.

Only what metadata and the lock-time scan need: the end-of-central-directory records (zip64
included), the central directory (the member list), one member's bytes (stored or deflate,
size-capped against zip bombs, CRC checked) or the first bytes of a larger one (``read_prefix``).
No member is ever written to disk, so member names never become paths.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import zlib
from collections.abc import Callable
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

from safeinstall.errors import IndexServerError

MAX_CENTRAL_DIRECTORY = 32 * 1024 * 1024
_EOCD = struct.Struct("<4sHHHHIIH")
TAIL_BYTES = _EOCD.size + 0xFFFF  # the end record with the longest comment: read this first
_EOCD64_LOCATOR = struct.Struct("<4sIQI")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")


class ZipFormatError(IndexServerError):
    """The bytes are not a zip safeinstall can read (truncated, malformed, unsupported)."""


class ZipMember(NamedTuple):  # a tuple: a lock builds ~50,000 (a frozen dataclass: 4x the cost)
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int
    mode: int = 0  # the Unix mode in the external attributes (a symlink: S_IFLNK)


_NAME, _FIELDS = itemgetter(0), itemgetter(slice(1, None))  # of a ZipMember


class RemoteBytes:
    """A file of known ``size`` of which some spans are held; the rest comes from ``fetch``.

    ``fetch(start, end)`` returns exactly bytes ``[start, end)``; a read that ends inside a held
    span only fetches what is missing before it.
    """

    def __init__(self, size: int, fetch: Callable[[int, int], bytes] | None = None) -> None:
        self.size = size
        self._fetch = fetch
        self._spans: list[tuple[int, bytes]] = []

    def add(self, start: int, data: bytes) -> None:
        self._spans.append((start, data))

    @property
    def spans(self) -> tuple[tuple[int, bytes], ...]:
        """The spans held: (start, bytes)."""
        return tuple(self._spans)

    @property
    def held(self) -> int:
        """How many bytes are held."""
        return sum(len(data) for _, data in self._spans)

    def rebound(self, fetch: Callable[[int, int], bytes] | None) -> RemoteBytes:
        """The same held spans, the rest fetched by ``fetch`` (None: the zip is truncated)."""
        copy = RemoteBytes(self.size, fetch)
        copy._spans = list(self._spans)
        return copy

    def read(self, start: int, end: int) -> bytes:
        if not 0 <= start <= end <= self.size:
            raise ZipFormatError(f"the zip points outside itself (bytes {start}-{end})")
        for span_start, data in self._spans:
            span_end = span_start + len(data)
            if span_start <= start and end <= span_end:
                return data[start - span_start : end - span_start]
        for span_start, data in self._spans:
            if start < span_start < end <= span_start + len(data):
                head = self._get(start, span_start)
                self._spans.append((start, head))
                return head + data[: end - span_start]
        data = self._get(start, end)
        self._spans.append((start, data))
        return data

    def _get(self, start: int, end: int) -> bytes:
        if self._fetch is None:
            raise ZipFormatError("the zip is truncated")
        data = self._fetch(start, end)
        if len(data) != end - start:
            raise ZipFormatError("a range of the zip came back with the wrong length")
        return data


class Listing:
    """A zip's central directory, and the first bytes of the members read through it, kept
    (``kept``: header offset -> (bytes, whether that is the whole member)) so that a cache can
    hold them: read again, a kept member costs no request."""

    def __init__(
        self,
        members: list[ZipMember],
        zf: RemoteBytes,
        kept: dict[int, tuple[bytes, bool]] | None = None,
    ) -> None:
        self.members = members
        self.kept = dict(kept or {})
        self.changed = kept is None  # since it was read from a cache (``from_json``)
        self._zf = zf

    def read(self, member: ZipMember, limit: int) -> bytes:
        """At most the first ``limit`` bytes of ``member`` (``read_prefix``)."""
        held = self.kept.get(member.header_offset)
        if held is not None and (held[1] or len(held[0]) >= limit):
            return held[0][:limit]
        data = read_prefix(self._zf, member, self.members, limit)
        self.kept[member.header_offset] = (data, len(data) == member.size)
        self.changed = True
        return data

    def to_json(self) -> bytes:
        fields = [list(m) for m in self.members]
        kept = [
            [at, base64.b64encode(data).decode(), whole] for at, (data, whole) in self.kept.items()
        ]
        return json.dumps({"size": self._zf.size, "members": fields, "kept": kept}).encode()

    @classmethod
    def from_json(cls, raw: bytes, bytes_of: Callable[[int], RemoteBytes]) -> Listing:
        """A listing ``to_json`` wrote, its other bytes from ``bytes_of(size)``; ValueError when
        it is not one."""
        try:
            data = json.loads(raw)
            members = [ZipMember(*m) for m in data["members"]]
            kept = {
                int(at): (base64.b64decode(b64, validate=True), bool(whole))
                for at, b64, whole in data["kept"]
            }
            size = int(data["size"])
        except (TypeError, KeyError, ValueError, binascii.Error) as exc:
            raise ValueError(f"not a listing ({exc})") from None
        # checked at C speed: a lock for several platforms reads ~100,000 members back
        if not set(map(type, chain.from_iterable(map(_FIELDS, members)))) <= {int}:
            raise ValueError("not a listing (bad member fields)")
        if not set(map(type, map(_NAME, members))) <= {str}:
            raise ValueError("not a listing (bad member names)")
        return cls(members, bytes_of(size), kept)


def central_directory(zf: RemoteBytes) -> list[ZipMember]:
    """Every member listed in the central directory, in order."""
    tail_start = max(zf.size - TAIL_BYTES, 0)
    tail = zf.read(tail_start, zf.size)
    pos = _find_eocd(tail)
    _, disk, cd_disk, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
    eocd_at = tail_start + pos
    if eocd_at >= _EOCD64_LOCATOR.size:
        locator = zf.read(eocd_at - _EOCD64_LOCATOR.size, eocd_at)
        sig, _, record_at, _ = _EOCD64_LOCATOR.unpack(locator)
        if sig == b"PK\x06\x07":
            record = zf.read(record_at, record_at + _EOCD64.size)
            fields = _EOCD64.unpack(record)
            if fields[0] != b"PK\x06\x06":
                raise ZipFormatError("the zip64 end record is missing")
            disk, cd_disk, count, cd_size, cd_offset = (*fields[4:6], *fields[7:10])
    if disk != 0 or cd_disk != 0:
        raise ZipFormatError("multi-disk zips are not supported")
    if cd_size > MAX_CENTRAL_DIRECTORY or cd_offset + cd_size > zf.size:
        raise ZipFormatError("the zip's central directory is too large or out of bounds")
    return _members(zf.read(cd_offset, cd_offset + cd_size), count, cd_offset)


def read_member(zf: RemoteBytes, member: ZipMember, members: list[ZipMember], cap: int) -> bytes:
    """The inflated bytes of ``member``; refused beyond ``cap`` bytes (zip bomb)."""
    if member.size > cap or member.compressed_size > cap:
        raise ZipFormatError(f"{member.name} in the zip is larger than {cap} bytes")
    data = _inflate(member, _stored(zf, member, members, member.compressed_size), cap)
    if len(data) > cap:
        raise ZipFormatError(f"{member.name} in the zip inflates beyond {cap} bytes")
    if len(data) != member.size or zlib.crc32(data) != member.crc:
        raise ZipFormatError(f"{member.name} in the zip fails its size or CRC check")
    return data


def read_prefix(zf: RemoteBytes, member: ZipMember, members: list[ZipMember], limit: int) -> bytes:
    """At most the first ``limit`` inflated bytes of ``member`` (all of it, checked, when it is
    no larger): deflate stores ``limit`` bytes in little more than that, so no more is fetched."""
    if member.size <= limit and member.compressed_size <= limit:
        return read_member(zf, member, members, limit)
    wanted = min(member.compressed_size, limit + limit // 64 + 1024)
    return _inflate(member, _stored(zf, member, members, wanted), limit)[:limit]


def _stored(zf: RemoteBytes, member: ZipMember, members: list[ZipMember], length: int) -> bytes:
    """The first ``length`` bytes ``member`` holds in the zip (compressed), after its header."""
    if member.flags & 0x1:
        raise ZipFormatError(f"{member.name} in the zip is encrypted")
    # the member's bytes end where the next member (or the central directory) starts
    later = [m.header_offset for m in members if m.header_offset > member.header_offset]
    bound = min(later, default=zf.size)
    end = min(bound, member.header_offset + _LOCAL.size + 0x1FFFE + length)
    if end - member.header_offset < _LOCAL.size:
        raise ZipFormatError(f"{member.name} in the zip is truncated")
    chunk = zf.read(member.header_offset, end)
    sig, *_, name_len, extra_len = _LOCAL.unpack_from(chunk)
    start = _LOCAL.size + name_len + extra_len
    if sig != b"PK\x03\x04" or start + length > len(chunk):
        raise ZipFormatError(f"the local header of {member.name} in the zip is malformed")
    return chunk[start : start + length]


def _inflate(member: ZipMember, raw: bytes, cap: int) -> bytes:
    """``raw`` (all or the start of the member's stored bytes) inflated to at most ``cap`` + 1."""
    if member.method == 0:
        return raw
    if member.method != 8:
        raise ZipFormatError(f"{member.name} uses zip compression method {member.method}")
    inflater = zlib.decompressobj(-15)
    try:
        data = inflater.decompress(raw, cap + 1)
    except zlib.error:
        raise ZipFormatError(f"{member.name} in the zip does not inflate") from None
    return data


def _find_eocd(tail: bytes) -> int:
    pos = len(tail)
    while (pos := tail.rfind(b"PK\x05\x06", 0, pos)) >= 0:
        if len(tail) - pos >= _EOCD.size:
            comment_len = _EOCD.unpack_from(tail, pos)[-1]
            if pos + _EOCD.size + comment_len == len(tail):
                return pos
    raise ZipFormatError("the file is not a zip (no end of central directory)")


def _members(cd: bytes, count: int, cd_offset: int) -> list[ZipMember]:
    members: list[ZipMember] = []
    pos, end, header, unpack = 0, len(cd), _CENTRAL.size, _CENTRAL.unpack_from
    while pos < end:
        if end - pos < header:
            raise ZipFormatError("the zip's central directory is truncated")
        (sig, _, _, flags, method, _, _, crc, csize, size, name_len, extra_len, comment_len) = (
            fields := unpack(cd, pos)
        )[:13]
        if sig != b"PK\x01\x02":
            raise ZipFormatError("the zip's central directory is malformed")
        offset = fields[16]
        name_at = pos + header
        extra_at = name_at + name_len
        if extra_len:  # most members have none (the zip64 sizes live there)
            extra = cd[extra_at : extra_at + extra_len]
            size, csize, offset = _zip64_extra(extra, size, csize, offset)
        name = cd[name_at:extra_at].decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if offset >= cd_offset:
            raise ZipFormatError(f"{name} in the zip starts inside its central directory")
        members.append(ZipMember(name, method, flags, crc, csize, size, offset, fields[15] >> 16))
        pos = extra_at + extra_len + comment_len
    if pos != len(cd) or len(members) != count:
        raise ZipFormatError("the zip's central directory does not match its entry count")
    return members


def _zip64_extra(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            if pos + 4 + length > len(extra):
                raise ZipFormatError("a zip64 extra field is truncated")
            values = list(struct.unpack_from(f"<{length // 8}Q", extra, pos + 4))
            try:
                if size == 0xFFFFFFFF:
                    size = values.pop(0)
                if csize == 0xFFFFFFFF:
                    csize = values.pop(0)
                if offset == 0xFFFFFFFF:
                    offset = values.pop(0)
            except IndexError:
                raise ZipFormatError("a zip64 extra field is truncated") from None
            break
        pos += 4 + length
    return size, csize, offset
