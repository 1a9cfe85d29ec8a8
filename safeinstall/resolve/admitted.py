"""Which releases of a project a set of version specifiers admits, worked out once per set.

The resolver asks again after every backtrack, and on every target of a lock: the answer depends
only on the project's page and the specifiers, so one ``Admitted`` serves all the targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import Protocol

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from safeinstall.index.distfile import ProjectPage


class _Spec(Protocol):  # the part of candidates.Req used here
    @property
    def specifier(self) -> SpecifierSet: ...
    @property
    def spec_text(self) -> str: ...


_CONTAINS: dict[tuple[str, Version | str], bool] = {}


def contains(req: _Spec, version: Version) -> bool:
    """``req.specifier.contains(version)``, prereleases admitted (the policy decides on those).

    Cached by the specifier's text: the resolver asks the same question many times, on every
    target, and comparing SpecifierSet objects costs more than the answer. ``===`` compares
    the version as written: 1 and 1.0 are equal Versions, but only one of them is ``===1.0``.
    """
    key = (req.spec_text, str(version) if "===" in req.spec_text else version)
    found = _CONTAINS.get(key)
    if found is None:
        if len(_CONTAINS) > 1 << 17:
            _CONTAINS.clear()
        found = _CONTAINS[key] = req.specifier.contains(version, prereleases=True)
    return found


def is_pin(specifier: SpecifierSet) -> bool:
    """True for exactly one ``==X`` (no wildcard) or ``===X`` specifier."""
    specs = list(specifier)
    return (
        len(specs) == 1
        and specs[0].operator in ("==", "===")
        and not specs[0].version.endswith(".*")
    )


def preferred_first(versions: list[Version], preferred: Version | None) -> None:
    """Move ``preferred`` (when listed) to the front of ``versions``, the rest in order."""
    if preferred is not None:
        with suppress(ValueError):
            versions.insert(0, versions.pop(versions.index(preferred)))


_Hit = tuple[ProjectPage, tuple[Version, ...]]  # the page filtered, the releases admitted
_Release = tuple[int, tuple[int, ...]]  # epoch, release without trailing zeros


class Admitted:
    def __init__(self) -> None:
        self._hits: dict[tuple[NormalizedName, tuple[str, ...]], _Hit] = {}
        self._by_release: dict[NormalizedName, tuple[ProjectPage, dict[_Release, list[Version]]]]
        self._by_release = {}

    def admitted(
        self, name: NormalizedName, page: ProjectPage, reqs: Iterable[_Spec]
    ) -> tuple[Version, ...]:
        """The releases on ``page`` every one of ``reqs`` admits, newest first. Each set of
        specifiers filters the page once, from the narrowest set one of them admitted before:
        a candidate of a package stepped through after a conflict only adds a specifier to
        filter the few releases already left."""
        specs = {r.spec_text: r for r in reqs}
        key = (name, tuple(sorted(specs)))
        hit = self._hits.get(key)
        if hit is None or hit[0] is not page:
            known = [(len(k[1]), t) for t in key[1] if (k := self._single(name, page, t))]
            start = min(known)[1] if known else key[1][0] if key[1] else ""
            single = self._single(name, page, start) or self._filter(name, page, start, specs)
            admitted = single[1]
            for text, req in specs.items():
                if text != start:
                    admitted = within(req, admitted)
            hit = self._hits[key] = (page, admitted)
        return hit[1]

    def pinned(self, name: NormalizedName, page: ProjectPage, pin: _Spec) -> list[Version]:
        """The releases on ``page`` that may match ``pin``'s one ``==``/``===`` specifier, newest
        first: those of its version's epoch and release (trailing zeros aside); ``contains`` has
        the last word. Stepping back through a package's releases asks for a new pin each step:
        this finds its releases without looking at the thousand others."""
        try:
            version = Version(next(iter(pin.specifier)).version)
        except InvalidVersion:  # === of a version that does not parse: look at them all
            return list(page.releases())
        known = self._by_release.get(name)
        if known is None or known[0] is not page:
            index: dict[_Release, list[Version]] = {}
            for v in page.releases():
                index.setdefault((v.epoch, _trimmed(v.release)), []).append(v)
            known = self._by_release[name] = (page, index)
        return list(known[1].get((version.epoch, _trimmed(version.release)), ()))

    def likely_first(
        self, name: NormalizedName, page: ProjectPage, req: _Spec, pin: bool
    ) -> list[Version]:
        """The releases on ``page`` that may satisfy ``req``, newest first, without looking at
        those it cannot admit: for a pin, ``pinned``; else the releases below its lowest ``<``
        bound (found by bisection). ``contains`` has the last word on each."""
        if pin:
            return self.pinned(name, page, req)
        releases = page.releases()
        bounds = [s.version for s in req.specifier if s.operator == "<"]
        start = 0
        with suppress(InvalidVersion):
            if bounds:
                start = _first_below(releases, min(Version(b) for b in bounds))
        return list(releases[start:])

    def count(self, name: NormalizedName, reqs: Iterable[_Spec]) -> int | None:
        """How many releases ``reqs`` admit, if ``admitted`` has been asked (else None)."""
        hit = self._hits.get((name, tuple(sorted({r.spec_text for r in reqs}))))
        return None if hit is None else len(hit[1])

    def _single(self, name: NormalizedName, page: ProjectPage, text: str) -> _Hit | None:
        hit = self._hits.get((name, (text,)))
        return hit if hit is not None and hit[0] is page else None

    def _filter(
        self, name: NormalizedName, page: ProjectPage, text: str, specs: Mapping[str, _Spec]
    ) -> _Hit:
        releases = page.releases()
        if text in specs:
            releases = within(specs[text], releases)
        hit = self._hits[(name, (text,))] = (page, releases)
        return hit


def within(req: _Spec, versions: tuple[Version, ...]) -> tuple[Version, ...]:
    """The ``versions`` (newest first) ``req`` admits: ``contains`` asked only of those between
    its bounds, found by bisection. A ``<Y`` admits only versions below Y; a ``>=X``, ``>X``
    or ``==X`` only versions at or above X (what they compare, the public version, is at most
    the version). Whatever else a specifier says (prereleases, locals, ``!=``) ``contains``
    judges; a bound that does not parse bounds nothing. No specifier admits them all."""
    if not req.spec_text:  # a requirement on the name alone: the most common one
        return versions
    start, end = 0, len(versions)
    for spec in req.specifier:
        if spec.operator not in ("<", ">=", ">", "==") or spec.version.endswith(".*"):
            continue
        try:
            bound = Version(spec.version)
        except InvalidVersion:
            continue
        if spec.operator == "<":
            start = max(start, _first_below(versions, bound))
        else:
            end = min(end, _first_below(versions, bound))
    return tuple(v for v in versions[start:end] if contains(req, v))


def _first_below(versions: tuple[Version, ...], bound: Version) -> int:
    """The index of the first of ``versions`` (newest first) below ``bound``."""
    low, high = 0, len(versions)
    while low < high:
        middle = (low + high) // 2
        if versions[middle] < bound:
            high = middle
        else:
            low = middle + 1
    return low


def _trimmed(release: tuple[int, ...]) -> tuple[int, ...]:
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return release[:end]
