"""Which versions of a project may be chosen on a target, and why the others may not.

The policy decides per version: allow/deny, prereleases, ``min-release-age`` (counted per file:
a file uploaded inside the window, or with no upload time, is never pinned, even when the rest
of its release is old; a release left with no file counts as too new), yanked files (PEP 592:
only with an ``==`` pin and a reason in the policy), sdists and, once its metadata has been
read, the license (``licenses.allow``; an unknown license is refused when the list is set), and
the project's PEP 792 status on its index (``project-status``: denied, or allowed with a warning
through the finder's ``notify``). min-release-age does not hold for exempt packages and indexes
nor for a package locked with ``--allow-fresh``.
The target decides per file: wheel tags and requires-python. A version without a usable file
is not a candidate. Every refusal is recorded so that a conflict can say why a requirement had
nothing left.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall.errors import PolicyError
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.policy.licenses import allowed, license_of
from safeinstall.policy.model import Policy
from safeinstall.resolve.admitted import Admitted, contains, is_pin, preferred_first
from safeinstall.targets import Target, tag_ranks

SHOWN_EXCLUSIONS = 5
# whether a specifier (by its text) asks for prereleases: ``SpecifierSet.prereleases`` parses
# its versions at each ask, and the resolver asks at each search
_ASKS_PRE: dict[str, bool] = {}
PRERELEASE = "a prerelease (the policy allows none for this project)"


@dataclass(frozen=True, slots=True)
class Req:
    """One requirement as the resolver sees it: a name, at most one extra, a specifier."""

    name: NormalizedName
    extra: str | None
    specifier: SpecifierSet
    text: str  # as written, for messages
    source: str | None = None  # where a top-level requirement was written
    spec_text: str = field(init=False, compare=False)
    pin: bool = field(init=False, compare=False)  # ``is_pin(specifier)``, asked every round
    prereleases: bool = field(init=False, compare=False)  # the specifier asks for them

    def __post_init__(self) -> None:
        text = str(self.specifier)
        object.__setattr__(self, "spec_text", text)
        object.__setattr__(self, "pin", is_pin(self.specifier))
        pre = _ASKS_PRE.get(text)
        if pre is None:
            pre = _ASKS_PRE[text] = bool(self.specifier.prereleases)
        object.__setattr__(self, "prereleases", pre)

    @property
    def key(self) -> str:
        return self.name if self.extra is None else f"{self.name}[{self.extra}]"

    @staticmethod
    def from_requirement(req: Requirement, source: str | None = None) -> list[Req]:
        """``pkg[a,b]>=1`` -> ``pkg>=1``, ``pkg[a]>=1``, ``pkg[b]>=1``; made once a run for a
        requirement (of metadata read once), the same Reqs on every target and round."""
        hit = _FROM_REQ.get((id(req), source))
        if hit is None or hit[0] is not req:
            if len(_FROM_REQ) > 1 << 17:  # a process that locks again and again (tests)
                _FROM_REQ.clear()
            name, text = canonicalize_name(req.name), str(req)
            extras = [None, *sorted(canonicalize_name(e) for e in req.extras)]
            made = tuple(Req(name, extra, req.specifier, text, source) for extra in extras)
            hit = _FROM_REQ[(id(req), source)] = (req, made)  # keeps req alive: ids not reused
        return list(hit[1])


_FROM_REQ: dict[tuple[int, str | None], tuple[Requirement, tuple[Req, ...]]] = {}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A version of a project (or of one of its extras) with its usable files, best first."""

    name: NormalizedName
    version: Version
    extra: str | None
    files: tuple[DistFile, ...] = field(compare=False)
    yanked: str | None = field(default=None, compare=False)  # the policy's allowance

    @property
    def key(self) -> str:
        return self.name if self.extra is None else f"{self.name}[{self.extra}]"


@dataclass(frozen=True, slots=True)
class _Version:
    """What the listing says about one version, judged against the policy and the target."""

    version: Version
    files: tuple[DistFile, ...]  # usable, not yanked
    yanked_files: tuple[DistFile, ...]  # usable but yanked
    unusable: str | None  # why no file is usable, or why the policy refuses the version
    # min-release-age left no usable file: the earliest upload among them, None when untimed
    fresh: datetime | None = None
    untimed: bool = False  # ... and some had no upload time (the rule cannot be applied)
    no_file: bool = False  # ``unusable`` because no file fits the target (tags, requires-python)


def release_cutoff(policy: Policy, now: datetime) -> datetime | None:
    """The latest upload time ``policy``'s min-release-age lets a file have at ``now``; None
    when the policy sets no min-release-age."""
    return now - policy.min_release_age if policy.min_release_age else None


def old_enough(upload_time: datetime | None, cutoff: datetime | None) -> bool:
    """min-release-age, per file (the one rule: the resolver pins, and ``install`` installs,
    only such files): a file added to an old release is as new as its upload, and one whose
    upload time is unknown cannot be shown to be old."""
    if cutoff is None:
        return True
    return upload_time is not None and upload_time <= cutoff


class Search(NamedTuple):
    """The releases a search admits, most preferred first, and their judge (None: refused)."""

    versions: list[Version]
    at: Callable[[Version], Candidate | None]


class CandidateFilter:
    def __init__(
        self,
        finder: _PageSource,
        policy: Policy,
        target: Target,
        preferred: Mapping[NormalizedName, Version],
        now: datetime,
        *,
        refused: Callable[[NormalizedName, Version, str], None] = lambda name, version, why: None,
        admitted: Admitted | None = None,
    ) -> None:
        self.finder = finder
        # shared by the targets of one lock: the specifiers admit the same releases everywhere
        self._admitted = Admitted() if admitted is None else admitted
        self.refused = refused  # told each refusal (-vv shows them)
        self.policy = policy
        self.target = target
        self.preferred = preferred
        self.cutoff = release_cutoff(policy, now)
        self._ranks = tag_ranks(target)
        self._fits: dict[frozenset[Tag], bool] = {}
        self._pythons: dict[str, bool] = {}
        self._judgements: dict[tuple[NormalizedName, Version], _Version] = {}
        self._excluded: dict[NormalizedName, dict[Version, str]] = {}
        self._pages: dict[NormalizedName, ProjectPage] = {}
        self._license_refusals: dict[tuple[NormalizedName, Version], str | None] = {}
        # the last matching() order, and (once ``ahead`` asked) each version's place in it
        self._order: dict[NormalizedName, tuple[list[Version], dict[Version, int]]] = {}

    def matching(
        self,
        name: NormalizedName,
        extra: str | None,
        reqs: Sequence[Req],
        exclude: Collection[Version] = (),
    ) -> Search:
        """The candidates satisfying every requirement, most preferred first, judged lazily:
        the resolver usually takes the first, so older releases are never parsed."""
        allow_pre = self.policy.allows_prerelease(name) or any(r.prereleases for r in reqs)
        pins = {Version(s.version) for r in reqs if r.pin for s in r.specifier}
        versions = list(self.admitted(name, reqs))  # a copy in C: mostly, nothing is excluded
        versions = [v for v in versions if v not in exclude] if exclude else versions
        preferred_first(versions, self.preferred.get(name))  # otherwise newest first
        self._order[name] = (versions, {})
        # a search with no version to judge (conflicting specifiers) keeps the refusals of the
        # last one that judged some: the conflict messages explain with them
        excluded = self._excluded[name] = {} if versions else self._excluded.get(name, {})

        def candidate(v: Version) -> Candidate | None:
            entry = self._entry(name, v)
            why = entry.unusable or (PRERELEASE if v.is_prerelease and not allow_pre else None)
            why = why or self._too_new(name, entry) or self._license_refusals.get((name, v))
            if why is None and not entry.files:
                reason = self.policy.yanked_reason(name, v)
                if v in pins and reason:
                    return Candidate(name, v, extra, entry.yanked_files, reason)
                why = f"yanked ({entry.yanked_files[0].yanked or 'no reason given'})"
            if why is not None:
                excluded[v] = why
                self.refused(name, v, why)
                return None
            self._tell_status(name)
            return Candidate(name, v, extra, entry.files)

        return Search(versions, candidate)

    def admitted(self, name: NormalizedName, reqs: Iterable[Req]) -> tuple[Version, ...]:
        """The releases of ``name`` every one of ``reqs`` admits, newest first."""
        return self._admitted.admitted(name, self._page(name), reqs)

    def count(self, name: NormalizedName, reqs: Iterable[Req]) -> int | None:
        """How many releases ``reqs`` admit, once the resolver has searched them (else None)."""
        return self._admitted.count(name, reqs)

    def newest_usable(self, name: NormalizedName) -> Version | None:
        """The newest release of ``name`` with a file this target may use, whatever is asked
        for it (prereleases only where the policy allows them)."""
        pre = self.policy.allows_prerelease(name)
        for v in self._page(name).releases():
            if (pre or not v.is_prerelease) and self._entry(name, v).files:
                return v
        return None

    def ahead(self, name: NormalizedName, version: Version, count: int) -> list[DistFile]:
        """The files whose metadata the resolver reads if it goes on past ``version`` of
        ``name``: the best file of each of the next ``count`` candidates of the last search."""
        order, places = self._order.get(name) or ([], {})
        if order and not places:
            places.update((v, i) for i, v in reversed(list(enumerate(order))))
        if version not in places:
            return []
        start = places[version] + 1
        entries = (self._entry(name, v) for v in order[start : start + count])
        return [e.files[0] for e in entries if e.files]

    def refuses_license(self, name: NormalizedName, version: Version, metadata: Metadata) -> bool:
        """Whether ``licenses.allow`` refuses this version (recorded for conflict messages)."""
        if self.policy.licenses is None:
            return False
        key = (name, version)
        if key not in self._license_refusals:
            expression = license_of(metadata)
            why = None
            if expression is None:
                why = "its license is unknown, and the policy allows only listed licenses"
            elif not allowed(expression, self.policy.licenses):
                why = f"its license {expression} is not on the policy's licenses.allow list"
            self._license_refusals[key] = why
        why = self._license_refusals[key]
        if why is not None:
            self._excluded.setdefault(name, {})[version] = why
        return why is not None

    def exclusions(self, name: NormalizedName) -> list[str]:
        """Lines saying which versions the last search for ``name`` refused, and why."""
        excluded = self._excluded.get(name) or {}
        if not excluded:
            if name in self._pages and not self._pages[name].releases():
                return [f"{name}: the index lists no files for it"]
            return []
        items = sorted(excluded.items(), reverse=True)
        shown = [f"{name} {v}: {why}" for v, why in items[:SHOWN_EXCLUSIONS]]
        if len(items) > SHOWN_EXCLUSIONS:
            shown.append(f"{name}: and {len(items) - SHOWN_EXCLUSIONS} older versions refused")
        return shown

    def unavailable(
        self, name: NormalizedName, *, asked_pre: bool = False
    ) -> tuple[Version, str] | None:
        """When no release of ``name`` has a file usable on the target (wheel tags, sdists the
        policy may build, requires-python), or every one that has is a prerelease the policy
        refuses and no requirement asks for (``asked_pre``): its newest such release and why,
        else None. No other choice of versions can then make it installable on this target."""
        releases = self._page(name).releases()
        pre_ok = asked_pre or self.policy.allows_prerelease(name)
        prerelease = None
        # asked after each conflict that leaves ``name`` nothing: judge lazily, stop at a file
        for version in releases:
            if self._entry(name, version).no_file:
                continue
            if not version.is_prerelease or pre_ok:
                return None
            prerelease = prerelease or version
        if prerelease is not None:
            return prerelease, PRERELEASE
        if not releases:
            return None
        newest = self._entry(name, releases[0])
        return newest.version, newest.unusable or ""

    def no_file(self, name: NormalizedName) -> tuple[Version, str] | None:
        """The newest version the last search for ``name`` refused because no file of it is
        usable on the target, and why; None when none was refused for that."""
        for version, why in sorted((self._excluded.get(name) or {}).items(), reverse=True):
            entry = self._judgements.get((name, version))
            if entry is not None and entry.no_file:
                return version, why
        return None

    def likely(self, req: Req) -> DistFile | None:
        """The file whose metadata the resolver will most likely read to satisfy ``req``."""
        page = self._page(req.name)
        releases = self._admitted.likely_first(req.name, page, req, req.pin)
        preferred_first(releases, self.preferred.get(req.name))  # as matching() orders
        for version in releases:
            if version.is_prerelease or not contains(req, version):
                continue
            entry = self._entry(req.name, version)
            if entry.files and entry.unusable is None:
                return entry.files[0]
        return None

    def _page(self, name: NormalizedName) -> ProjectPage:
        # also called from prefetch threads: fetch outside any lock, first result wins
        page = self._pages.get(name)
        if page is None:
            page = self._pages.setdefault(name, self.finder.project(name))
        return page

    def _entry(self, name: NormalizedName, version: Version) -> _Version:
        """One release judged against the policy and the target, once."""
        entry = self._judgements.get((name, version))
        if entry is None:
            files = list(self._page(name).files_of(version))
            entry = self._judgements.setdefault((name, version), self._judge(name, version, files))
        return entry

    def _judge(self, name: NormalizedName, version: Version, files: list[DistFile]) -> _Version:
        if not self.policy.is_allowed(name, version):
            rule = self.policy.denied_by(name, version)
            refusal = f"denied by the policy ({rule.raw})" if rule else "not on the allow list"
            return _Version(version, (), (), refusal)
        page = self._page(name)
        if self.policy.status_action(page.status) == "deny":
            return _Version(version, (), (), f"{status_text(page)}, which the policy denies")
        usable = sorted((f for f in files if self._usable(f)), key=self._file_rank)
        if not usable:
            return _Version(version, (), (), self._no_file(name, files), no_file=True)
        held = {
            i: self.policy.cooldown_applies(name, i, version) for i in {f.index for f in usable}
        }
        old = [
            f for f in usable if old_enough(f.upload_time, self.cutoff if held[f.index] else None)
        ]
        if not old:
            times = [f.upload_time for f in usable if f.upload_time is not None]
            untimed = len(times) < len(usable)
            return _Version(version, (), (), None, min(times, default=None), untimed)
        good = tuple(f for f in old if f.yanked is None)
        yanked = tuple(f for f in old if f.yanked is not None)
        return _Version(version, good, yanked, None)

    def _tell_status(self, name: NormalizedName) -> None:
        """Warn, once a run, that a project the policy lets through has a status to know of."""
        page = self._page(name)
        if page.status != "active" and page.tell_once():
            notify = getattr(self.finder, "notify", None)  # the resolver's finders have one
            if notify is not None and self.policy.status_action(page.status) == "warn":
                notify(f"{status_text(page)} (the policy's project-status warns on it)")

    def _usable(self, file: DistFile) -> bool:
        if file.kind == "sdist":
            fits = self.policy.allows_sdist(file.project)
        elif file.tags in self._fits:  # tag sets are shared (distname.py): judge each once
            fits = self._fits[file.tags]
        else:
            fits = self._fits[file.tags] = any(tag in self._ranks for tag in file.tags)
        if not fits or file.requires_python is None:
            return fits
        python = str(file.requires_python)
        ok = self._pythons.get(python)
        if ok is None:
            target = self.target.python_version
            ok = self._pythons[python] = file.requires_python.contains(target, prereleases=True)
        return ok

    def _file_rank(self, file: DistFile) -> tuple[int, str]:
        if file.kind == "sdist":
            return (len(self._ranks), file.filename)
        return (min(self._ranks.get(t, len(self._ranks)) for t in file.tags), file.filename)

    def _no_file(self, name: NormalizedName, files: list[DistFile]) -> str:
        if not files:  # its entries all named another project
            return "the index lists no file of this project for it"
        python = self.target.python_version
        if all(f.requires_python and not f.requires_python.contains(python) for f in files):
            return f"requires Python{files[0].requires_python}, the target has {python}"
        if all(f.kind == "sdist" for f in files):
            return "only an sdist, and the policy does not allow building it"
        return f"no wheel for {self.target.name}" + (
            ", and building sdists is not allowed" if not self.policy.allows_sdist(name) else ""
        )

    def _too_new(self, name: NormalizedName, entry: _Version) -> str | None:
        if entry.files or entry.yanked_files:
            return None
        if entry.untimed:
            index = self._page(name).index
            raise PolicyError(
                f"cannot apply min-release-age to {name} {entry.version}: index {index!r} "
                "does not say when its files were uploaded",
                hint="use an index that serves upload times (PEP 700), exempt the index "
                f'(min-release-age = {{ age = "...", exempt-indexes = ["{index}"] }}), '
                "or set min-release-age to 0",
            )
        if entry.fresh is not None:
            return (
                f"uploaded {entry.fresh:%Y-%m-%d %H:%M} UTC, newer than the policy's "
                f"min-release-age of {self.policy.min_release_age}"
            )
        return None


def status_text(page: ProjectPage) -> str:
    """``index 'corp' marks demo quarantined: reason`` (the reason made printable by pages.py)."""
    why = f": {page.status_reason}" if page.status_reason else ""
    return f"index {page.index!r} marks {page.project} {page.status}{why}"


class _PageSource(Protocol):  # the part of resolve.Finder used here
    def project(self, name: NormalizedName) -> ProjectPage: ...
