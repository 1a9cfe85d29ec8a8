"""Small in-memory wheels and sdists for metadata tests (real zip and tar.gz bytes)."""

from __future__ import annotations

import hashlib
import io
import struct
import tarfile
import zipfile
from collections.abc import Sequence
from typing import Literal

from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.index.distfile import DistFile

BASE = "https://files.example.org/d"


def metadata_text(name: str = "demo", version: str = "1.0", *extra: str, mv: str = "2.1") -> bytes:
    lines = [f"Metadata-Version: {mv}", f"Name: {name}", f"Version: {version}", *extra]
    return ("\n".join(lines) + "\n\nLong description.\n").encode()


def wheel_bytes(
    metadata: bytes | None = None,
    *,
    dist_info: str = "demo-1.0.dist-info",
    before: Sequence[tuple[str, bytes]] = (),
    after: Sequence[tuple[str, bytes]] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """``before`` members, then METADATA, then ``after`` members and the WHEEL/RECORD files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in before:
            zf.writestr(name, data)
        zf.writestr(f"{dist_info}/METADATA", metadata if metadata is not None else metadata_text())
        for name, data in after:
            zf.writestr(name, data)
        zf.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        zf.writestr(f"{dist_info}/RECORD", "")
    return buf.getvalue()


def sdist_bytes(pkg_info: bytes, *, top: str = "demo-1.0", kind: str = "tar.gz") -> bytes:
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(f"{top}/setup.py", "raise SystemExit\n")
            zf.writestr(f"{top}/PKG-INFO", pkg_info)
        return buf.getvalue()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (
            (f"{top}/setup.py", b"raise SystemExit\n"),
            (f"{top}/PKG-INFO", pkg_info),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def dist(
    body: bytes,
    filename: str = "demo-1.0-py3-none-any.whl",
    *,
    kind: Literal["wheel", "sdist"] = "wheel",
    sha256: str | None = "",
    metadata_hashes: dict[str, str] | None = None,
) -> DistFile:
    name, version = filename.split("-")[:2]
    digest = hashlib.sha256(body).hexdigest() if sha256 == "" else sha256
    return DistFile(
        project=canonicalize_name(name),
        version=Version(version.removesuffix(".tar.gz").removesuffix(".zip")),
        filename=filename,
        url=f"{BASE}/{filename}",
        index="test",
        kind=kind,
        hashes={"sha256": digest} if digest else {},
        metadata_hashes=metadata_hashes,
    )


def to_zip64(data: bytes) -> bytes:
    """Rewrite a zip's end records in zip64 form (a zip64 end record, locator, 0xFFFF... fields)."""
    eocd = data.rfind(b"PK\x05\x06")
    _, _, _, _, count, cd_size, cd_offset, _ = struct.unpack_from("<4sHHHHIIH", data, eocd)
    body = data[:eocd]
    record_at = len(body)
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, record_at, 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body + record + locator + end
