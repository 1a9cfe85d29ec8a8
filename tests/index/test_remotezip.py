"""Zip structures read piecemeal: malformed and hostile archives fail with a clear error."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable

import pytest

from safeinstall.index.remotezip import (
    Listing,
    RemoteBytes,
    ZipFormatError,
    central_directory,
    read_member,
    read_prefix,
)


def archive(data: bytes = b"hello", method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr("a.txt", data)
    return buf.getvalue()


def held(body: bytes) -> RemoteBytes:
    zf = RemoteBytes(len(body))
    zf.add(0, body)
    return zf


def test_reads_only_missing_bytes_before_a_held_span() -> None:
    body = bytes(range(256)) * 4
    asked: list[tuple[int, int]] = []

    def fetch(a: int, b: int) -> bytes:
        asked.append((a, b))
        return body[a:b]

    zf = RemoteBytes(len(body), fetch)
    zf.add(1000, body[1000:])
    assert zf.read(1010, 1020) == body[1010:1020]
    assert zf.read(900, 1024) == body[900:1024]
    assert zf.read(950, 1000) == body[950:1000]
    assert asked == [(900, 1000)]
    with pytest.raises(ZipFormatError, match="outside"):
        zf.read(1000, 2000)


def test_round_trip_and_member_fields() -> None:
    zf = held(archive(b"x" * 1000, zipfile.ZIP_DEFLATED))
    (member,) = central_directory(zf)
    assert (member.name, member.size, member.method) == ("a.txt", 1000, 8)
    assert read_member(zf, member, [member], 1000) == b"x" * 1000
    with pytest.raises(ZipFormatError, match="larger than"):
        read_member(zf, member, [member], 999)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-22], "not a zip"),
        (lambda b: b"", "not a zip"),
        (lambda b: b.replace(b"PK\x01\x02", b"PK\x09\x09"), "malformed"),
        (lambda b: b.replace(b"hello", b"jello"), "CRC"),
        (lambda b: b.replace(b"PK\x03\x04", b"PK\x00\x00"), "local header"),
    ],
)
def test_malformed_archives(damage: Callable[[bytes], bytes], message: str) -> None:
    zf = held(damage(archive()))

    def read_first() -> bytes:
        members = central_directory(zf)
        return read_member(zf, members[0], members, 1000)

    with pytest.raises(ZipFormatError, match=message):
        read_first()


def test_encrypted_and_unknown_methods_are_refused() -> None:
    body = bytearray(archive())
    cd = body.rfind(b"PK\x01\x02")
    flagged = bytearray(body)
    flagged[cd + 8] |= 1
    zf = held(bytes(flagged))
    members = central_directory(zf)
    with pytest.raises(ZipFormatError, match="encrypted"):
        read_member(zf, members[0], members, 1000)
    body[cd + 10] = 12  # bzip2
    zf = held(bytes(body))
    members = central_directory(zf)
    with pytest.raises(ZipFormatError, match="method 12"):
        read_member(zf, members[0], members, 1000)


def test_truncated_file_without_a_fetcher() -> None:
    body = archive()
    zf = RemoteBytes(len(body))
    zf.add(len(body) - 10, body[-10:])
    with pytest.raises(ZipFormatError, match="truncated"):
        central_directory(zf)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_prefix_of_a_large_member_fetches_little_more_than_it(method: int) -> None:
    data = random.Random(0).randbytes(2 * 1024 * 1024)  # incompressible
    body = archive(data, method)
    asked: list[int] = []

    def fetch(a: int, b: int) -> bytes:
        asked.append(b - a)
        return body[a:b]

    zf = RemoteBytes(len(body), fetch)
    (member,) = central_directory(held(body))
    assert read_prefix(zf, member, [member], 4096) == data[:4096]
    assert sum(asked) < len(body) // 8  # the slack a local header may need, not 2 MiB
    assert read_prefix(held(body), member, [member], len(data)) == data  # whole: CRC checked


def test_a_listing_keeps_what_was_read_through_it() -> None:
    zf = held(archive(b"x" * 1000, zipfile.ZIP_DEFLATED))
    listing = Listing(central_directory(zf), zf)
    (member,) = listing.members
    assert listing.read(member, 10) == b"x" * 10
    again = Listing.from_json(listing.to_json(), RemoteBytes)  # no bytes
    assert (again.members, again.changed) == (listing.members, False)
    assert again.read(member, 5) == b"x" * 5  # from what was kept
    with pytest.raises(ZipFormatError, match="truncated"):
        again.read(member, 20)  # more than was kept: the zip is asked
    shapes: tuple[str, ...] = (
        '["a", "b"]',
        '["a", 0, 0, 0, 0, "1", 0, 0]',
        '["a", 0, 0, 0, 0, 1.5, 0, 0]',
    )
    shapes += ('["a", 0, 0, 0, 0, true, 0, 0]', "[7, 0, 0, 0, 0, 1, 0, 0]", "[null, 0, 0, 0]")
    entries = [f'{{"size": 1, "members": [{shape}], "kept": []}}'.encode() for shape in shapes]
    for bad in (b"", b"[]", *entries):
        with pytest.raises(ValueError, match="not a listing"):
            Listing.from_json(bad, RemoteBytes)


def _with_extra(extra: bytes, data: bytes = b"hello") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("a.txt")
        info.extra = extra
        zf.writestr(info, data)
    return buf.getvalue()


def _as_zip64_size(body: bytes) -> bytes:
    """The central entry's size moved into its (first) extra field, retagged zip64."""
    out = bytearray(body)
    cd = out.rfind(b"PK\x01\x02")
    out[cd + 24 : cd + 28] = b"\xff\xff\xff\xff"
    out[cd + 46 + len("a.txt") : cd + 46 + len("a.txt") + 2] = b"\x01\x00"
    return bytes(out)


def test_a_zip64_size_is_read_from_the_extra_field() -> None:
    body = _as_zip64_size(_with_extra(b"\xfe\xca\x08\x00" + (5).to_bytes(8, "little")))
    zf = held(body)
    (member,) = central_directory(zf)
    assert member.size == 5
    assert read_member(zf, member, [member], 100) == b"hello"


def test_a_truncated_zip64_extra_field_is_a_format_error() -> None:
    extra = b"\xfe\xca\x08\x00" + (5).to_bytes(8, "little")
    body = bytearray(_as_zip64_size(_with_extra(extra)))
    cd = body.rfind(b"PK\x01\x02")
    body[cd + 46 + 5 + 2 : cd + 46 + 5 + 4] = b"\x10\x00"  # says 16 bytes, holds 8
    with pytest.raises(ZipFormatError, match="zip64 extra field is truncated"):
        central_directory(held(bytes(body)))


def test_the_member_list_agrees_with_zipfile() -> None:
    """Names, sizes, offsets, flags, modes and extra fields as the standard library reads them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.comment = b"a comment"
        names = ["a.txt", "dir/", "ünï/cödé.py", "./x.pth", "a//b", "C:x", "a\\b"]
        for i, name in enumerate(names):
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED
            info.external_attr = (0o120777 if i == 3 else 0o100644) << 16
            info.extra = b"\xfe\xca\x02\x00ab" if i % 3 == 0 else b""
            info.comment = b"c" * i
            zf.writestr(info, name.encode() * i)
    body = buf.getvalue()
    members = central_directory(held(body))
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        expected = [
            (
                *(i.filename, i.compress_type, i.flag_bits, i.CRC, i.compress_size, i.file_size),
                *(i.header_offset, i.external_attr >> 16),
            )
            for i in zf.infolist()
        ]
    assert [tuple(m) for m in members] == expected
