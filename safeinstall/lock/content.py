"""The content digest: a lock's own resolved content, recorded in it so `lock --check` can tell a
lock safeinstall wrote from one edited since (by hand or by a bot).

It is computed from the parsed Lock, never from the text: what the file reads back as, so
safeinstall's own layout (comments, order, spacing) does not count, while a changed version,
marker, index, hash, file name or URL does. Each writer records the digest of what its own reader
gets back from the text it writes (requirements.txt keeps no URLs, pylock.toml does).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safeinstall.lock.model import Lock


def content_digest(lock: Lock) -> str:
    """``sha256:<hex>`` over the targets and, per package, name, version, marker, index and
    every file's sha256, name and URL (in a canonical order)."""
    digest = hashlib.sha256()

    def part(label: str, text: str | None) -> None:
        data = (text or "").encode()
        digest.update(label.encode() + len(data).to_bytes(8, "big") + data)

    for environment in sorted(lock.environments):
        part("environment", environment)
    part("requires-python", lock.requires_python)
    for pkg in sorted(lock.packages, key=lambda p: (p.name, p.version, p.marker or "")):
        part("package", pkg.name)
        part("version", str(pkg.version))
        part("marker", pkg.marker)
        part("index", pkg.index_url)
        for file in sorted(pkg.files, key=lambda f: (f.sha256, f.filename, f.url)):
            part("sha256", file.sha256)
            part("filename", file.filename)
            part("url", file.url)
    return "sha256:" + digest.hexdigest()
