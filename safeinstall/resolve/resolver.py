"""Resolution: pick one version of every package the requirements need, on one target.

A resolvelib provider over a ``Finder`` (the index client plus the metadata reader). The policy
is applied to every package, top-level or transitive: allow/deny, prereleases, yanked files,
``min-release-age`` and sdists. Only files usable on the target (wheel tags, requires-python)
make a version a candidate. ``merge.py`` combines the resolutions of several targets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from threading import Lock
from typing import TYPE_CHECKING, Protocol

from packaging.markers import Marker
from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, ResolutionImpossible, ResolutionTooDeep

from safeinstall.errors import IntegrityError, PolicyError, ResolutionError
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.policy.licenses import license_of
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.admitted import Admitted, contains
from safeinstall.resolve.candidates import Candidate, CandidateFilter, Req
from safeinstall.resolve.engine import resolver
from safeinstall.resolve.narrow import Narrowing
from safeinstall.resolve.reporter import PYTHON, DeadEnd, Reporter, dead_end, explain, too_deep
from safeinstall.targets import Target

if TYPE_CHECKING:
    from resolvelib.providers import Preference
    from resolvelib.structs import Matches, RequirementInformation

# resolvelib rounds (a round pins one package or backtracks once). A real lock of ~150 packages
# with its extras takes a few hundred, with the odd backtrack; beyond this the search is lost
# (pip's 200,000 let a lock backtrack silently for most of an hour).
MAX_ROUNDS = 5_000
# After this many versions of one package were tried, the metadata of the next AHEAD versions
# is fetched in the background: a conflict is being stepped through one version at a time.
STEPPING, AHEAD = 2, 16


# marker answers per target, by the ids of the marker (of metadata read once a run) and the
# target: a lock's targets are resolved again to agree (merge.py); each entry keeps both alive
_MARKERS: dict[tuple[int, int, str], tuple[Marker, Target, bool]] = {}


class Finder(Protocol):
    """Where projects and metadata come from (the index client and metadata reader in use)."""

    def project(self, name: NormalizedName) -> ProjectPage: ...
    def metadata(self, file: DistFile) -> Metadata: ...
    def prefetch(self, files: Sequence[DistFile], then: Callable[[Metadata], None]) -> None:
        """Read these files' metadata, in the background where possible, then ``then(it)``."""

    def prefetch_projects(
        self, names: Sequence[NormalizedName], then: Callable[[NormalizedName], None]
    ) -> None:
        """Fetch these pages, in the background where possible; call ``then(name)`` after each."""


@dataclass(frozen=True, slots=True)
class ResolvedPackage:
    name: NormalizedName
    version: Version
    files: tuple[DistFile, ...]  # usable on the target(s): wheels best first, the sdist last
    dependencies: tuple[NormalizedName, ...]
    via: tuple[str, ...]  # parent package names, or the sources of top-level requirements
    yanked: str | None = None  # the policy's reason for allowing a yanked version
    marker: str | None = None  # set by merge.py when the package is not needed everywhere
    license: str | None = None  # SPDX expression (licenses.license_of); None: unknown


@dataclass(frozen=True, slots=True)
class Resolution:
    packages: tuple[ResolvedPackage, ...]  # sorted by name, then version
    targets: tuple[Target, ...]
    # packages of which a version was refused for the target's Python (its metadata's
    # Requires-Python): what another target chose of them says nothing about its own choice
    held_by_python: frozenset[NormalizedName] = field(default=frozenset(), compare=False)


class _Provider(AbstractProvider[Req, Candidate, str]):
    def __init__(
        self, finder: Finder, candidates: CandidateFilter, tell: Callable[[str], None]
    ) -> None:
        self.finder = finder
        self.candidates = candidates
        self.target = candidates.target
        self._deps: dict[tuple[str, Version], tuple[Metadata, list[Requirement]]] = {}
        self._prefetching: set[tuple[NormalizedName, str | None, str]] = set()
        self._guard = Lock()
        # is_satisfied_by's answers by object identity (resolvelib asks the same pairs every
        # round, for every pinned package): per candidate, by the requirement's id; each entry
        # keeps both alive, so an id is never reused while it is here
        self._satisfied: dict[int, tuple[Candidate, dict[int, tuple[Req, bool]]]] = {}
        self._depth: dict[str, int] = {}  # identifier -> fewest links from a root
        self._tried: dict[str, int] = {}  # identifier -> versions whose dependencies were asked
        self._read_ahead: set[str] = set()  # URLs
        self.narrowing = Narrowing(
            lambda c: self._requirements(c)[1], self._applies, candidates.admitted, finder, tell
        )

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return requirement_or_candidate.key

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Candidate]],
    ) -> Iterable[str]:
        """The one identifier to pin next, most constrained first: the target's Python, then
        (after a conflict) the packages the conflict was about, then by ``_rank``."""
        names = list(identifiers)
        if PYTHON in names:
            return [PYTHON]
        causes = {c.requirement.key for c in backtrack_causes}
        causes.update(c.parent.key for c in backtrack_causes if c.parent is not None)
        names = [n for n in names if n in causes] or names
        return [min(names, key=lambda n: self._rank(n, information[n]))]

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Candidate]],
    ) -> Preference:
        conflicting = any(cause.requirement.key == identifier for cause in backtrack_causes)
        return (
            identifier != PYTHON,
            not conflicting,
            *self._rank(identifier, information[identifier]),
        )

    def _rank(
        self, identifier: str, information: Iterator[RequirementInformation[Req, Candidate]]
    ) -> tuple[bool, int, int, str]:
        """``==`` pins first, then the fewest releases left to choose from, then the nearest
        to the roots: a package with one possible version is pinned before the packages whose
        versions it rules out are tried, and a parent before what it may not need."""
        reqs = [info.requirement for info in information]
        pinned = any(r.pin for r in reqs)
        left = self.candidates.count(reqs[0].name, reqs) if reqs else None
        depth = self._depth.get(identifier, 1 << 20)
        return (not pinned, left if left is not None else 1 << 30, depth, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Matches[Candidate]:
        reqs = list(requirements[identifier])
        bad = {c.version for c in incompatibilities[identifier]}
        if identifier == PYTHON:
            python = self.target.python_version
            ok = all(contains(r, python) for r in reqs)
            return [Candidate(NormalizedName(PYTHON), python, None, ())] if ok else []
        name = reqs[0].name
        found = self.narrowing.over(self.candidates.matching(name, reqs[0].extra, reqs, bad))
        pre = any(r.prereleases for r in reqs)
        if self.candidates.policy.licenses is None:
            return partial(self._or_dead_end, name, pre, found)
        # the license is in the metadata: read it lazily, only for the versions tried
        return partial(
            self._or_dead_end,
            name,
            pre,
            lambda: (c for c in found() if not self._refused_license(c)),
        )

    def _or_dead_end(
        self, name: NormalizedName, asked_pre: bool, found: Callable[[], Iterator[Candidate]]
    ) -> Iterator[Candidate]:
        """``found()``; when it is empty because no release of ``name`` has a file for the
        target, DeadEnd: no other choice of versions helps, so the resolver must not spend the
        round limit trying every older version of each package that needs it."""
        empty = True
        for candidate in found():
            empty = False
            yield candidate
        if empty and (unavailable := self.candidates.unavailable(name, asked_pre=asked_pre)):
            raise DeadEnd(name, *unavailable)

    def _refused_license(self, candidate: Candidate) -> bool:
        metadata = self._requirements(candidate)[0]
        return self.candidates.refuses_license(candidate.name, candidate.version, metadata)

    def license(self, name: NormalizedName, version: Version) -> str | None:
        """The license of a chosen version (its metadata was read to get its dependencies)."""
        return license_of(self._deps[(name, version)][0])

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        known = self._satisfied.get(id(candidate))
        if known is None:
            known = self._satisfied[id(candidate)] = (candidate, {})
        answers = known[1]
        hit = answers.get(id(requirement))
        if hit is None:
            hit = answers[id(requirement)] = (requirement, contains(requirement, candidate.version))
        return hit[1]

    def _applies(self, marker: Marker | None, extra: str) -> bool:
        """``marker`` on this target with ``extra`` (True without a marker), evaluated once."""
        if marker is None:
            return True
        key = (id(marker), id(self.target), extra)
        hit = _MARKERS.get(key)
        if hit is None:
            if len(_MARKERS) > 1 << 17:
                _MARKERS.clear()
            answer = marker.evaluate(self.target.env(extra))
            hit = _MARKERS[key] = (marker, self.target, answer)
        return hit[2]

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        if candidate.name == PYTHON:
            return []
        tried = self._tried[candidate.key] = self._tried.get(candidate.key, 0) + 1
        if tried >= STEPPING:
            self._fetch_ahead(candidate)
        metadata, requires = self._requirements(candidate)
        parent = f"{candidate.name} {candidate.version}"
        out: list[Req] = []
        if candidate.extra is not None:
            pin = SpecifierSet(f"=={candidate.version}")
            out.append(Req(candidate.name, None, pin, f"{candidate.name}=={candidate.version}"))
        elif metadata.requires_python is not None:
            spec = metadata.requires_python
            python = Req(NormalizedName(PYTHON), None, spec, f"Python{spec}")
            # only one that excludes the target's Python: the one candidate of <python> meets
            # every other, and resolvelib would check each of them again at every round
            if not contains(python, self.target.python_version):
                out.append(python)
        extra = candidate.extra or ""
        for req in requires:
            if not self._applies(req.marker, extra):
                continue
            in_base = self._applies(req.marker, "")
            if candidate.extra is not None and in_base:
                continue  # the base candidate already depends on it
            if req.url:
                raise PolicyError(
                    f"{parent} depends on {req.name} through a direct URL ({req.name} @ ...)",
                    hint="only packages from trusted indexes can be locked; pin another version",
                )
            out.extend(Req.from_requirement(req))
        depth = self._depth.get(candidate.key, 0) + 1
        for r in out:
            if self._depth.get(r.key, depth) >= depth:
                self._depth[r.key] = depth
        self._prefetch(out)
        return out

    def _fetch_ahead(self, candidate: Candidate) -> None:
        """Read the metadata of the next versions in the background (``STEPPING``); wheels
        only: an sdist is built to be read, and no build code runs for a version not tried."""
        files = self.candidates.ahead(candidate.name, candidate.version, AHEAD)
        new = [f for f in files if f.kind == "wheel" and f.url not in self._read_ahead]
        if new:
            self._read_ahead.update(f.url for f in new)
            self.finder.prefetch(new, lambda metadata: None)

    def _requirements(self, candidate: Candidate) -> tuple[Metadata, list[Requirement]]:
        key = (candidate.name, candidate.version)
        if key not in self._deps:
            metadata = self.finder.metadata(candidate.files[0])
            if (canonicalize_name(metadata.name), metadata.version) != key:
                raise IntegrityError(
                    f"the metadata of {candidate.files[0].filename} names "
                    f"{metadata.name} {metadata.version}, not {candidate.name} {candidate.version}",
                    hint="the index serves inconsistent files; report it to the index operator",
                )
            self._deps[key] = (metadata, list(metadata.requires_dist or ()))
        return self._deps[key]

    def _prefetch(self, reqs: Iterable[Req]) -> None:
        """Walk ahead of the resolver, in the background: the pages of newly seen projects, the
        metadata of the version each requirement most likely gets, then the same for its
        dependencies (with the extras asked for), and so on. The resolver rarely strays from
        those versions, so by the time it asks, most of what it needs has arrived; the walk ends
        when no new requirement turns up."""
        with self._guard:
            new = []
            for r in reqs:
                key = (r.name, r.extra, r.spec_text)
                if r.name != PYTHON and key not in self._prefetching:
                    self._prefetching.add(key)
                    new.append(r)
        by_name: dict[NormalizedName, list[Req]] = {}
        for req in new:
            by_name.setdefault(req.name, []).append(req)
        if by_name:
            self.finder.prefetch_projects(list(by_name), partial(self._prefetch_likely, by_name))

    def _prefetch_likely(
        self, reqs: Mapping[NormalizedName, list[Req]], name: NormalizedName
    ) -> None:
        for req in reqs[name]:
            file = self.candidates.likely(req)
            if file is not None:
                self.finder.prefetch([file], partial(self._prefetch_dependencies, req.extra))

    def _prefetch_dependencies(self, extra: str | None, metadata: Metadata) -> None:
        self._prefetch(  # run on the fetch threads: the marker answers are shared
            r
            for req in metadata.requires_dist or ()
            if self._applies(req.marker, extra or "")
            for r in Req.from_requirement(req)
        )


def resolve(
    roots: Sequence[Root],
    policy: Policy,
    finder: Finder,
    target: Target,
    *,
    preferred: Mapping[NormalizedName, Version] | None = None,
    upgrade: bool | set[NormalizedName] = False,
    now: datetime | None = None,
    max_rounds: int = MAX_ROUNDS,
    admitted: Admitted | None = None,
    pinned: Callable[[Sequence[DistFile]], None] | None = None,
) -> Resolution:
    """Resolve ``roots`` for one target; ResolutionError explains a conflict, a package with no
    file for the target, or a search stopped after ``max_rounds`` (see ``reporter``). The lock's
    targets share ``admitted``; ``pinned`` is told the files of each release pinned."""
    if upgrade is True:
        preferred = {}
    elif upgrade:
        preferred = {k: v for k, v in (preferred or {}).items() if k not in upgrade}
    reporter = Reporter(target)
    now = now or datetime.now(UTC)
    preferred = preferred or {}
    candidates = CandidateFilter(
        finder, policy, target, preferred, now, refused=reporter.refused, admitted=admitted
    )
    provider = _Provider(finder, candidates, lambda line: reporter.live.say(line, 2))
    reporter.rejections = provider.narrowing.rejected
    reporter.pins = pinned or reporter.pins
    reqs = _root_requirements(roots, target)
    provider._depth.update((r.key, 0) for r in reqs)
    provider._prefetch(reqs)
    try:
        result = resolver(provider, reporter).resolve(reqs, max_rounds=max_rounds)
    except DeadEnd as end:
        raise dead_end(end, reporter) from None
    except ResolutionImpossible as exc:
        raise explain(list(exc.causes), reporter, candidates) from exc
    except ResolutionTooDeep as exc:
        raise too_deep(max_rounds, reporter, candidates) from exc
    held = frozenset(reporter.held_by_python)
    return Resolution(_packages(result, provider.license), (target,), held)


def _root_requirements(roots: Sequence[Root], target: Target) -> list[Req]:
    out: list[Req] = []
    for root in roots:
        req = root.requirement
        if req.marker is not None and not req.marker.evaluate(target.env("")):
            continue
        if req.url:
            raise ResolutionError(
                f"{root.source}: {req.name} is a direct URL reference, which the resolver "
                "cannot lock",
                hint="require it by name from a trusted index",
            )
        out.extend(Req.from_requirement(req, root.source))
    return out


def _packages(
    result: object, license: Callable[[NormalizedName, Version], str | None]
) -> tuple[ResolvedPackage, ...]:
    mapping: Mapping[str, Candidate] = result.mapping  # type: ignore[attr-defined]
    graph = result.graph  # type: ignore[attr-defined]
    criteria = result.criteria  # type: ignore[attr-defined]
    deps: dict[NormalizedName, set[NormalizedName]] = {}
    via: dict[NormalizedName, set[str]] = {}
    for key, cand in mapping.items():
        if cand.name == PYTHON:
            continue
        children = {mapping[k].name for k in graph.iter_children(key) if k in mapping}
        deps.setdefault(cand.name, set()).update(children - {cand.name, PYTHON})
        parents = via.setdefault(cand.name, set())
        for info in criteria[key].information:
            if info.parent is None:
                parents.add(info.requirement.source or "")
            elif info.parent.name != cand.name:
                parents.add(info.parent.name)
    out = []
    for cand in mapping.values():
        if cand.name == PYTHON or cand.extra is not None:
            continue
        out.append(
            ResolvedPackage(
                name=cand.name,
                version=cand.version,
                files=cand.files,
                dependencies=tuple(sorted(deps[cand.name])),
                via=tuple(sorted(via[cand.name] - {""})),
                yanked=cand.yanked,
                license=license(cand.name, cand.version),
            )
        )
    return tuple(sorted(out, key=lambda p: (p.name, p.version)))
