"""`check` for PEP 751 ``pylock*.toml`` files, read and validated through ``packaging.pylock``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.pylock import Package, Pylock

from safeinstall import urls
from safeinstall.errors import Location
from safeinstall.guard.findings import Finding
from safeinstall.lock.pylock import package_location, parse_pylock
from safeinstall.requirements.pyproject import read_toml

if TYPE_CHECKING:
    from safeinstall.guard.rules import Rules


def read_pylock(path: Path) -> tuple[Pylock, list[int]]:
    """The pylock.toml at ``path`` (capped), read the one way locks are (``lock.pylock``)."""
    text, data = read_toml(path)
    return parse_pylock(text, data, str(path))


def check_pylock(path: Path, checker: Rules) -> list[Finding]:
    lock, lines = read_pylock(path)
    out: list[Finding] = []
    seen: dict[tuple[str, str], Location] = {}
    for number, package in enumerate(lock.packages):
        where = package_location(str(path), lines, number)
        out += _package_findings(package, where, checker)
        key = (package.name, str(package.marker or ""))
        if key in seen:
            out.append(
                Finding(
                    "hash-conflict",
                    f"{package.name} is listed again for the same environments as {seen[key]}",
                    where,
                    "keep one entry per package and environment (regenerate the lock)",
                )
            )
        seen.setdefault(key, where)
    return out


def _package_findings(package: Package, where: Location, checker: Rules) -> list[Finding]:
    name = package.name
    out: list[Finding] = []
    # the requirements.txt rules for what is not a release from an index (Rules.direct_findings)
    if package.vcs is not None:
        out += checker.direct_reference_findings(
            name, name, "a VCS", where, hashable=False, locked=True
        )
    if package.directory is not None:
        out += checker.direct_reference_findings(
            name, name, "a local path", where, hashable=False, locked=True
        )
    if package.archive is not None:
        remote = bool(package.archive.url)
        what = "a URL" if remote else "a local path"
        out += checker.direct_reference_findings(
            name, name, what, where, hashable=remote, locked=True
        )
    index_trusted = True
    if package.index is not None:
        out += checker.url_findings(package.index, where, what="index")
        if urls.normalize(package.index) not in checker.trusted_indexes():
            index_trusted = False  # its files are refused with it: one finding
            out.append(
                Finding(
                    "untrusted-index",
                    f"{name} comes from {urls.redact(package.index)}, which is not a trusted index",
                    where,
                    "relock from a trusted index, or add it to the policy's `indexes`",
                )
            )
    for file in (*(package.wheels or ()), *((package.sdist,) if package.sdist else ())):
        label = f"{name} file {file.name or file.url or file.path}"
        if file.url and index_trusted:
            out += checker.file_url_findings(file.url, label, where, index=package.index)
        elif not file.url:
            out += checker.direct_reference_findings(
                name, label, "a local path", where, hashable=False, locked=True
            )
        out += checker.hash_findings(dict(file.hashes).items(), label, where, locked=True)
    if package.archive is not None:
        archive = package.archive
        label = f"{name} archive {archive.url or archive.path}"
        if archive.url:
            out += checker.url_findings(archive.url, where, what="URL")
        out += checker.hash_findings(dict(archive.hashes).items(), label, where, locked=True)
    if package.sdist is not None and not checker.policy.allows_sdist(name):
        out.append(
            Finding(
                "sdist",
                f"{name} is locked with an sdist; building it runs its code",
                where,
                "relock with wheels only, or allow sdists for it in the policy",
            )
        )
    out += checker.name_findings(name, package.version, where)
    if checker.policy.licenses is not None:
        from safeinstall.guard.licenses import license_findings

        tool = package.tool.get("safeinstall") if package.tool else None
        recorded = tool.get("license") if isinstance(tool, Mapping) else None
        license = recorded if isinstance(recorded, str) else None
        out += license_findings(name, license, where, checker.policy.licenses)
    return out
