"""What the targets of a lock share: the requirements made of metadata, once a run."""

from __future__ import annotations

from packaging.requirements import Requirement

from safeinstall.resolve.candidates import Req


def test_a_requirement_is_made_into_reqs_once_and_shared() -> None:
    """get_dependencies runs per target and per round: the Reqs of one requirement (of
    metadata read once a run) are the same objects each time, so what is remembered by them
    (is_satisfied_by's answers) carries over."""
    req = Requirement("Pkg[b,A]>=1; python_version >= '3'")
    first = Req.from_requirement(req)
    again = Req.from_requirement(req)
    assert [r.key for r in first] == ["pkg", "pkg[a]", "pkg[b]"]
    assert all(x is y for x, y in zip(first, again, strict=True))
    assert first is not again  # the caller's own list
    assert [r.text for r in first] == [str(req)] * 3


def test_a_requirement_of_another_source_or_an_equal_one_gets_its_own_reqs() -> None:
    req = Requirement("pkg>=1")
    base = Req.from_requirement(req)
    other = Req.from_requirement(req, "requirements.in:3")
    assert other[0].source == "requirements.in:3" and base[0].source is None
    twin = Req.from_requirement(Requirement("pkg>=1"))
    assert twin[0] == base[0] and twin[0] is not base[0]  # equal, made for its own object
