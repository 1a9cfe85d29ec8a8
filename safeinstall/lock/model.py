"""The lock: what was resolved, with every usable file's hash; ``requirements.txt`` in and out.

``pylock.py`` holds the PEP 751 format. Writers are deterministic: packages sorted by name and
version, files by name, hashes by value, so the same inputs give byte-identical output. A lock
is replaced through ``update_file``: under an advisory lock, the new bytes are produced in
memory, and the old file is replaced atomically only if it did not change meanwhile.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall.errors import InputError, IntegrityError, Location
from safeinstall.files.atomic import advisory_lock, replace_file
from safeinstall.resolve.resolver import Resolution
from safeinstall.targets import Target

DIGEST_PREFIX = "# safeinstall-digest: "
LICENSE_PREFIX = "# license: "
VIA_PREFIX = "# via "
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class LockedFile:
    """One artifact. A requirements.txt lock only knows ``sha256``; pylock.toml knows it all."""

    sha256: str
    filename: str = ""
    url: str = ""  # never with credentials
    size: int | None = None
    upload_time: datetime | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True, slots=True)
class LockedPackage:
    name: NormalizedName
    version: Version
    files: tuple[LockedFile, ...]
    marker: str | None = None
    index_name: str | None = None
    index_url: str | None = None
    dependencies: tuple[str, ...] = ()
    via: tuple[str, ...] = ()
    yanked: str | None = None  # the policy's reason for allowing a yanked version
    license: str | None = None  # SPDX expression recorded at lock time; None: unknown

    @property
    def hashes(self) -> tuple[str, ...]:
        return tuple(sorted({f.sha256 for f in self.files}))


@dataclass(frozen=True, slots=True)
class Lock:
    packages: tuple[LockedPackage, ...]
    digest: str  # input_digest() of what the lock was made from
    environments: tuple[str, ...] = ()  # marker expressions of the targets it was made for
    requires_python: str | None = None


def strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def input_digest(
    inputs: Iterable[bytes | str],
    policy_source: bytes | None,
    targets: Sequence[Target],
    tool_version: str,
) -> str:
    """``sha256:<hex>`` over everything the lock depends on except the index's contents."""
    digest = hashlib.sha256()

    def part(label: bytes, data: bytes) -> None:
        digest.update(label + len(data).to_bytes(8, "big") + data)

    part(b"tool", tool_version.encode())
    for item in inputs:
        part(b"input", item.encode() if isinstance(item, str) else item)
    part(b"policy", policy_source if policy_source is not None else b"<default>")
    for target in targets:
        part(b"target", f"{target.name}|{target.python_version}|{target.marker}".encode())
    return "sha256:" + digest.hexdigest()


def from_resolution(
    resolution: Resolution,
    digest: str,
    index_urls: Mapping[str, str],
    environments: Sequence[str] | None = None,
) -> Lock:
    """The lock for ``resolution``; ``index_urls`` maps policy index names to their URLs."""
    packages = []
    for pkg in resolution.packages:
        files = []
        for f in pkg.files:
            if f.sha256 is None or not _SHA256.fullmatch(f.sha256):
                raise IntegrityError(
                    f"index {f.index!r} lists {f.filename} without a valid sha256 hash",
                    hint="use an index that serves sha256 hashes for its files",
                )
            url = strip_credentials(f.url)
            files.append(LockedFile(f.sha256, f.filename, url, f.size, f.upload_time))
        index = pkg.files[0].index
        packages.append(
            LockedPackage(
                name=pkg.name,
                version=pkg.version,
                files=tuple(sorted(files, key=lambda x: x.filename)),
                marker=pkg.marker,
                index_name=index,
                index_url=strip_credentials(index_urls[index]) if index in index_urls else None,
                dependencies=pkg.dependencies,
                via=pkg.via,
                yanked=pkg.yanked,
                license=pkg.license,
            )
        )
    lowest = min((t.python_version for t in resolution.targets), default=None)
    return Lock(
        packages=tuple(sorted(packages, key=lambda p: (p.name, p.version))),
        digest=digest,
        environments=tuple(environments or (t.marker for t in resolution.targets)),
        requires_python=f">={lowest.major}.{lowest.minor}" if lowest else None,
    )


def to_requirements_txt(lock: Lock, command: str, tool_version: str) -> str:
    """pip's requirement-file format with ``--hash`` lines: ``pip install --require-hashes -r``."""
    lines = [
        f"# This file was generated by safeinstall {tool_version}; do not edit it by hand.",
        "# To update it, run:",
        f"#    {command}",
        f"{DIGEST_PREFIX}{lock.digest}",
    ]
    lines += [f"# environment: {env}" for env in lock.environments]
    for pkg in sorted(lock.packages, key=lambda p: (p.name, p.version)):
        marker = f" ; {pkg.marker}" if pkg.marker else ""
        lines.append(f"{pkg.name}=={pkg.version}{marker} \\")
        hashes = [f"    --hash=sha256:{h}" for h in pkg.hashes]
        lines += [h + " \\" for h in hashes[:-1]] + hashes[-1:]
        if pkg.via:
            lines.append(f"    {VIA_PREFIX}{', '.join(pkg.via)}")
        if pkg.yanked:
            lines.append(f"    # yanked, allowed by the policy: {pkg.yanked}")
        if pkg.license:
            lines.append(f"    {LICENSE_PREFIX}{pkg.license}")
    return "\n".join(lines) + "\n"


def read_requirements_txt(text: str, path: str) -> Lock:
    """Read a requirements.txt lock written by ``to_requirements_txt``: pins, markers, hashes,
    and the ``# via`` and ``# license:`` comments under a package."""
    digest = ""
    environments: list[str] = []
    packages: list[LockedPackage] = []
    for lineno, line in _logical_lines(text):
        if line.startswith(DIGEST_PREFIX):
            digest = line[len(DIGEST_PREFIX) :].strip()
        elif line.startswith("# environment: "):
            environments.append(line.removeprefix("# environment: ").strip())
        elif packages and line.startswith(LICENSE_PREFIX):
            packages[-1] = replace(packages[-1], license=line[len(LICENSE_PREFIX) :].strip())
        elif packages and line.startswith(VIA_PREFIX):
            via = tuple(v.strip() for v in line[len(VIA_PREFIX) :].split(","))
            packages[-1] = replace(packages[-1], via=via)
        if not line or line.startswith("#"):
            continue
        packages.append(_package_line(line, Location(path, lineno)))
    return Lock(tuple(packages), digest, tuple(environments))


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, text) with ``\\`` continuations joined and trailing comments dropped."""
    start, buffer = 0, ""
    for number, raw in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        stripped = raw.strip()
        if buffer and stripped.startswith("#"):
            continue  # a comment inside a continued requirement
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        yield start, (buffer + stripped).strip()
        buffer = ""
    if buffer:
        yield start, buffer.strip()


def _package_line(line: str, where: Location) -> LockedPackage:
    req_text, *hash_texts = re.split(r"\s+--hash[= ]", line)
    try:
        req = Requirement(req_text)
    except InvalidRequirement as exc:
        raise InputError(
            f"not a requirement: {exc}", location=where, hint="regenerate the lock"
        ) from exc
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        raise InputError(
            f"{req.name} is not pinned with ==", location=where, hint="regenerate the lock"
        )
    files = []
    for text in hash_texts:
        algorithm, _, value = text.strip().partition(":")
        if algorithm != "sha256" or not _SHA256.fullmatch(value):
            raise InputError(
                f"{req.name} has an invalid hash {text.strip()!r}",
                location=where,
                hint="regenerate the lock",
            )
        files.append(LockedFile(value))
    if not files:
        raise InputError(f"{req.name} has no hash", location=where, hint="regenerate the lock")
    return LockedPackage(
        canonicalize_name(req.name),
        Version(specs[0].version),
        tuple(files),
        marker=str(req.marker) if req.marker else None,
    )


def update_file(path: Path, produce: Callable[[bytes | None], bytes]) -> bool:
    """Replace ``path`` with ``produce(old bytes or None)``; False when nothing changed.

    ``produce`` runs (resolves) under the advisory lock before anything is written; if it raises,
    the file is left byte-identical. A symlinked path is refused before any work is done.
    """
    path = Path(path)
    if path.is_symlink():
        raise InputError(
            "refusing to write a lock through a symbolic link",
            location=Location(str(path)),
            hint="write to the real file instead, or remove the link",
        )
    with advisory_lock(path.parent if str(path.parent) else Path(".")):
        try:
            old: bytes | None = path.read_bytes()
        except FileNotFoundError:
            old = None
        new = produce(old)
        if new == old:
            return False
        expected = None if old is None else hashlib.sha256(old).hexdigest()
        replace_file(path, new, expected_digest=expected)
        return True
