"""The rules over one artifact's members (not its code): start-up files, metadata, what it writes.

Fed each member in one pass (``archive.members``), a ``Reader`` finds:

- ``startup-pth``: a ``.pth`` landing in site-packages (at the wheel's root, under
  ``.data/purelib`` or ``.data/platlib``, or under a ``site-packages`` or ``dist-packages``
  directory of ``.data/data``, however the path to it is spelled)
  with a line ``site`` would run, unless ``install/startup.py``'s ``known_startup_file`` allows
  it under the policy's ``startup-files`` (the one rule, shared with ``verify``);
- ``startup-customize``: a ``sitecustomize`` or ``usercustomize`` module (source, bytecode,
  extension or package) landing in site-packages; for an sdist, at its root or under ``src/``;
- ``meta-mismatch``: METADATA's (PKG-INFO's) name or version is not the file name's;
- ``meta-url-dependency``: a ``Requires-Dist`` on a direct URL;

and the ``Layout`` the cross-wheel rules need (``clobber.py``): where each member lands, the
import packages it owns, the commands it installs.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from safeinstall.environment.unpack import path_parts, site_path
from safeinstall.index.coremeta import header_block, header_lines
from safeinstall.inspect.archive import Member, by_name
from safeinstall.inspect.rules import Finding
from safeinstall.install.startup import (
    MAX_PTH_BYTES,
    StartupOwner,
    advice,
    known_startup_file,
    startup_code,
)
from safeinstall.policy.model import StartupFile

MAX_META_BYTES = 4 * 1024 * 1024
# Where a .data/data file lands in site-packages: the data scheme's root is the environment's
# prefix, and site-packages under it is spelled many ways (lib/python3.X, lib64/... which a venv
# links to lib, local/lib/..., Debian's dist-packages, Windows' Lib, which is lib there too):
# any directory so named counts, its first one.
_DATA_SITE = re.compile(r"(?:[^/]+/)*?(?:site|dist)-packages/(?P<rest>.+)", re.IGNORECASE)
_CUSTOMIZE = ("sitecustomize", "usercustomize")


@dataclass(frozen=True, slots=True)
class Layout:
    """What installing one wheel writes, for the cross-wheel rules."""

    package: NormalizedName
    artifact: str
    paths: tuple[str, ...]  # "site/<path>", "scripts/<name>", "data/<path>", "headers/<path>"
    import_packages: tuple[str, ...]  # top-level directories with an __init__.py
    commands: tuple[tuple[str, str], ...]  # (command name, where it is declared)
    requires: frozenset[NormalizedName] = frozenset()  # the projects its Requires-Dist names


@dataclass
class Reader:
    """Collects one artifact's member rules during the pass; ``finish`` gives the result."""

    package: NormalizedName
    version: Version
    artifact: str
    startup: tuple[str | StartupFile, ...]
    editable_project: bool = False  # an editable wheel of the user's own project
    findings: list[Finding] = field(default_factory=list)
    _paths: list[str] = field(default_factory=list)
    _pth: list[tuple[str, str, bytes]] = field(default_factory=list)  # (site name, member, data)
    _commands: list[tuple[str, str]] = field(default_factory=list)
    _requires: set[NormalizedName] = field(default_factory=set)

    @property
    def is_wheel(self) -> bool:
        return self.artifact.endswith(".whl")

    def feed(self, member: Member) -> None:
        if self.is_wheel:
            self._wheel_member(member)
        else:
            self._sdist_member(member)

    def _wheel_member(self, member: Member) -> None:
        name = member.name
        where = _landing(name)
        if where.read is not None:
            read = self._metadata if where.read == "METADATA" else self._entry_points
            read(name, member.read(MAX_META_BYTES))
        if where.path is not None:
            self._paths.append(where.path)
        if where.command is not None:
            self._commands.append((where.command, name))
        if where.pth is not None:
            self._pth.append((where.pth, name, member.read(MAX_PTH_BYTES + 1)))
        if where.customize:
            self._customize(name)

    def _sdist_member(self, member: Member) -> None:
        name = member.name
        if name == "PKG-INFO":
            self._metadata(name, member.read(MAX_META_BYTES))
        root = name.removeprefix("src/")
        if root.split("/", 1)[0].split(".", 1)[0] in _CUSTOMIZE and root.endswith(".py"):
            self._customize(name)

    def _customize(self, name: str) -> None:
        self._hit(
            "startup-customize",
            name,
            None,
            f"{name} installs a module Python imports at every interpreter start",
        )

    def _hit(self, rule: str, file: str | None, line: int | None, message: str) -> None:
        self.findings.append(Finding(rule, self.package, self.artifact, file, line, message))

    def _metadata(self, name: str, raw: bytes) -> None:
        facts = _metadata_facts(raw)
        try:
            same = canonicalize_name(facts.name) == self.package and (
                Version(facts.version) == self.version
            )
        except InvalidVersion:
            same = False
        if not same:
            self._hit(
                "meta-mismatch",
                name,
                None,
                f"{name} names {facts.name or '(no name)'} {facts.version or '(no version)'}, "
                f"not {self.package} {self.version} as the file name says",
            )
        self._requires.update(facts.requires)
        for line_no, value in facts.url_requirements:
            self._hit(
                "meta-url-dependency",
                name,
                line_no,
                f"Requires-Dist {value} depends on a direct URL, which no hash pins",
            )

    def _entry_points(self, name: str, raw: bytes) -> None:
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(raw.decode("utf-8", "replace"))
        except configparser.Error:
            return  # pip would not install its scripts either
        for section in ("console_scripts", "gui_scripts"):
            if parser.has_section(section):
                self._commands += [(c.strip(), name) for c in parser.options(section)]

    def finish(self) -> tuple[Layout, list[Finding]]:
        """The layout and every finding; the .pth files are judged once every member is known
        (the start-up rule looks at the files the owner installs)."""
        site_files = frozenset(p.removeprefix("site/") for p in self._paths if p[:5] == "site/")
        owner = StartupOwner(self.package, site_files, self.editable_project)
        for site, member, data in self._pth:
            code = startup_code(data)
            if code is None or known_startup_file(site, data, owner, self.startup):
                continue
            line, why = code
            self._hit(
                "startup-pth",
                member,
                line,
                f"{site} runs code at every interpreter start-up ({why})"
                + advice(site, data, self.package),
            )
        packages = sorted({p.split("/")[1] for p in self._paths if _is_package_init(p)})
        layout = Layout(
            self.package,
            self.artifact,
            tuple(self._paths),
            tuple(packages),
            tuple(self._commands),
            frozenset(self._requires),
        )
        return layout, self.findings


@dataclass(frozen=True, slots=True)
class _MetadataFacts:
    """What the rules read in a METADATA (PKG-INFO) file."""

    name: str  # the Name header as written ("" when absent)
    version: str
    requires: frozenset[NormalizedName]  # the projects its Requires-Dist headers name
    url_requirements: tuple[tuple[int, str], ...]  # (line, requirement) of direct URL ones


# by the header block: the wheels of one release for each platform of a lock share it; only
# blocks of a usual size are kept, so that hostile ones cannot make it big
_FACTS: dict[bytes, _MetadataFacts] = {}
_MAX_FACTS, _MAX_KEPT_BYTES = 1024, 64 * 1024


def _metadata_facts(raw: bytes) -> _MetadataFacts:
    """The facts of ``raw``, read from its header block only: what an email parser reads as
    headers ends at the first empty line at the latest, and the description after it (most of
    the bytes) is text, not metadata, whatever it says."""
    head = header_block(raw)
    known = _FACTS.get(head)
    if known is not None:
        return known
    headers = BytesHeaderParser().parsebytes(head)
    requires: set[NormalizedName] = set()
    urls: list[tuple[int, str]] = []
    for line_no, line in enumerate(header_lines(head), 1):
        key, _, value = line.partition(":")
        if key.strip().lower() != "requires-dist":
            continue
        try:
            requirement = Requirement(value.strip())
        except InvalidRequirement:
            continue
        requires.add(canonicalize_name(requirement.name))
        if requirement.url:
            urls.append((line_no, value.strip()))
    facts = _MetadataFacts(
        str(headers.get("Name", "")),
        str(headers.get("Version", "")),
        frozenset(requires),
        tuple(urls),
    )
    if len(head) <= _MAX_KEPT_BYTES:
        if len(_FACTS) >= _MAX_FACTS:
            _FACTS.clear()
        _FACTS[head] = facts
    return facts


@dataclass(frozen=True, slots=True)
class _Landing:
    """What installing a wheel member named so means for the rules (``_landing``)."""

    read: str | None = None  # the .dist-info file the rules read: METADATA, entry_points.txt
    path: str | None = None  # the Layout path: "site/<path>", "<scheme>/<path>"
    command: str | None = None  # a .data/scripts file: the command it installs
    pth: str | None = None  # a .pth file at the root of site-packages: its name there
    customize: bool = False  # a sitecustomize or usercustomize module in site-packages


@by_name
def _landing(name: str) -> _Landing:
    parts = path_parts(name)
    top = parts[0]
    if top.endswith(".dist-info"):
        wanted = len(parts) == 2 and parts[1] in ("METADATA", "entry_points.txt")
        return _Landing(read=parts[1] if wanted else None)
    site = site_path(name, parts)
    path = command = None
    if site is None and len(parts) > 2 and top.endswith(".data"):
        scheme, rest = parts[1], "/".join(parts[2:])
        path = f"{scheme}/{rest}"
        if scheme == "scripts" and len(parts) == 3:
            command = parts[2]
        found = _DATA_SITE.fullmatch(rest) if scheme == "data" else None
        site = found["rest"] if found else None
    elif site is not None:
        path = f"site/{site}"
    if site is None:
        return _Landing(path=path, command=command)
    pth = site if "/" not in site and site.lower().endswith(".pth") else None  # X.PTH: Windows
    customize = site.split("/", 1)[0].split(".", 1)[0] in _CUSTOMIZE
    return _Landing(path=path, command=command, pth=pth, customize=customize)


def _is_package_init(path: str) -> bool:
    """``site/<top>/__init__.py`` (also compiled or an extension): <top> is a regular package."""
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == "site" and parts[2].split(".")[0] == "__init__"
