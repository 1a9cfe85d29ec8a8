"""The content digest: a lock's own resolved content, recorded in it so `lock --check` can tell a
lock safeinstall wrote from one edited since (by hand or by a bot).

It is computed from the parsed Lock, never from the text: what the file reads back as, so
safeinstall's own layout (comments, order, spacing) does not count, while a changed version,
marker, index, hash, file name or URL does. Each writer records the digest of what its own reader
gets back from the text it writes (requirements.txt keeps no URLs, pylock.toml does).

Installing holds a lock to it too (``refuse_edited``): a hash edited by hand to match what a
hostile index now serves must not install. A lock that records none (pip-compile's, one written
by hand) is not held to one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from safeinstall.digests import sha256
from safeinstall.errors import IntegrityError, Location

if TYPE_CHECKING:
    from safeinstall.lock.model import BuildSet, Lock, LockedPackage


def content_digest(lock: Lock) -> str:
    """``sha256:<hex>`` over the targets and, per package, name, version, marker, index, its
    ``--allow-fresh`` record and every file's sha256, name and URL (in a canonical order); then
    each sdist's build environment: the sdist's pin and hash, and its build pins likewise."""
    parts = [("environment", e) for e in sorted(lock.environments)]
    parts.append(("requires-python", lock.requires_python or ""))
    for pkg in sorted(lock.packages, key=lambda p: (p.name, p.version, p.marker or "")):
        parts += _entry(pkg)
    for build in sorted(lock.builds, key=lambda b: (b.name, b.version, b.sdist)):
        parts += _build_entry(build)
    chunks: list[bytes] = []  # hashed at once: the same bytes as one update per part
    for label, text in parts:
        data = text.encode()
        chunks += (label.encode(), len(data).to_bytes(8, "big"), data)
    return "sha256:" + sha256(b"".join(chunks)).hexdigest()


def refuse_edited(lock: Lock, path: Path) -> Lock:
    """``lock`` (read from ``path``); IntegrityError when it records a content digest that its
    entries no longer match. A lock that records none is returned as it is."""
    if lock.recorded_content and lock.recorded_content != content_digest(lock):
        raise IntegrityError(
            f"{path.name} was edited by hand after it was made: its packages, versions, markers, "
            "hashes or URLs are not what safeinstall recorded",
            location=Location(str(path)),
            hint="relock with the `safeinstall lock` command in its header, or review the edit "
            f"with `safeinstall diff HEAD:{path} {path}` (or `git diff {path}`)",
        )
    return lock


def changed_names(old: Lock, new: Lock) -> list[str]:
    """The packages whose entries (as the content digest sees them) differ between two locks:
    what an edit touched, when ``old`` is the lock as safeinstall wrote it."""

    def entries(lock: Lock) -> dict[str, list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = {}
        for pkg in sorted(lock.packages, key=lambda p: (p.version, p.marker or "")):
            out.setdefault(pkg.name, []).extend(_entry(pkg))
        for build in sorted(lock.builds, key=lambda b: (b.version, b.sdist)):
            out.setdefault(f"{build.name} (its build environment)", []).extend(_build_entry(build))
        return out

    before, after = entries(old), entries(new)
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))


def _entry(pkg: LockedPackage) -> list[tuple[str, str]]:
    parts = [("package", str(pkg.name)), ("version", str(pkg.version))]
    parts += [("marker", pkg.marker or ""), ("index", pkg.index_url or "")]
    parts += [("allow-fresh", pkg.allow_fresh)] if pkg.allow_fresh else []  # a lifted cooldown
    for file in sorted(pkg.files, key=lambda f: (f.sha256, f.filename, f.url)):
        parts += [("sha256", file.sha256), ("filename", file.filename), ("url", file.url)]
    return parts


def _build_entry(build: BuildSet) -> list[tuple[str, str]]:
    parts = [("build", str(build.name)), ("build-version", str(build.version))]
    parts.append(("build-sdist", build.sdist))
    for pkg in sorted(build.packages, key=lambda p: (p.name, p.version)):
        parts += [("build-requires", ""), *_entry(pkg)]
    return parts
