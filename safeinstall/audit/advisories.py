"""Known vulnerabilities of locked versions: OSV records, OSV-schema matching, ignores, fixes.

Sources (one module each: ``osv_local.py`` for a directory or zip, ``osv_api.py`` for the online
API) hand back candidate advisories; the matching is done here, the same for every source:

- ``affected[].package``: ecosystem ``PyPI`` and the canonical package name;
- ``ranges`` of type ``ECOSYSTEM``: events sorted in PEP 440 order; ``introduced`` opens a range,
  ``fixed`` closes it at that version, ``last_affected`` after that version, and ``limit`` events,
  if any, bound it from above (the OSV schema's evaluation algorithm). ``GIT`` and ``SEMVER``
  ranges are not PyPI version ranges and are skipped;
- the explicit ``versions`` list: an exact (normalized) match is affected;
- ``withdrawn`` records never match.

A record is *malware* (``Advisory.malicious``) when its id or an alias is a ``MAL-`` id, or it
carries the OpenSSF malicious-packages provenance (``database_specific``): the same matching
decides which versions it names; ``audit/malware.py`` is the gate that refuses them.

An event whose version is not PEP 440 is skipped (2 of 2,661 records in the PyPA database); a
record that is not an OSV object at all is an error, not silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from safeinstall.policy.model import AuditIgnore

ECOSYSTEM = "PyPI"
MALWARE_PREFIX = "MAL-"  # the ids of the OpenSSF malicious-packages records in OSV
_MALWARE_ORIGINS = "malicious-packages-origins"
_EVENT_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}


class MalformedAdvisory(ValueError):
    """A record that is not an OSV object we can read (the source names where it came from)."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # introduced | fixed | last_affected | limit
    version: Version | None  # None: "0" for introduced (the very start), "*" for limit (no limit)


@dataclass(frozen=True, slots=True)
class Affected:
    """One ``affected[]`` entry for a PyPI package."""

    name: NormalizedName
    ranges: tuple[tuple[Event, ...], ...]  # each sorted
    versions: frozenset[Version]  # the explicit list (PEP 440 equality: 1.0 == 1.0.0)

    def includes(self, version: Version) -> bool:
        if version in self.versions:
            return True
        return any(_in_range(version, events) for events in self.ranges)

    def fixed(self) -> tuple[Version, ...]:
        return tuple(
            e.version for events in self.ranges for e in events if e.kind == "fixed" and e.version
        )


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    affected: tuple[Affected, ...]
    withdrawn: bool = False
    malicious: bool = False  # a known-malware record, not a vulnerability

    def affects(self, name: str, version: Version) -> bool:
        if self.withdrawn:
            return False
        key = canonicalize_name(name)
        return any(a.name == key and a.includes(version) for a in self.affected)

    def fixed_versions(self, name: str) -> tuple[Version, ...]:
        """Every version a ``fixed`` event names for ``name``, ascending."""
        key = canonicalize_name(name)
        return tuple(sorted({v for a in self.affected if a.name == key for v in a.fixed()}))

    def names(self) -> frozenset[NormalizedName]:
        return frozenset(a.name for a in self.affected)


class Source(Protocol):
    """Where advisories come from. It may return more than matches; ``audit`` does the matching."""

    def advisories(self, packages: Sequence[tuple[NormalizedName, Version]]) -> list[Advisory]: ...


@dataclass(frozen=True, slots=True)
class Finding:
    name: NormalizedName
    version: Version
    advisory: Advisory
    ignored_by: AuditIgnore | None = None

    @property
    def fixed(self) -> tuple[Version, ...]:
        """The fixed versions above the locked one (what an upgrade could go to)."""
        return tuple(v for v in self.advisory.fixed_versions(self.name) if v > self.version)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": str(self.version),
            "id": self.advisory.id,
            "aliases": list(self.advisory.aliases),
            "summary": self.advisory.summary,
            "fixed": [str(v) for v in self.fixed],
            "ignored": None
            if self.ignored_by is None
            else {"reason": self.ignored_by.reason, "until": self.ignored_by.until.isoformat()},
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    findings: tuple[Finding, ...]
    expired: tuple[AuditIgnore, ...]  # ignores past their date: they no longer apply

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.ignored_by is None)


def audit(
    packages: Iterable[tuple[NormalizedName, Version]],
    source: Source,
    ignores: Sequence[AuditIgnore] = (),
    *,
    today: date,
) -> AuditReport:
    """Every advisory affecting a (name, version), with the ignores in force on ``today``."""
    wanted = sorted({(canonicalize_name(n), v) for n, v in packages})
    advisories = {a.id: a for a in source.advisories(wanted)}
    live = [i for i in ignores if i.active(today)]
    findings = []
    for name, version in wanted:
        for advisory in sorted(advisories.values(), key=lambda a: a.id):
            if advisory.affects(name, version):
                ids = {advisory.id, *advisory.aliases}
                ignore = next((i for i in live if i.id in ids), None)
                findings.append(Finding(name, version, advisory, ignore))
    expired = tuple(i for i in ignores if not i.active(today))
    return AuditReport(tuple(findings), expired)


def fix_suggestions(findings: Iterable[Finding]) -> dict[NormalizedName, Version]:
    """For each vulnerable package, the lowest fixed version that none of its findings affects.

    Candidates are the advisories' own ``fixed`` versions above the locked one, so the answer is
    a version the advisories name. A package with no such version (no fix published, or every
    fixed version hit by another advisory) is left out: there is no upgrade that clears it.
    """
    by_name: dict[NormalizedName, tuple[Version, dict[str, Advisory]]] = {}
    for finding in findings:
        _, advisories = by_name.setdefault(finding.name, (finding.version, {}))
        advisories[finding.advisory.id] = finding.advisory
    out: dict[NormalizedName, Version] = {}
    for name, (current, advisories) in sorted(by_name.items()):
        candidates = sorted(
            {v for a in advisories.values() for v in a.fixed_versions(name) if v > current}
        )
        best = next(
            (v for v in candidates if not any(a.affects(name, v) for a in advisories.values())),
            None,
        )
        if best is not None:
            out[name] = best
    return out


# -- reading OSV JSON ---------------------------------------------------------------------------


def parse_advisory(data: object) -> Advisory:
    """An OSV record (already JSON-decoded) as an Advisory, keeping only its PyPI entries."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise MalformedAdvisory("not an OSV record (no string 'id')")
    ident: str = data["id"]
    affected = []
    for entry in _list(data, "affected", ident):
        package = entry.get("package") if isinstance(entry, Mapping) else None
        if not isinstance(package, Mapping):
            continue  # an entry without a package (GIT-only) names no PyPI project
        ecosystem, name = package.get("ecosystem"), package.get("name")
        if not isinstance(ecosystem, str) or ecosystem.split(":")[0] != ECOSYSTEM:
            continue
        if not isinstance(name, str):
            raise MalformedAdvisory(f"{ident}: a PyPI package without a name")
        ranges = tuple(
            _events(r, ident)
            for r in _list(entry, "ranges", ident)
            if isinstance(r, Mapping) and r.get("type") == "ECOSYSTEM"
        )
        versions = frozenset(_versions(_list(entry, "versions", ident)))
        affected.append(Affected(canonicalize_name(name), ranges, versions))
    summary = data.get("summary") or str(data.get("details") or "").strip().split("\n")[0]
    aliases = tuple(str(a) for a in _list(data, "aliases", ident))
    specific = data.get("database_specific")
    return Advisory(
        id=ident,
        aliases=aliases,
        summary=str(summary).strip(),
        affected=tuple(affected),
        withdrawn=bool(data.get("withdrawn")),
        malicious=any(i.startswith(MALWARE_PREFIX) for i in (ident, *aliases))
        or (isinstance(specific, Mapping) and _MALWARE_ORIGINS in specific),
    )


def mentions(data: object, names: frozenset[str]) -> bool:
    """Cheap pre-filter: does the raw record name one of ``names`` (canonical) as a package?"""
    if not isinstance(data, Mapping) or not isinstance(data.get("affected"), list):
        return False
    for entry in data["affected"]:
        package = entry.get("package") if isinstance(entry, Mapping) else None
        name = package.get("name") if isinstance(package, Mapping) else None
        if isinstance(name, str) and canonicalize_name(name) in names:
            return True
    return False


def _list(table: Mapping[str, Any], key: str, ident: str) -> list[Any]:
    value = table.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedAdvisory(f"{ident}: {key!r} is not a list")
    return value


def _events(rng: Mapping[str, Any], ident: str) -> tuple[Event, ...]:
    events = []
    for event in _list(rng, "events", ident):
        if not isinstance(event, Mapping) or len(event) != 1:
            raise MalformedAdvisory(f"{ident}: a range event is not a single key and version")
        ((kind, text),) = event.items()
        if kind not in _EVENT_ORDER or not isinstance(text, str):
            raise MalformedAdvisory(f"{ident}: unknown range event {kind!r}")
        if (kind, text) in (("introduced", "0"), ("limit", "*")):
            events.append(Event(kind, None))
            continue
        try:
            events.append(Event(kind, Version(text)))
        except InvalidVersion:
            continue  # not PEP 440: cannot be ordered
    return tuple(sorted(events, key=_sort_key))


def _sort_key(event: Event) -> tuple[int, Version, int]:
    if event.version is None:  # "0" sorts first, "*" last
        return (0 if event.kind == "introduced" else 2, Version("0"), 0)
    return (1, event.version, _EVENT_ORDER[event.kind])


def _in_range(version: Version, events: tuple[Event, ...]) -> bool:
    limits = [e.version for e in events if e.kind == "limit"]
    if limits and not any(limit is None or version < limit for limit in limits):
        return False
    affected = False
    for event in events:
        at = event.version
        if event.kind == "introduced" and (at is None or version >= at):
            affected = True
        elif at is not None and (
            (event.kind == "fixed" and version >= at)
            or (event.kind == "last_affected" and version > at)
        ):
            affected = False
    return affected


def _versions(texts: list[Any]) -> Iterator[Version]:
    """The PEP 440 ones: a locked version is always PEP 440, so no other string can equal it."""
    for text in texts:
        try:
            yield Version(str(text))
        except InvalidVersion:
            continue
