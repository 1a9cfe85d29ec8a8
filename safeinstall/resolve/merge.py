"""One lock for several targets: resolve each target, then merge with environment markers.

A package chosen at the same version on every target gets no marker. Otherwise it gets a marker
that is true exactly on the targets where it was chosen, written over the three values that tell
targets apart (``python_version``, ``sys_platform``, ``platform_machine``) and simplified: a
platform where every locked Python version has it needs no ``python_version`` clause, a
``sys_platform`` whose every machine has it needs no ``platform_machine`` clause, and so on. A
package chosen at different versions on different targets becomes one entry per version, with
disjoint markers. Targets that agree on all three values (e.g. manylinux and musllinux of one
machine) cannot be told apart by a marker: a package needed on either is marked for both.

Before merging, the targets are made to agree (``resolve_each``). Each target after the first is
offered the versions the targets before it chose, first among its candidates, where the
package's newest usable release is the same on both (``_Ceilings``): a search that backtracked
once goes straight to its answer on the other targets, and a version another target took for
want of a file or for its Python is not imposed. Then a target that chose an older
version of a package than another target did is resolved again preferring the newest version
any target chose, and the new resolution is kept only if nothing in it got older. So versions
differ only where a target cannot have the newest one (no file for its platform,
``requires-python``, a dependency's marker) without giving up a newer version of something
else; ``splits`` names what still differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.index.distfile import DistFile
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.admitted import Admitted
from safeinstall.resolve.candidates import CandidateFilter, Req
from safeinstall.resolve.resolver import Finder, Resolution, ResolvedPackage, resolve
from safeinstall.targets import Target

# How often a target is resolved again to agree with the others (each time for a new reason).
MAX_AGREEMENT_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Split:
    """A package still chosen at different versions on different targets."""

    name: NormalizedName
    versions: tuple[tuple[Version, tuple[str, ...]], ...]  # newest first, with target names

    def describe(self) -> str:
        where = "; ".join(f"{v} on {', '.join(names)}" for v, names in self.versions)
        return f"{self.name} differs across targets: {where}"


def resolve_targets(
    roots: Sequence[Root],
    policy: Policy,
    finder: Finder,
    targets: Sequence[Target],
    *,
    preferred: Mapping[NormalizedName, Version] | None = None,
    upgrade: bool | set[NormalizedName] = False,
    now: datetime | None = None,
) -> Resolution:
    """Resolve for every target, agreeing where they can (``resolve_each``), and merge."""
    return merge(
        resolve_each(roots, policy, finder, targets, preferred=preferred, upgrade=upgrade, now=now)
    )


def resolve_each(
    roots: Sequence[Root],
    policy: Policy,
    finder: Finder,
    targets: Sequence[Target],
    *,
    preferred: Mapping[NormalizedName, Version] | None = None,
    upgrade: bool | set[NormalizedName] = False,
    now: datetime | None = None,
    pinned: Callable[[Sequence[DistFile]], None] | None = None,
) -> list[Resolution]:
    """One resolution per target (in order; the finder caches what they share), agreeing on
    one version of each package wherever a target can have it (see the module doc). Only a
    target behind another is resolved again, at most once per set of versions it is behind on.
    ``pinned``: told the files of each release a resolution pins."""
    admitted = Admitted()
    # what the first pass was asked to keep (``resolve`` drops the pins being upgraded)
    skip = upgrade if isinstance(upgrade, set) else set()
    kept = {} if upgrade is True else {k: v for k, v in (preferred or {}).items() if k not in skip}
    results: list[Resolution] = []
    ceilings = _Ceilings(policy, finder, targets, admitted, now or datetime.now(UTC))
    for i, target in enumerate(targets):
        results.append(
            resolve(
                roots,
                policy,
                finder,
                target,
                preferred={**kept, **ceilings.offer(i, results)} if results else preferred,
                upgrade=upgrade if not results else False,
                now=now,
                admitted=admitted,
                pinned=pinned,
            )
        )
        if i == 0:
            _read_ahead(policy, finder, targets[1:], results[0], now or datetime.now(UTC))
    tried: list[set[frozenset[tuple[NormalizedName, Version]]]] = [set() for _ in targets]
    for _ in range(MAX_AGREEMENT_ROUNDS):
        newest = _newest(results)
        moved = False
        for i, res in enumerate(results):
            own = {p.name: p.version for p in res.packages}
            behind = {n: v for n, v in newest.items() if n in own and own[n] != v}
            if not behind or frozenset(behind.items()) in tried[i]:
                continue
            tried[i].add(frozenset(behind.items()))
            # its own choices first, then the newest versions: only what must change changes
            prefer = {**kept, **own, **behind}
            again = resolve(
                roots,
                policy,
                finder,
                targets[i],
                preferred=prefer,
                now=now,
                admitted=admitted,
                pinned=pinned,
            )
            if again != res and not _older(again, own):
                results[i], moved = again, True
        if not moved:
            break
    return results


def _read_ahead(
    policy: Policy, finder: Finder, targets: Sequence[Target], first: Resolution, now: datetime
) -> None:
    """Read in the background the metadata the other ``targets`` most likely ask for next:
    of the versions the ``first`` resolution chose, each one's best file for each target (they
    are offered those versions first). Platform wheels are files of their own, each read with
    ranges: one target after another, a lock for nine waited for each read in turn. Wheels
    only: reading an sdist's runs its build."""
    wanted: dict[str, DistFile] = {}
    for target in targets:
        candidates = CandidateFilter(finder, policy, target, {}, now)
        for pkg in first.packages:
            pin = Req(pkg.name, None, SpecifierSet(f"=={pkg.version}"), f"=={pkg.version}")
            file = candidates.likely(pin)
            if file is not None and file.kind == "wheel":
                wanted.setdefault(file.url, file)
    finder.prefetch(list(wanted.values()), lambda metadata: None)


class _Ceilings:
    """What a target is offered of the versions the targets before it chose (the newest of
    them, per package): only a version chosen where the package's newest usable release is the
    same as on this target, neither refused there for the target's Python, and not a dependency
    or dependent of one that is not offered. A version held back by a conflict is offered, so
    the search goes straight to it; one held back by the other target's platform or Python, or
    through such a package, is not: this target still gets the newest it can have."""

    def __init__(
        self,
        policy: Policy,
        finder: Finder,
        targets: Sequence[Target],
        admitted: Admitted,
        now: datetime,
    ) -> None:
        self._filters = [
            CandidateFilter(finder, policy, t, {}, now, admitted=admitted) for t in targets
        ]

    def offer(self, i: int, results: Sequence[Resolution]) -> dict[NormalizedName, Version]:
        chooser: dict[NormalizedName, tuple[Version, int]] = {}
        for j, res in enumerate(results):
            for pkg in res.packages:
                if pkg.name not in chooser or pkg.version > chooser[pkg.name][0]:
                    chooser[pkg.name] = (pkg.version, j)
        mine, theirs = self._filters[i], self._filters
        held = [
            n
            for n, (_, j) in chooser.items()
            if n in results[j].held_by_python or mine.newest_usable(n) != theirs[j].newest_usable(n)
        ]
        # what a held-back package depends on may be held back through it, and so may what
        # depends on it (an older version chosen to fit it): neither is offered
        needs: dict[NormalizedName, set[NormalizedName]] = {}
        for res in results:
            for pkg in res.packages:
                needs.setdefault(pkg.name, set()).update(pkg.dependencies)
                for dep in pkg.dependencies:
                    needs.setdefault(dep, set()).add(pkg.name)
        blocked: set[NormalizedName] = set()
        while held:
            name = held.pop()
            if name not in blocked:
                blocked.add(name)
                held.extend(needs.get(name, ()))
        return {n: v for n, (v, _) in chooser.items() if n not in blocked}


def _newest(results: Sequence[Resolution]) -> dict[NormalizedName, Version]:
    newest: dict[NormalizedName, Version] = {}
    for res in results:
        for pkg in res.packages:
            if pkg.name not in newest or pkg.version > newest[pkg.name]:
                newest[pkg.name] = pkg.version
    return newest


def _older(res: Resolution, before: Mapping[NormalizedName, Version]) -> bool:
    """Whether ``res`` chose an older version of a package than ``before`` had."""
    return any(p.name in before and p.version < before[p.name] for p in res.packages)


def splits(resolutions: Sequence[Resolution]) -> tuple[Split, ...]:
    """The packages chosen at more than one version across ``resolutions``, by name."""
    found: dict[NormalizedName, dict[Version, list[str]]] = {}
    for res in resolutions:
        for pkg in res.packages:
            names = found.setdefault(pkg.name, {}).setdefault(pkg.version, [])
            names += [t.name for t in res.targets]
    return tuple(
        Split(name, tuple((v, tuple(by[v])) for v in sorted(by, reverse=True)))
        for name, by in sorted(found.items())
        if len(by) > 1
    )


def merge(resolutions: Sequence[Resolution]) -> Resolution:
    targets = tuple(t for r in resolutions for t in r.targets)
    found: dict[tuple[NormalizedName, Version], list[tuple[Target, ResolvedPackage]]] = {}
    for res in resolutions:
        for pkg in res.packages:
            for target in res.targets:
                found.setdefault((pkg.name, pkg.version), []).append((target, pkg))
    out = []
    for (name, version), seen in sorted(found.items()):
        where = [t for t, _ in seen]
        files = {f.filename: f for _, p in seen for f in p.files}
        out.append(
            ResolvedPackage(
                name=name,
                version=version,
                files=tuple(files[k] for k in sorted(files)),
                dependencies=tuple(sorted({d for _, p in seen for d in p.dependencies})),
                via=tuple(sorted({v for _, p in seen for v in p.via})),
                yanked=next((p.yanked for _, p in seen if p.yanked), None),
                marker=None if len(where) == len(targets) else marker_for(where, targets),
                license=seen[0][1].license,
            )
        )
    return Resolution(tuple(out), targets)


def _key(target: Target) -> tuple[str, str, str]:
    env = dict(target.environment)
    return env["sys_platform"], env["platform_machine"], env["python_version"]


def _pythons(chosen: set[str], known: list[str]) -> str | None:
    """A python_version clause true for ``chosen`` among ``known`` (None: all of them)."""
    if set(known) <= chosen:
        return None
    ordered = sorted(known, key=Version)
    clauses: list[str] = []
    run: list[str] = []
    for version in [*ordered, None]:
        if version is not None and version in chosen:
            run.append(version)
            continue
        if run:
            low, high = run[0], run[-1]
            parts = []
            if low != ordered[0]:
                parts.append(f"python_version >= '{low}'")
            if high != ordered[-1]:
                parts.append(f"python_version <= '{high}'")
            if low == high and len(parts) == 2:
                parts = [f"python_version == '{low}'"]
            clauses.append(" and ".join(parts))
            run = []
    return " or ".join(f"({c})" if " and " in c and len(clauses) > 1 else c for c in clauses)


def marker_for(chosen: Sequence[Target], targets: Sequence[Target]) -> str:
    """A marker true on the ``chosen`` targets and false on the others (see module doc)."""
    platforms: dict[tuple[str, str], list[str]] = {}
    for target in targets:
        system, machine, python = _key(target)
        platforms.setdefault((system, machine), []).append(python)
    picked: dict[tuple[str, str], set[str]] = {}
    for target in chosen:
        system, machine, python = _key(target)
        picked.setdefault((system, machine), set()).add(python)
    # group platforms by their python clause, then describe each group's platforms
    groups: dict[str | None, list[tuple[str, str]]] = {}
    for plat, pythons in picked.items():
        groups.setdefault(_pythons(pythons, platforms[plat]), []).append(plat)
    terms = []
    for clause, plats in groups.items():
        where = "" if set(plats) == set(platforms) else _platforms(plats, platforms)
        parts = [p for p in (where, clause) if p]
        terms.append(" and ".join(f"({p})" if " or " in p else p for p in parts))
    if len(terms) > 1:
        terms = [f"({t})" if " and " in t or " or " in t else t for t in terms]
    return str(Marker(" or ".join(terms)))


def _platforms(plats: list[tuple[str, str]], known: Mapping[tuple[str, str], object]) -> str:
    clauses = []
    for system in sorted({s for s, _ in plats}):
        machines = sorted(m for s, m in plats if s == system)
        if set(machines) == {m for s, m in known if s == system}:
            clauses.append(f"sys_platform == '{system}'")
        else:
            for machine in machines:
                clauses.append(
                    f"sys_platform == '{system}' and platform_machine == '{machine}'"
                    if len(plats) == 1
                    else f"(sys_platform == '{system}' and platform_machine == '{machine}')"
                )
    return " or ".join(clauses)
