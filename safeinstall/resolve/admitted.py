"""Which releases of a project a set of version specifiers admits, worked out once per set.

The resolver asks again after every backtrack, and on every target of a lock: the answer depends
only on the project's page and the specifiers, so one ``Admitted`` serves all the targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.index.distfile import ProjectPage


class _Spec(Protocol):  # the part of candidates.Req used here
    @property
    def specifier(self) -> SpecifierSet: ...
    @property
    def spec_text(self) -> str: ...


_CONTAINS: dict[tuple[str, Version], bool] = {}


def contains(req: _Spec, version: Version) -> bool:
    """``req.specifier.contains(version)``, prereleases admitted (the policy decides on those).

    Cached by the specifier's text: the resolver asks the same question many times, on every
    target, and comparing SpecifierSet objects costs more than the answer.
    """
    key = (req.spec_text, version)
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


_Hit = tuple[ProjectPage, tuple[Version, ...]]  # the page filtered, the releases admitted


class Admitted:
    def __init__(self) -> None:
        self._hits: dict[tuple[NormalizedName, tuple[str, ...]], _Hit] = {}

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
            rest = [r for t, r in specs.items() if t != start]
            admitted = tuple(v for v in single[1] if all(contains(r, v) for r in rest))
            hit = self._hits[key] = (page, admitted)
        return hit[1]

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
            releases = tuple(v for v in releases if contains(specs[text], v))
        hit = self._hits[(name, (text,))] = (page, releases)
        return hit
