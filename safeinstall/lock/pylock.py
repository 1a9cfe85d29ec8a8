"""PEP 751 ``pylock.toml``: written with tomlkit, read back through ``packaging.pylock``; the one
reading of the format (``parse_pylock``), for `check` and for every command that reads a lock."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.pylock import Package, PackageSdist, PackageWheel, Pylock, PylockValidationError
from packaging.utils import NormalizedName

from safeinstall import urls
from safeinstall.digests import is_sha256
from safeinstall.errors import InputError, Location
from safeinstall.lock.model import BuildSet, Lock, LockedFile, LockedPackage

if TYPE_CHECKING:
    import tomlkit

CREATED_BY = "safeinstall"


def _file_table(file: LockedFile) -> tomlkit.items.Table:
    import tomlkit  # writing only: the hook path reads pylock.toml and loads no tomlkit

    table = tomlkit.table()
    table["name"] = file.filename
    table["url"] = file.url
    if file.upload_time is not None:
        table["upload-time"] = file.upload_time
    if file.size is not None:
        table["size"] = file.size
    hashes = tomlkit.inline_table()
    hashes["sha256"] = file.sha256
    table["hashes"] = hashes
    return table


def to_pylock_toml(lock: Lock) -> str:
    import tomlkit

    doc = tomlkit.document()
    doc["lock-version"] = "1.0"
    if lock.environments:
        doc["environments"] = list(lock.environments)
    if lock.requires_python:
        doc["requires-python"] = lock.requires_python
    doc["created-by"] = CREATED_BY
    packages = tomlkit.aot()
    for pkg in sorted(lock.packages, key=lambda p: (p.name, p.version)):
        table = tomlkit.table()
        table["name"] = pkg.name
        table["version"] = str(pkg.version)
        if pkg.marker:
            table["marker"] = pkg.marker
        if pkg.index_url:
            table["index"] = pkg.index_url
        deps = tomlkit.array()
        for dep in pkg.dependencies:
            ref = tomlkit.inline_table()
            ref["name"] = dep
            deps.append(ref)
        table["dependencies"] = deps
        sdists = [f for f in pkg.files if not f.is_wheel]
        wheels = sorted((f for f in pkg.files if f.is_wheel), key=lambda f: f.filename)
        if sdists:
            table["sdist"] = _file_table(sdists[0])
        if wheels:
            aot = tomlkit.aot()
            for wheel in wheels:
                aot.append(_file_table(wheel))
            table["wheels"] = aot
        tool: dict[str, Any] = {"index-name": pkg.index_name} if pkg.index_name else {}
        if pkg.via:
            tool["via"] = list(pkg.via)
        if pkg.yanked:
            tool["yanked-reason"] = pkg.yanked
        if pkg.license:
            tool["license"] = pkg.license
        if pkg.allow_fresh:
            tool["allow-fresh"] = pkg.allow_fresh
        if tool:
            table["tool"] = {"safeinstall": tool}
        packages.append(table)
    doc["packages"] = packages
    top: dict[str, Any] = {"digest": lock.digest}
    if lock.notes:
        top["notes"] = list(lock.notes)
    if lock.builds:
        top["builds"] = _build_tables(lock.builds)
    doc["tool"] = {"safeinstall": top}
    from safeinstall.lock.content import content_digest  # of what the text reads back as

    top["content-digest"] = content_digest(read_pylock_toml(tomlkit.dumps(doc), "pylock.toml"))
    doc["tool"] = {"safeinstall": top}
    return tomlkit.dumps(doc)


def _build_tables(builds: tuple[BuildSet, ...]) -> tomlkit.items.AoT:
    """``[[tool.safeinstall.builds]]``: per sdist (its pin and sha256), the build requirements
    pinned as ``[[packages]]`` are, with their wheels (PEP 751 has no place for them)."""
    import tomlkit

    out = tomlkit.aot()
    for build in sorted(builds, key=lambda b: (b.name, b.version, b.sdist)):
        table = tomlkit.table()
        table["name"] = build.name
        table["version"] = str(build.version)
        table["sdist-sha256"] = build.sdist
        pins = tomlkit.aot()
        for pkg in sorted(build.packages, key=lambda p: (p.name, p.version)):
            pin = tomlkit.table()
            pin["name"] = pkg.name
            pin["version"] = str(pkg.version)
            if pkg.index_url:
                pin["index"] = pkg.index_url
            wheels = tomlkit.aot()
            for file in sorted(pkg.files, key=lambda f: f.filename):
                wheels.append(_file_table(file))
            pin["wheels"] = wheels
            pins.append(pin)
        table["packages"] = pins
        out.append(table)
    return out


def _read_builds(value: object, where: Location) -> tuple[BuildSet, ...]:
    """What ``_build_tables`` wrote; anything else is an InputError naming the key."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    def wrong(context: str, kind: str) -> InputError:
        return InputError(
            f"tool.safeinstall.builds{context} must be {kind}",
            location=where,
            hint="regenerate the lock (safeinstall writes this table)",
        )

    def version(table: Mapping[str, Any], context: str) -> Version:
        try:
            return Version(str(table.get("version")))
        except InvalidVersion:
            raise wrong(f"{context}.version", "a version") from None

    def sha256(text: object, context: str) -> str:
        if not isinstance(text, str) or not is_sha256(text):
            raise wrong(context, "a sha256 digest in hex")
        return text

    def name(table: Mapping[str, Any], context: str) -> NormalizedName:
        if not isinstance(table.get("name"), str) or not table["name"]:
            raise wrong(f"{context}.name", "a string")
        return canonicalize_name(table["name"])

    def tables(value: object, context: str) -> list[Mapping[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise wrong(context, "an array of tables")
        return value

    builds = []
    for i, build in enumerate(tables(value, "")):
        packages = []
        for j, pin in enumerate(tables(build.get("packages", []), f"[{i}].packages")):
            at = f"[{i}].packages[{j}]"
            files = []
            for k, wheel in enumerate(tables(pin.get("wheels"), f"{at}.wheels")):
                hashes = _table(wheel.get("hashes"))
                url, filename = wheel.get("url", ""), wheel.get("name", "")
                size, uploaded = wheel.get("size"), wheel.get("upload-time")
                if not isinstance(url, str) or not isinstance(filename, str):
                    raise wrong(f"{at}.wheels[{k}]", "a table with a name and a url")
                if url:
                    urls.check(url, what=f"the URL of build requirement {filename}", location=where)
                files.append(
                    LockedFile(
                        sha256(hashes.get("sha256"), f"{at}.wheels[{k}].hashes.sha256"),
                        filename,
                        url,
                        size if isinstance(size, int) else None,
                        uploaded if isinstance(uploaded, datetime) else None,
                    )
                )
            if not files:
                raise wrong(f"{at}.wheels", "an array of at least one table")
            index = pin.get("index")
            packages.append(
                LockedPackage(
                    name(pin, at),
                    version(pin, at),
                    tuple(files),
                    index_url=index if isinstance(index, str) else None,
                )
            )
        builds.append(
            BuildSet(
                name(build, f"[{i}]"),
                version(build, f"[{i}]"),
                sha256(build.get("sdist-sha256"), f"[{i}].sdist-sha256"),
                tuple(packages),
            )
        )
    return tuple(builds)


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


def parse_pylock(text: str, data: Mapping[str, Any], path: str) -> tuple[Pylock, list[int]]:
    """The one reading of a pylock.toml (``text``, parsed as ``data``), for `check` and for
    every command that reads a lock: packaging.pylock's validation, its errors at the line of
    the package they name, and every URL split (``check_urls``). Also returns the line of each
    ``[[packages]]`` header."""
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
            location=Location(path, line),
            hint="regenerate it with `safeinstall lock -o pylock.toml`",
        ) from None
    from safeinstall.requirements.markers import marker_problem

    markers = [(m, Location(path)) for m in lock.environments or ()]
    for number, package in enumerate(lock.packages):
        where = package_location(path, lines, number)
        check_urls(package, where)
        markers += [(package.marker, where)] if package.marker is not None else []
    for marker, where in markers:
        problem = marker_problem(marker)
        if problem is not None:
            raise InputError(
                f"invalid environment marker {str(marker)!r}: {problem}",
                location=where,
                hint="regenerate it with `safeinstall lock -o pylock.toml`",
            )
    return lock, lines


def read_pylock_toml(text: str, path: str) -> Lock:
    """Parse and validate (``packaging.pylock``) a pylock.toml into a Lock: every URL splits, and
    what ``[tool.safeinstall]`` holds has the type safeinstall writes."""
    from safeinstall.requirements.pyproject import read_toml

    _, data = read_toml(Path(path), data=text.encode("utf-8"))  # TOML errors at their line
    pylock, lines = parse_pylock(text, data, path)
    packages = []
    for number, pkg in enumerate(pylock.packages):
        where = package_location(path, lines, number)
        if pkg.version is None or pkg.is_direct:
            raise InputError(
                f"{pkg.name} is not pinned to files from an index",
                location=where,
                hint="safeinstall locks only index packages; regenerate the lock",
            )
        files = []
        dists: list[PackageWheel | PackageSdist] = [*(pkg.wheels or ())]
        dists += [pkg.sdist] if pkg.sdist else []
        for dist in dists:
            sha256 = dist.hashes.get("sha256")
            if not isinstance(sha256, str):
                raise InputError(
                    f"{dist.filename} has no sha256 hash",
                    location=where,
                    hint="regenerate the lock",
                )
            files.append(
                LockedFile(sha256, dist.filename, dist.url or "", dist.size, dist.upload_time)
            )
        tool = _Tool(_table(pkg.tool).get("safeinstall"), f"packages[{number}]", where)
        packages.append(
            LockedPackage(
                name=NormalizedName(pkg.name),
                version=pkg.version,
                files=tuple(files),
                marker=str(pkg.marker) if pkg.marker else None,
                index_name=tool.string("index-name"),
                index_url=pkg.index,
                dependencies=tuple(str(d.get("name", "")) for d in pkg.dependencies or ()),
                via=tool.strings("via"),
                yanked=tool.string("yanked-reason"),
                license=tool.string("license"),
                allow_fresh=tool.string("allow-fresh"),
            )
        )
    top = _Tool(_table(pylock.tool).get("safeinstall"), "", Location(path))
    return Lock(
        packages=tuple(packages),
        digest=top.string("digest") or "",
        environments=tuple(str(m) for m in pylock.environments or ()),
        requires_python=str(pylock.requires_python) if pylock.requires_python else None,
        notes=top.strings("notes"),
        builds=_read_builds(top.table.get("builds", []), Location(path)),
        recorded_content=top.string("content-digest") or "",
    )


class _Tool:
    """A ``[tool.safeinstall]`` table as safeinstall writes it: a value of another type is an
    InputError naming its key (the table is absent, or not a table: nothing is recorded)."""

    def __init__(self, table: object, context: str, where: Location) -> None:
        self.table = _table(table)
        self.context = f"{context}.tool.safeinstall" if context else "tool.safeinstall"
        self.where = where

    def string(self, key: str) -> str | None:
        value = self.table.get(key)
        if value is not None and not isinstance(value, str):
            raise self._wrong(key, "a string")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(key, "an array of strings")
        return tuple(value)

    def _wrong(self, key: str, kind: str) -> InputError:
        return InputError(
            f"{self.context}.{key} must be {kind}",
            location=self.where,
            hint="regenerate the lock (safeinstall writes this table)",
        )


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
