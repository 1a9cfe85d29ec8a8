"""``within``: the releases a specifier set admits, asking packaging only between its bounds."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from safeinstall.resolve import admitted
from safeinstall.resolve.admitted import contains, within


@dataclass(frozen=True)
class Spec:
    specifier: SpecifierSet
    spec_text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec_text", str(self.specifier))


# as written in real metadata and requirement files (bounds, exclusions, pins, wildcards,
# prereleases, post and local versions, epochs, arbitrary equality, one that cannot parse)
REAL = [
    ">=1.34.0,<2.0",
    "<3,>=2.8.1",
    "!=2.0.0,>=1.5",
    "==2.1.*",
    "~=1.4",
    "~=1.4.2",
    ">1.0",
    ">1.0.post1",
    "==1.0",
    "==1.0.0",
    "==1.0+local",
    ">=2.0.0rc1",
    "<2.0a1",
    "<2.0",
    "<2.0.post1",
    "<=1.5",
    ">=1!1.0",
    "<1!0",
    "===1.0",
    "===weird",
    ">=0.0.0",
    "!=1.*,<3,>=0.9",
    ">=1.0.dev0,<1.1",
    "<1.0.0,>0.5rc1,!=0.7",
    ">=1.0,<=2.0.post3,!=1.5.*",
    "",
]

TRICKY = [
    "0.1",
    "0.5",
    "0.5rc1",
    "0.7",
    "0.9",
    "1.0.dev0",
    "1.0a1",
    "1.0rc2",
    "1.0",
    "1.0+local",
    "1.0+other.1",
    "1.0.0",
    "1.0.post1",
    "1.0.post1.dev2",
    "1.0.post2",
    "1.1.dev1",
    "1.4",
    "1.4.2",
    "1.4.5",
    "1.5",
    "1.5.1",
    "1.9+loc",
    "2.0.dev0",
    "2.0a1",
    "2.0a1.post1",
    "2.0b2",
    "2.0rc1",
    "2.0",
    "2.0+loc",
    "2.0.post1",
    "2.0.post3",
    "2.0.post4",
    "2.1.3",
    "2.8.1",
    "2.9",
    "3.0",
    "3.0a1",
    "1.34.0",
    "1.35.2",
    "1!0.5",
    "1!1.0",
    "1!2.0rc1",
]

versions = st.builds(
    lambda epoch, release, pre, post, dev, local: Version(
        f"{epoch}!{'.'.join(map(str, release))}{pre}{post}{dev}{local}"
    ),
    st.sampled_from([0, 0, 0, 1]),
    st.lists(st.integers(0, 3), min_size=1, max_size=3),
    st.sampled_from(["", "", "a1", "b2", "rc1"]),
    st.sampled_from(["", "", ".post1", ".post2"]),
    st.sampled_from(["", "", ".dev0"]),
    st.sampled_from(["", "", "+local", "+loc.2"]),
)
specs = st.builds(
    lambda op, v: f"{op}{v}",
    st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "~=", "==="]),
    versions.filter(lambda v: v.local is None).map(str),
)


def packaging_says(spec: Spec, releases: tuple[Version, ...]) -> tuple[Version, ...]:
    return tuple(v for v in releases if spec.specifier.contains(v, prereleases=True))


def newest_first(items: list[Version]) -> tuple[Version, ...]:
    return tuple(sorted(set(items), reverse=True))


def test_within_admits_what_packaging_admits_on_real_specifiers() -> None:
    releases = newest_first([Version(v) for v in TRICKY])
    for text in REAL:
        spec = Spec(SpecifierSet(text))
        assert within(spec, releases) == packaging_says(spec, releases), text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(versions, max_size=40),
    st.lists(st.sampled_from(REAL[:-2]) | specs, min_size=1, max_size=3),
)
def test_within_admits_what_packaging_admits(found: list[Version], parts: list[str]) -> None:
    try:
        specifier = SpecifierSet(",".join(parts))
    except ValueError:  # e.g. ~= on a one-part version
        return
    releases = newest_first(found)
    spec = Spec(specifier)
    assert within(spec, releases) == packaging_says(spec, releases)


def test_within_asks_packaging_only_between_the_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    releases = newest_first([Version(f"1.{i}") for i in range(1000)])
    spec = Spec(SpecifierSet(">=1.990,<1.995"))
    asked: list[Version] = []

    def counting(req: Spec, version: Version) -> bool:
        asked.append(version)
        return contains(req, version)

    monkeypatch.setattr(admitted, "contains", counting)
    assert within(spec, releases) == tuple(Version(f"1.{i}") for i in range(994, 989, -1))
    assert len(asked) == 5


def test_no_specifier_admits_every_release_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    releases = newest_first([Version(v) for v in TRICKY])
    monkeypatch.setattr(admitted, "contains", lambda req, version: pytest.fail("asked"))
    assert within(Spec(SpecifierSet()), releases) == releases


def test_arbitrary_equality_is_answered_for_the_version_as_written() -> None:
    # 1 and 1.0 are equal (and hash alike), but ===1.0 admits only the one written 1.0: the
    # cached answer for one must not be given for the other (hypothesis found it)
    spec = Spec(SpecifierSet("===1.0"))
    assert contains(spec, Version("1.0"))
    assert not contains(spec, Version("1"))
    assert within(spec, (Version("1"),)) == ()
