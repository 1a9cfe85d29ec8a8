"""Data files derived from a source and shipped with the package (the popular names' look-alike
index and sorted list, the SPDX license ids): a header, a stamp line, the body.

The stamp holds the CRC-32 of the source the file was made from and of the body below it, so a
copy made from another source, or edited by hand, is recognised and never used: its reader
falls back to the source itself. (A CRC tells stale from current; the files ship inside the
package, so it guards against mistakes, not attackers.)
"""

from __future__ import annotations

import zlib

STAMP = "# stamp: "


def stamped(header: str, source: bytes, body: str) -> str:
    """The file's text: ``header`` (comment lines), the stamp for ``source`` and ``body``."""
    return f"{header}{STAMP}{zlib.crc32(source):08x} {zlib.crc32(body.encode()):08x}\n{body}"


def stamped_body(data: bytes, source: bytes) -> bytes | None:
    """The body of the file whose bytes are ``data``, or None unless its stamp says it was made
    from ``source`` and is unedited."""
    at = data.find(STAMP.encode())
    end = data.find(b"\n", at)
    if at < 0 or end < 0:
        return None
    body = data[end + 1 :]
    stamp = f"{STAMP}{zlib.crc32(source):08x} {zlib.crc32(body):08x}".encode()
    return body if data[at:end] == stamp else None
