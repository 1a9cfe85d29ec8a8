"""Versions that fail the same way are passed over by bisection, not read one at a time.

When a package's candidates are rejected one after another because each one requires of the
same dependency only releases on the same side of what the rest of the resolution admits of it
(each boto3 release needs the botocore released with it, newer than the one an old aiobotocore
pins), resolvelib reads the metadata of every release in between: ~900 for boto3. After
``STREAK`` such rejections in a row, ``Narrowing`` probes further down the candidates, doubling
the distance, and bisects between the last probe that would fail that way and the first that
would not. Only the probes' metadata is read (wheels only: no build code runs for a version that
is not tried); the versions passed over are never offered to the resolver.

This assumes that the bound moves one way with the version, as it does where such pins are
published release by release. Where it does not, the resolution still satisfies every
requirement, with an older version than stepping would have found. ``-vv`` names every stretch
passed over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from packaging.markers import Marker
from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall.errors import SafeinstallError
from safeinstall.index.distfile import DistFile
from safeinstall.resolve.candidates import Candidate, Req, Search

STREAK = 8  # rejections in a row, the same way, before the candidates are bisected
GALLOP_READS = 12  # probes whose metadata is read in parallel as the distance doubles
SECTIONS = 8  # a stretch is cut in this many, its probes read in parallel

# a rejected candidate, and the requirements of the dependency it conflicted on
Rejection = tuple[Candidate, Sequence[Req], Sequence[Req]]  # (candidate, its own, the others')


@dataclass(frozen=True, slots=True)
class Way:
    """How a candidate conflicted: it requires of ``key`` only releases newer than ``high``
    (``above``), or only older than ``low``, the bounds of what the rest admits."""

    key: str
    name: NormalizedName
    low: Version
    high: Version
    above: bool


class Narrowing:
    """The candidate order of one resolution, with the stretches that fail the same way passed
    over. ``requirements(candidate)``: its metadata's Requires-Dist (read, or raising);
    ``applies(marker, extra)``: a marker's answer on the target; ``admitted(name, reqs)``: the
    releases of ``name`` all ``reqs`` admit, newest first; ``finder.prefetch``: read files'
    metadata in the background; ``tell``: a line for ``-vv``."""

    def __init__(
        self,
        requirements: Callable[[Candidate], list[Requirement]],
        applies: Callable[[Marker | None, str], bool],
        admitted: Callable[[NormalizedName, Sequence[Req]], tuple[Version, ...]],
        finder: _Prefetcher,
        tell: Callable[[str], None],
    ) -> None:
        self._requirements = requirements
        self._applies = applies
        self._admitted = admitted
        self._finder = finder
        self._tell = tell
        self._last: Rejection | None = None

    def rejected(self, candidate: Candidate, own: Sequence[Req], others: Sequence[Req]) -> None:
        """resolvelib rejected ``candidate``: its requirements ``own`` on a dependency conflict
        with the ``others`` on it."""
        self._last = (candidate, own, others)

    def over(self, search: Search) -> Callable[[], Iterator[Candidate]]:
        """``search``'s candidates, in order, less the stretches bisected over."""

        def narrowed() -> Iterator[Candidate]:
            place, way, streak = 0, None, 0
            while place < len(search.versions):
                candidate = search.at(search.versions[place])
                place += 1
                if candidate is None:
                    continue  # refused by the policy or the target: never offered
                self._last = None
                yield candidate  # resumed: resolvelib wants the next one, this one failed
                failed = self._way(candidate)
                streak = streak + 1 if failed is not None and failed == way else 1
                way = failed
                if way is not None and streak >= STREAK:
                    low, place = place - 1, self._past(search, place - 1, way)
                    self._passed(candidate.name, search, low, place, way)
                    way, streak = None, 0

        return narrowed

    def _way(self, candidate: Candidate) -> Way | None:
        """How ``candidate`` was just rejected; None when it was not, or not by ranges apart."""
        last = self._last
        if last is None or last[0] is not candidate or not last[1] or not last[2]:
            return None
        _, own, others = last
        name = own[0].name
        rest = self._admitted(name, others)
        mine = self._admitted(name, own)
        if not rest or not mine:
            return None
        if mine[-1] > rest[0]:
            return Way(own[0].key, name, rest[-1], rest[0], above=True)
        if mine[0] < rest[-1]:
            return Way(own[0].key, name, rest[-1], rest[0], above=False)
        return None  # the ranges meet: the policy or another pin refused what they share

    def _same(self, candidate: Candidate, way: Way) -> bool:
        """Whether ``candidate``'s metadata asks of the dependency what fails ``way``."""
        if not _readable(candidate):
            return False
        try:
            requires = self._requirements(candidate)
        except SafeinstallError:
            return False  # the resolver meets the error if it gets to this version
        own = [
            r
            for req in requires
            if canonicalize_name(req.name) == way.name and self._applies(req.marker, "")
            for r in Req.from_requirement(req)
            if r.key == way.key
        ]
        mine = self._admitted(way.name, own) if own else ()
        if not mine:
            return False
        return mine[-1] > way.high if way.above else mine[0] < way.low

    def _past(self, search: Search, low: int, way: Way) -> int:
        """The place of the first candidate after ``low`` (which failed ``way``) that does not
        fail it: the distance doubles while probes fail it, then the stretch is cut in
        ``SECTIONS`` until it is found. A probe on a version refused before its metadata is
        read (yanked, no file for the target) reads the next candidate instead. Versions
        between probes are not judged, and the probes of each step are read at once."""
        end = len(search.versions)

        def fails(place: int, limit: int) -> bool:
            """Whether the first candidate from ``place`` on (before ``limit``, a place known
            not to fail ``way``, or the end) fails it: refused versions say nothing of the
            bound, and no candidate left is the end of the stretch."""
            for candidate in map(search.at, search.versions[place:limit]):
                if candidate is not None:
                    return self._same(candidate, way)
            return False

        doubling = [low + (2 << k) - 2 for k in range(1, GALLOP_READS + 1)]
        self._read(search, [place for place in doubling if place < end])
        first, step = low, 2
        while first + step < end and fails(first + step, end):
            first, step = first + step, step * 2
        high = min(first + step, end)  # does not fail it; ``end``: perhaps every one left does
        while high - first > 1:
            cuts = sorted({first + (high - first) * i // SECTIONS for i in range(1, SECTIONS)})
            self._read(search, cuts)
            for cut in (c for c in cuts if c > first):
                if not fails(cut, high):
                    high = cut
                    break
                first = cut
        return high

    def _read(self, search: Search, places: Sequence[int]) -> None:
        """Read the metadata of the candidates at ``places`` in the background."""
        found = [search.at(search.versions[place]) for place in places]
        files = [c.files[0] for c in found if c is not None and _readable(c)]
        self._finder.prefetch(files, lambda metadata: None)

    def _passed(self, name: str, search: Search, low: int, high: int, way: Way) -> None:
        if high - low > 1:
            side = f"newer than {way.high}" if way.above else f"older than {way.low}"
            self._tell(
                f"  pass over {name} {search.versions[high - 1]} to {search.versions[low + 1]} "
                f"({high - low - 1} versions): like the {STREAK} before, they need {way.key} "
                f"{side}"
            )


def _readable(candidate: Candidate) -> bool:
    """Whether a probe may read ``candidate``'s metadata: a wheel's (an sdist is built to be
    read, and no build code runs for a version the resolver does not try)."""
    return candidate.extra is None and candidate.files[0].kind == "wheel"


class _Prefetcher(Protocol):  # the part of resolver.Finder used here
    def prefetch(self, files: Sequence[DistFile], then: Callable[[Metadata], None]) -> None: ...
