"""The lock: what was resolved, with every usable file's hash; ``requirements.txt`` in and out.

``pylock.py`` holds the PEP 751 format. Writers are deterministic: packages sorted by name and
version, files by name, hashes by value, so the same inputs give byte-identical output. A lock
is replaced through ``update_file``: under an advisory lock, the new bytes are produced in
memory, and the old file is replaced atomically only if it did not change meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall.errors import InputError, Location
from safeinstall.frozen import Frozen, _set
from safeinstall.lock.header import (
    ALLOW_FRESH_PREFIX,
    BUILD_PIN_PREFIX,
    BUILD_PREFIX,
    CONTENT_PREFIX,
    DIGEST_PREFIX,
    ENVIRONMENT_PREFIX,
    LICENSE_PREFIX,
    NOTE_PREFIX,
    VIA_PREFIX,
)

# Imported where used below: `check` reads license comments through this module, and the hook
# path must start fast.
if TYPE_CHECKING:
    from safeinstall.policy.model import Policy
    from safeinstall.targets import Target

SHA256 = re.compile(r"[0-9a-f]{64}")


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
    # `lock --allow-fresh`: why (and by whom) it may be inside min-release-age; None: it may not
    allow_fresh: str | None = None

    @property
    def hashes(self) -> tuple[str, ...]:
        return tuple(sorted({f.sha256 for f in self.files}))


class BuildSet(Frozen):
    """What one locked sdist is built with: its build requirements (``[build-system] requires``
    and what its backend asks for), resolved under the policy when the lock was made, each
    pinned with its wheels' hashes. ``install`` builds the sdist from these files only."""

    __slots__ = ("name", "packages", "sdist", "version")
    name: NormalizedName
    version: Version
    sdist: str  # the sha256 of the sdist it builds
    packages: tuple[LockedPackage, ...]  # sorted by name; no markers: resolved for one build

    def __init__(
        self,
        name: NormalizedName,
        version: Version,
        sdist: str,
        packages: tuple[LockedPackage, ...],
    ) -> None:
        _set(self, "name", name)
        _set(self, "version", version)
        _set(self, "sdist", sdist)
        _set(self, "packages", packages)


@dataclass(frozen=True, slots=True)
class Lock:
    packages: tuple[LockedPackage, ...]
    digest: str  # input_digest() of what the lock was made from
    environments: tuple[str, ...] = ()  # marker expressions of the targets it was made for
    requires_python: str | None = None
    # what the writer wants a reader to know, e.g. a package locked at different versions on
    # different targets; a comment in requirements.txt, ``[tool.safeinstall] notes`` in pylock.toml
    notes: tuple[str, ...] = ()
    builds: tuple[BuildSet, ...] = ()  # one per sdist that needs building, sorted by sdist
    # the content digest the file records ("": none); not content itself, so not compared
    recorded_content: str = field(default="", compare=False)

    def build_only(self) -> dict[tuple[NormalizedName, Version], list[str]]:
        """What only the build sets pin (it runs when `install` builds an sdist), each with the
        sdists it builds (``name==version``)."""
        runtime = {(p.name, p.version) for p in self.packages}
        found: dict[tuple[NormalizedName, Version], list[str]] = {}
        for build in self.builds:
            for pkg in build.packages:
                if (pkg.name, pkg.version) not in runtime:
                    found.setdefault((pkg.name, pkg.version), []).append(
                        f"{build.name}=={build.version}"
                    )
        return found


def with_allow_fresh(lock: Lock, policy: Policy) -> Lock:
    """``lock`` with each package ``lock --allow-fresh`` named recording who let it in and why;
    UsageError when one names no locked package (a typo must not pass silently)."""
    if not policy.allow_fresh:
        return lock
    from safeinstall.errors import UsageError

    for rule, _ in policy.allow_fresh:
        if not any(rule.matches(p.name, p.version) for p in lock.packages):
            raise UsageError(
                f"--allow-fresh {rule.raw}: the lock has no such package",
                hint="name a package (or name==version) that the lock pins",
            )
    packages = (
        replace(p, allow_fresh=policy.fresh_reason(p.name, p.version)) for p in lock.packages
    )
    return replace(lock, packages=tuple(packages))


def input_digest(
    inputs: Iterable[bytes | str],
    policy_source: bytes | None,
    targets: Sequence[Target],
    tool_version: str,
) -> str:
    """``sha256:<hex>`` over everything the lock depends on except the index's contents."""
    import hashlib

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


def to_requirements_txt(lock: Lock, command: str, tool_version: str) -> str:
    """pip's requirement-file format with ``--hash`` lines: ``pip install --require-hashes -r``."""
    lines = [
        f"# This file was generated by safeinstall {tool_version}; do not edit it by hand.",
        "# To update it, run:",
        f"#    {command}",
        f"{DIGEST_PREFIX}{lock.digest}",
    ]
    lines += [f"{ENVIRONMENT_PREFIX}{env}" for env in lock.environments]
    lines += [f"{NOTE_PREFIX}{note}" for note in lock.notes]
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
        if pkg.allow_fresh:
            lines.append(f"    {ALLOW_FRESH_PREFIX}{pkg.allow_fresh}")
    lines += _build_lines(lock.builds)
    from safeinstall.lock.content import content_digest  # of what the text reads back as

    content = content_digest(read_requirements_txt("\n".join(lines), "<lock>"))
    lines.insert(4, f"{CONTENT_PREFIX}{content}")
    return "\n".join(lines) + "\n"


def read_requirements_txt(text: str, path: str) -> Lock:
    """Read a requirements.txt lock written by ``to_requirements_txt``: pins, markers, hashes,
    the ``# note:`` lines before the first package, and the ``# via`` and ``# license:`` comments
    under a package. An ``# environment:`` line holds a valid marker (``install`` evaluates it)."""
    digest = content = ""
    environments: list[str] = []
    notes: list[str] = []
    pins: list[tuple[_Pin, dict[str, Any]]] = []  # each package, and what its comments add
    builds: list[BuildSet] = []
    for lineno, line in _logical_lines(text):
        if line.startswith(BUILD_PREFIX):
            builds.append(_build_heading(line[len(BUILD_PREFIX) :], Location(path, lineno)))
        elif builds and line.startswith(BUILD_PIN_PREFIX):
            pin = _package_line(line[len(BUILD_PIN_PREFIX) :].strip(), Location(path, lineno))
            last = builds[-1]
            builds[-1] = BuildSet(last.name, last.version, last.sdist, (*last.packages, pin))
        elif line.startswith(DIGEST_PREFIX):
            digest = line[len(DIGEST_PREFIX) :].strip()
        elif line.startswith(NOTE_PREFIX) and not pins:
            notes.append(line[len(NOTE_PREFIX) :].strip())
        elif line.startswith(CONTENT_PREFIX):
            content = line[len(CONTENT_PREFIX) :].strip()
        elif line.startswith(ENVIRONMENT_PREFIX):
            marker = line.removeprefix(ENVIRONMENT_PREFIX).strip()
            environments.append(_environment(marker, Location(path, lineno)))
        elif pins and line.startswith(ALLOW_FRESH_PREFIX):
            pins[-1][1]["allow_fresh"] = line[len(ALLOW_FRESH_PREFIX) :].strip()
        elif pins and line.startswith(LICENSE_PREFIX):
            pins[-1][1]["license"] = line[len(LICENSE_PREFIX) :].strip()
        elif pins and line.startswith(VIA_PREFIX):
            pins[-1][1]["via"] = tuple(v.strip() for v in line[len(VIA_PREFIX) :].split(","))
        if not line or line.startswith("#"):
            continue
        pins.append((_pin(line, Location(path, lineno)), {}))
    return Lock(
        tuple([LockedPackage(*pin, **comments) for pin, comments in pins]),
        digest,
        tuple(environments),
        notes=tuple(notes),
        builds=tuple(builds),
        recorded_content=content,
    )


def _build_lines(builds: Sequence[BuildSet]) -> list[str]:
    """The build sets as comment lines, which pip ignores: a heading naming the sdist by its
    pin and hash, then a line per pinned build requirement (none: it builds with nothing)."""
    lines = ["", "# The build environments of the sdists above (safeinstall builds from them):"]
    for build in sorted(builds, key=lambda b: (b.name, b.version, b.sdist)):
        lines.append(f"{BUILD_PREFIX}{build.name}=={build.version} --hash=sha256:{build.sdist}")
        for pkg in sorted(build.packages, key=lambda p: (p.name, p.version)):
            hashes = " ".join(f"--hash=sha256:{h}" for h in pkg.hashes)
            lines.append(f"{BUILD_PIN_PREFIX}{pkg.name}=={pkg.version} {hashes}")
    return lines if builds else []


def _build_heading(text: str, where: Location) -> BuildSet:
    pkg = _package_line(text.strip(), where)
    if len(pkg.files) != 1 or pkg.marker:
        raise InputError(
            f"the build environment of {pkg.name} names no single sdist hash",
            location=where,
            hint="regenerate the lock",
        )
    return BuildSet(pkg.name, pkg.version, pkg.files[0].sha256, ())


def _environment(marker: str, where: Location) -> str:
    from packaging.markers import InvalidMarker, Marker

    from safeinstall.requirements.markers import marker_problem

    try:
        reason = marker_problem(Marker(marker))
    except InvalidMarker as exc:
        reason = str(exc).splitlines()[0].rstrip(".")
    if reason is not None:
        raise InputError(
            f"the environment {marker!r} is not a valid marker: {reason}",
            location=where,
            hint="regenerate the lock (the # environment: lines name its targets)",
        ) from None
    return marker


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


# name, version, files, marker: what a pin line says
_Pin = tuple[NormalizedName, Version, tuple[LockedFile, ...], str | None]

# ``name==version`` for a plain name and a version in the form safeinstall writes (no marker, no
# extras, no spaces): packaging's Requirement reads it alike, so it is read without one; any
# other line goes through Requirement
_PLAIN_PIN = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)=="
    r"([0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?)"
)


def _package_line(line: str, where: Location) -> LockedPackage:
    return LockedPackage(*_pin(line, where))


def _pin(line: str, where: Location) -> _Pin:
    req_text, *hash_texts = re.split(r"\s+--hash[= ]", line)
    plain = _PLAIN_PIN.fullmatch(req_text)
    if plain is not None:
        name, version, marker = plain[1], plain[2], None
    else:
        name, version, marker = _requirement_pin(req_text, where)
    files = []
    for text in hash_texts:
        algorithm, _, value = text.strip().partition(":")
        if algorithm != "sha256" or not SHA256.fullmatch(value):
            raise InputError(
                f"{name} has an invalid hash {text.strip()!r}",
                location=where,
                hint="regenerate the lock",
            )
        files.append(LockedFile(value))
    if not files:
        raise InputError(f"{name} has no hash", location=where, hint="regenerate the lock")
    return canonicalize_name(name), Version(version), tuple(files), marker


def _requirement_pin(text: str, where: Location) -> tuple[str, str, str | None]:
    """(name, version, marker) of a pin that is not plain ``name==version``."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise InputError(
            f"not a requirement: {exc}", location=where, hint="regenerate the lock"
        ) from exc
    from safeinstall.requirements.markers import marker_problem

    problem = marker_problem(req.marker) if req.marker is not None else None
    if problem is not None:
        raise InputError(
            f"{req.name} has an invalid marker: {problem}",
            location=where,
            hint="regenerate the lock",
        )
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        raise InputError(
            f"{req.name} is not pinned with ==", location=where, hint="regenerate the lock"
        )
    return req.name, specs[0].version, str(req.marker) if req.marker else None


def update_file(path: Path, produce: Callable[[bytes | None], bytes]) -> bool:
    """Replace ``path`` with ``produce(old bytes or None)``; False when nothing changed.

    ``produce`` runs (resolves) under the advisory lock before anything is written; if it raises,
    the file is left byte-identical. A symlinked path is refused before any work is done.
    """
    from safeinstall.files.atomic import advisory_lock, replace_file  # `lock --check` writes none

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
        import hashlib

        expected = None if old is None else hashlib.sha256(old).hexdigest()
        replace_file(path, new, expected_digest=expected)
        return True
