"""What a lock change does, for review: added, removed, upgraded and downgraded packages, index
and license changes, new sdists and what they build with, and the alarm: a version that stays
the same while its bytes change (a re-uploaded or substituted artifact, a build requirement too).

Packages are compared by name; a name locked at several versions (per-environment markers)
compares its set of versions. The alarm fires when a file keeps its name but not its sha256, or,
when a side does not know file names (requirements.txt), when a version both loses and gains
hashes. A version that only gains or only loses files (a target added or dropped) is reported as
a file change, not an alarm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.lock.model import Lock, LockedPackage

Kind = Literal[
    "added",
    "removed",
    "upgraded",
    "downgraded",
    "index",
    "license",
    "fresh",
    "sdist",
    "files",
    "alarm",
]


@dataclass(frozen=True, slots=True)
class Change:
    kind: Kind
    name: NormalizedName
    old: str | None  # the old version(s), index, license ... (None: not there)
    new: str | None
    detail: str = ""

    def to_json(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class LockDiff:
    changes: tuple[Change, ...]  # by name, then in Kind order

    @property
    def alarms(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == "alarm")

    def of_kind(self, kind: Kind) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == kind)


def diff_locks(old: Lock, new: Lock) -> LockDiff:
    before, after = _by_name(old), _by_name(new)
    changes: list[Change] = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name, []), after.get(name, [])
        changes += _versions(name, was, now)
        changes += _attribute(name, "index", was, now, lambda p: p.index_url)
        changes += _attribute(name, "license", was, now, lambda p: p.license)
        changes += _fresh(name, was, now)
        changes += _new_sdists(name, was, now)
        same = {p.version: p for p in was}
        for pkg in now:
            if pkg.version in same:
                changes += _files(same[pkg.version], pkg)
    return LockDiff(tuple(changes + _builds(old, new)))


def _by_name(lock: Lock) -> dict[NormalizedName, list[LockedPackage]]:
    out: dict[NormalizedName, list[LockedPackage]] = {}
    for pkg in lock.packages:
        out.setdefault(pkg.name, []).append(pkg)
    return out


def _joined(versions: set[Version]) -> str:
    return ", ".join(str(v) for v in sorted(versions))


def _versions(
    name: NormalizedName, was: list[LockedPackage], now: list[LockedPackage]
) -> list[Change]:
    old = {p.version for p in was}
    new = {p.version for p in now}
    if old == new:
        return []
    if not old:
        return [Change("added", name, None, _joined(new))]
    if not new:
        return [Change("removed", name, _joined(old), None)]
    kind: Kind = "upgraded" if max(new) > max(old) else "downgraded"
    return [Change(kind, name, _joined(old), _joined(new))]


def _attribute(
    name: NormalizedName,
    kind: Kind,
    was: list[LockedPackage],
    now: list[LockedPackage],
    get: Callable[[LockedPackage], str | None],
) -> list[Change]:
    old = {v for p in was if (v := get(p)) is not None}
    new = {v for p in now if (v := get(p)) is not None}
    if not was or not now or not old or not new or old == new:
        return []  # added/removed, or a side that does not record it (requirements.txt)
    return [Change(kind, name, ", ".join(sorted(old)), ", ".join(sorted(new)))]


def _fresh(
    name: NormalizedName, was: list[LockedPackage], now: list[LockedPackage]
) -> list[Change]:
    """A version newly let in inside min-release-age (``lock --allow-fresh``): who and why."""
    known = {(p.version, p.allow_fresh) for p in was}
    return [
        Change("fresh", name, None, str(p.version), f"inside min-release-age: {p.allow_fresh}")
        for p in now
        if p.allow_fresh and (p.version, p.allow_fresh) not in known
    ]


def _new_sdists(
    name: NormalizedName, was: list[LockedPackage], now: list[LockedPackage]
) -> list[Change]:
    known = {f.filename for p in was for f in p.files}
    return [
        Change("sdist", name, None, f.filename, f"{pkg.version}: building it runs its code")
        for pkg in now
        for f in pkg.files
        if f.filename and not f.is_wheel and f.filename not in known
    ]


def _builds(old: Lock, new: Lock) -> list[Change]:
    """Each sdist's build environment: what it now builds with ("files", on the sdist), and a
    build requirement that keeps its version but not its bytes (an alarm, as for any package)."""
    before = {(b.name, b.version): b for b in old.builds}
    changes: list[Change] = []
    for build in sorted(new.builds, key=lambda b: (b.name, b.version)):
        was = before.get((build.name, build.version))
        pins = {p.name: p for p in was.packages} if was is not None else {}
        moved = []
        for pkg in build.packages:
            pinned = pins.get(pkg.name)
            if pinned is not None and pinned.version == pkg.version:
                where = f"a build requirement of {build.name} {build.version}: "
                changes += [replace(c, detail=where + c.detail) for c in _files(pinned, pkg)]
            else:
                moved.append(f"{pkg.name} {pinned.version if pinned else '(new)'} -> {pkg.version}")
        moved += [
            f"{n} {p.version} -> (dropped)"
            for n, p in pins.items()
            if n not in {pkg.name for pkg in build.packages}
        ]
        if moved or was is None:
            pinned_now = ", ".join(f"{p.name} {p.version}" for p in build.packages) or "nothing"
            detail = f"builds with: {'; '.join(moved) if was is not None else pinned_now}"
            version = str(build.version)
            changes.append(Change("files", build.name, version, version, detail))
    return changes


def _files(old: LockedPackage, new: LockedPackage) -> list[Change]:
    version = str(new.version)
    old_names = {f.filename: f.sha256 for f in old.files if f.filename}
    new_names = {f.filename: f.sha256 for f in new.files if f.filename}
    named = len(old_names) == len(old.files) and len(new_names) == len(new.files)
    if named:
        changed = sorted(
            n for n in old_names.keys() & new_names.keys() if old_names[n] != new_names[n]
        )
        if changed:
            detail = ", ".join(f"{n}: {old_names[n]} -> {new_names[n]}" for n in changed)
            return [Change("alarm", new.name, version, version, f"same file, new bytes: {detail}")]
    lost = sorted(set(old.hashes) - set(new.hashes))
    gained = sorted(set(new.hashes) - set(old.hashes))
    if not named and lost and gained:
        detail = f"hashes removed: {', '.join(lost)}; added: {', '.join(gained)}"
        return [Change("alarm", new.name, version, version, f"same version, new bytes: {detail}")]
    if lost or gained:
        detail = f"{len(gained)} file(s) added, {len(lost)} removed"
        return [Change("files", new.name, version, version, detail)]
    return []


# -- the lock-diff hook: what blocks a commit ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """One reason a staged lock is blocked: ``rule`` (``alarm``, ``hashes-added``, ``new-host``),
    the package of the new lock it is on (a new host: the first one with a URL there), and the
    line to show."""

    rule: Literal["alarm", "hashes-added", "new-host"]
    name: NormalizedName
    version: str
    text: str


@dataclass(frozen=True, slots=True)
class Review:
    """A staged lock against HEAD's (``new_lock``: HEAD has none): the diff to show, the hosts
    its files or indexes come from that HEAD's lock never named, and what blocks the commit."""

    diff: LockDiff
    new_hosts: tuple[str, ...]
    blocks: tuple[Block, ...]
    new_lock: bool = False

    @property
    def blocked(self) -> tuple[str, ...]:
        """One reason per line."""
        return tuple(b.text for b in self.blocks)


def review(old: Lock | None, new: Lock) -> Review:
    """Block a version kept with changed bytes (a hash swapped, or gained while the lock's
    targets stay the same: pip accepts any listed hash) and files or indexes on a new host."""
    if old is None:
        return Review(LockDiff(()), tuple(sorted(hosts(new))), (), new_lock=True)
    result = diff_locks(old, new)
    blocks = [
        Block("alarm", c.name, c.new or "", f"{c.name} {c.new}: {c.detail}") for c in result.alarms
    ]
    alarmed = {(c.name, c.new) for c in result.alarms}
    if old.environments == new.environments:
        before = {(p.name, p.version): p for p in old.packages}
        for pkg in new.packages:
            was = before.get((pkg.name, pkg.version))
            gained = sorted(set(pkg.hashes) - set(was.hashes)) if was else []
            if gained and (pkg.name, str(pkg.version)) not in alarmed:
                text = f"{pkg.name} {pkg.version}: same version, hashes added: {', '.join(gained)}"
                blocks.append(Block("hashes-added", pkg.name, str(pkg.version), text))
    fresh_hosts = tuple(sorted(hosts(new) - hosts(old)))
    for host in fresh_hosts:
        on = next(p for p in new.packages if host in _hosts_of(p))
        text = f"new host {host}: no file or index of the lock in HEAD was on it"
        blocks.append(Block("new-host", on.name, str(on.version), text))
    return Review(result, fresh_hosts, tuple(blocks))


def hosts(lock: Lock) -> set[str]:
    """``host[:port]`` of every file URL and index URL the lock names (requirements.txt: none)."""
    return {host for pkg in lock.packages for host in _hosts_of(pkg)}


def _hosts_of(pkg: LockedPackage) -> set[str]:
    from safeinstall import urls

    out = set()
    for url in [pkg.index_url or "", *(f.url for f in pkg.files)]:
        parts = urls.split(url) if url else None  # the lock reader checked every URL
        if parts is not None and parts.hostname:
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            out.add(host + (f":{parts.port}" if parts.port else ""))
    return out
