"""`check` for PEP 751 ``pylock*.toml`` files, read and validated through ``packaging.pylock``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.pylock import (
    Package,
    Pylock,
    PylockValidationError,
)

from safeinstall import urls
from safeinstall.errors import InputError, Location
from safeinstall.guard.findings import Finding
from safeinstall.requirements.pyproject import read_toml

if TYPE_CHECKING:
    from safeinstall.guard.rules import Rules

_PACKAGE_HEADER = re.compile(r"^\s*\[\[\s*packages\s*\]\]\s*(#.*)?$")
_CONTEXT_INDEX = re.compile(r"^packages\[(\d+)\]")


def package_lines(text: str) -> list[int]:
    """1-based line of each ``[[packages]]`` header, in order."""
    return [i + 1 for i, line in enumerate(text.splitlines()) if _PACKAGE_HEADER.match(line)]


def package_location(path: str, lines: list[int], number: int) -> Location:
    """Where package ``number`` (0-based) of a pylock.toml is written."""
    return Location(path, lines[number] if number < len(lines) else None)


def check_urls(package: Package, where: Location) -> None:
    """InputError unless every URL ``package`` names splits (``urls.check``): its index, its
    wheels, its sdist, its archive and its VCS repository."""
    named: list[tuple[str, str | None]] = [("index", package.index)]
    named += [(f"file {w.name or ''}", w.url) for w in package.wheels or ()]
    named += [(f"file {package.sdist.name or ''}", package.sdist.url)] if package.sdist else []
    named += [("archive", package.archive.url)] if package.archive else []
    named += [("repository", package.vcs.url)] if package.vcs else []
    for what, url in named:
        if url is not None:
            urls.check(url, what=f"the URL of {package.name} {what}".rstrip(), location=where)


def read_pylock(path: Path) -> tuple[Pylock, list[int]]:
    text, data = read_toml(path)
    lines = package_lines(text)
    try:
        lock = Pylock.from_dict(data)
    except PylockValidationError as exc:
        line = None
        match = _CONTEXT_INDEX.match(exc.context or "")
        if match and int(match.group(1)) < len(lines):
            line = lines[int(match.group(1))]
        raise InputError(
            f"not a valid PEP 751 lock: {exc}",
            location=Location(str(path), line),
            hint="regenerate it with `safeinstall lock -o pylock.toml`",
        ) from None
    for number, package in enumerate(lock.packages):
        check_urls(package, package_location(str(path), lines, number))
    return lock, lines


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
