"""What the resolver tells the user: live progress while it works, one sentence when it stops.

The ``Reporter`` receives resolvelib's callbacks. On a terminal it keeps one line up to date
(target, packages pinned, candidates tried, round, current package); with -v it prints each pin
and with -vv each refused or rejected candidate and why (``ui.live_status``: nothing of this
reaches captured, piped or JSON output). It remembers who asked for what, and which packages the
backtracking was about, so that a failure can name the package at fault, its target, and what
to do: ``dead_end`` (no release has a file for the target), ``too_deep`` (the round limit) and
``explain`` (no set of versions fits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib import BaseReporter

from safeinstall.errors import ResolutionError
from safeinstall.resolve.candidates import PRERELEASE, Candidate, CandidateFilter, Req
from safeinstall.targets import Target
from safeinstall.ui import live_status

if TYPE_CHECKING:
    from resolvelib.resolvers import Criterion
    from resolvelib.structs import RequirementInformation, State

    from safeinstall.index.distfile import DistFile

PYTHON = "<python>"


class DeadEnd(Exception):  # internal: resolve() turns it into a ResolutionError
    """Raised from find_matches: no release of ``name`` has a file usable on the target."""

    def __init__(self, name: NormalizedName, version: Version, why: str) -> None:
        super().__init__(name)
        self.name, self.version, self.why = name, version, why


class Reporter(BaseReporter[Req, Candidate, str]):
    """Remembers who first asked for each identifier (to explain who pulls a package in), counts
    what the resolver does, and shows it (see the module docstring)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.parents: dict[str, Candidate | None] = {}
        self.sources: dict[str, str] = {}
        self.last: tuple[Req, Candidate | None] | None = None  # the requirement added last
        self.conflicts: Counter[str] = Counter()  # identifier -> times it caused backtracking
        self.held_by_python: set[NormalizedName] = set()  # a version refused for the Python
        self.rounds = self.pinned = self.tried = 0
        self.current = ""
        self.live = live_status()
        self._told: set[tuple[str, Version]] = set()
        # told each rejection: the candidate, its requirements on the dependency it conflicted
        # on, and the others' (``narrow.Narrowing.rejected``)
        self.rejections: Callable[[Candidate, list[Req], list[Req]], None] = lambda c, o, r: None
        # told the files of each release pinned (``listing.Ahead.pinned``)
        self.pins: Callable[[Sequence[DistFile]], None] = lambda files: None

    def adding_requirement(self, requirement: Req, parent: Candidate | None) -> None:
        self.last = (requirement, parent)
        self.parents.setdefault(requirement.key, parent)
        if parent is None and requirement.source:
            self.sources.setdefault(requirement.key, requirement.source)

    def chain(self, parent: Candidate | None, source: str | None) -> str:
        links: list[str] = []
        seen: set[str] = set()
        while parent is not None and parent.key not in seen and len(links) < 8:
            seen.add(parent.key)
            links.append(f"{parent.name} {parent.version}")
            source = self.sources.get(parent.key, source)
            parent = self.parents.get(parent.key)
        if parent is None and source:
            links.append(source)
        return " <- ".join(links) or "the command line"

    # progress
    def starting(self) -> None:
        self._show(force=True)  # a new target: say so even if the last line was just written

    def starting_round(self, index: int) -> None:
        self.rounds = index + 1
        self._show()

    def ending_round(self, index: int, state: State[Req, Candidate, str]) -> None:
        self.pinned = sum(1 for key in state.mapping if key != PYTHON and "[" not in key)

    def ending(self, state: State[Req, Candidate, str]) -> None:
        self.ending_round(self.rounds, state)
        self._show(force=True)
        self.live.say(
            f"resolved {self.pinned} packages for {self.target.name} in {self.rounds} rounds"
        )
        self.live.clear()  # the result may follow on stdout, on the same terminal

    def pinning(self, candidate: Candidate) -> None:
        self.tried += 1
        if candidate.name != PYTHON and candidate.extra is None:
            self.current = f"{candidate.name} {candidate.version}"
            self.live.say(f"pin {self.current} ({self.target.name})")
            self.pins(candidate.files)

    def rejecting_candidate(
        self, criterion: Criterion[Req, Candidate], candidate: Candidate
    ) -> None:
        self.tried += 1
        if any(info.requirement.name == PYTHON for info in criterion.information):
            self.held_by_python.add(candidate.name)  # its Requires-Python, from its metadata
        else:
            own = [i.requirement for i in criterion.information if i.parent == candidate]
            others = [i.requirement for i in criterion.information if i.parent != candidate]
            self.rejections(candidate, own, others)
        if self.live.detail < 2:
            return
        wants = "; ".join(
            f"{info.requirement.text} (from {self.chain(info.parent, info.requirement.source)})"
            for info in list(criterion.information)[:3]
        )
        self.live.say(f"  reject {candidate.name} {candidate.version}: {wants}", 2)

    def resolving_conflicts(
        self, causes: Collection[RequirementInformation[Req, Candidate]]
    ) -> None:
        keys = sorted({cause.requirement.key for cause in causes})
        self.conflicts.update(keys)
        self.live.say(f"  backtrack over {', '.join(keys)} (round {self.rounds})", 2)

    def refused(self, name: NormalizedName, version: Version, why: str) -> None:
        """``CandidateFilter``'s refusals: a version with no usable file, denied, too new..."""
        if (name, version) not in self._told:
            self._told.add((name, version))
            self.live.say(f"  skip {name} {version}: {why}", 2)

    def _show(self, *, force: bool = False) -> None:
        self.live.update(
            f"resolving for {self.target.name}: {self.pinned} pinned, {self.tried} tried, "
            f"round {self.rounds}" + (f", {self.current}" if self.current else ""),
            force=force,
        )


def dead_end(
    end: DeadEnd, reporter: Reporter, cause: tuple[Req, Candidate | None] | None = None
) -> ResolutionError:
    """No file usable on the target: in any release of ``end.name`` (``cause`` None: the
    requirement added last asked for it), or in the versions ``cause`` wants."""
    target = reporter.target.name
    req, parent = cause or reporter.last or (None, None)
    who = reporter.chain(parent, req.source if req is not None else None)
    newest = f"{end.name} {end.version}: {end.why}"
    prerelease = end.why == PRERELEASE
    if prerelease:
        what = (
            f"{end.name} has nothing but prereleases usable on {target}, and the policy refuses "
            f"its prereleases (the newest, {end.name} {end.version})"
        )
    elif cause is None or req is None or not str(req.specifier):
        what = f"{end.name} has no file usable on {target} in any release (the newest, {newest})"
    else:
        what = f"no version of {end.name}{req.specifier} has a file usable on {target} ({newest})"
    message = f"{what}; {who} needs it"
    build = f'sdists = ["{end.name}"]'
    ways = (
        [f"let the policy build its sdist ({build})"] if end.why.startswith("only an sdist") else []
    )
    if prerelease:
        ways.append(f'let the policy take its prereleases (prereleases = ["{end.name}"])')
    else:
        ways.append(f"drop the target {target} (the policy's environments, or --platform)")
    if parent is not None:
        ways.append(f"pin a version of {parent.name} that does not need it")
    else:
        ways.append(f"give the requirement a marker that leaves this target out ({end.name}; ...)")
    if "sdists is not allowed" in end.why:  # the index listing left out any sdist
        ways.append(f"if {end.name} publishes an sdist, let the policy build it ({build})")
    hint = ", ".join(ways[:-1]) + ", or " + ways[-1]
    return ResolutionError(message, hint=hint)


def too_deep(rounds: int, reporter: Reporter, candidates: CandidateFilter) -> ResolutionError:
    """The round limit: name the package the backtracking was mostly about, and why."""
    target = reporter.target.name
    gave_up = f"gave up on {target} after {rounds} rounds of backtracking"
    if not reporter.conflicts:
        return ResolutionError(gave_up, hint="pin some of the packages to narrow the search")
    key = reporter.conflicts.most_common(1)[0][0]
    name = NormalizedName(key.split("[")[0])
    missing = candidates.no_file(name)
    if missing is not None:
        version, why = missing
        return ResolutionError(
            f"{gave_up}: the versions of {name} its dependents want have no file usable there "
            f"({name} {version}: {why})",
            hint=f"drop the target {target}, let the policy build {name}'s sdist, or pin "
            f"{name} or the packages that need it to versions with files for this target",
        )
    return ResolutionError(
        f"{gave_up}, mostly over which version of {name} to take",
        hint=f"pin {name}, or the packages that need it, to narrow the search",
    )


def explain(
    causes: Sequence[RequirementInformation[Req, Candidate]],
    reporter: Reporter,
    candidates: CandidateFilter,
) -> ResolutionError:
    """No set of versions fits: a package whose wanted versions have no file for the target
    (one sentence), else each requirement in the conflict with its origin, and the refusals."""
    target = reporter.target
    for req, parent in causes:
        missing = candidates.no_file(req.name) if req.name != PYTHON else None
        if missing is not None:
            end = DeadEnd(req.name, *missing)
            return dead_end(end, reporter, (req, parent))
    lines = [f"no set of versions satisfies the requirements on {target.name}:"]
    names: dict[str, None] = {}
    for req, parent in causes:
        who = reporter.chain(parent, req.source)
        if req.name == PYTHON:
            python = target.python_version
            lines.append(f"  the target has Python {python} but {who} needs Python{req.specifier}")
            continue
        spec = str(req.specifier) or "any version"
        lines.append(f"  {req.key} (from {who}) wants {spec}")
        names[req.name] = None
    for name in names:
        lines.extend(f"  {line}" for line in candidates.exclusions(NormalizedName(name)))
    return ResolutionError(
        "\n".join(dict.fromkeys(lines)),
        hint="loosen or change the requirements listed, or adjust the policy",
    )
