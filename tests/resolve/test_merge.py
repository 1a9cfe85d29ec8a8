from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.requirements import Requirement

from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.merge import marker_for, resolve_targets
from safeinstall.targets import targets_from_markers
from tests.support.fakeindex import NOW, FakeFinder

ALL = targets_from_markers(["python_version >= '3.11'"])  # 4 Pythons x 6 platforms


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, len(ALL) - 1), min_size=1, max_size=len(ALL) - 1))
def test_marker_is_true_exactly_on_the_chosen_targets(picked: set[int]) -> None:
    chosen = [ALL[i] for i in sorted(picked)]
    marker = Marker(marker_for(chosen, ALL))
    for target in ALL:
        assert marker.evaluate(target.env(), "lock_file") == (target in chosen), str(marker)


def test_marker_is_simplified() -> None:
    linux = [t for t in ALL if "linux" in t.name]
    assert marker_for(linux, ALL) == 'sys_platform == "linux"'
    newer = [t for t in ALL if t.name.startswith(("cp3.13", "cp3.14"))]
    assert marker_for(newer, ALL) == 'python_version >= "3.13"'
    one = [t for t in ALL if t.name == "cp3.12-windows-amd64"]
    assert marker_for(one, ALL) == (
        'sys_platform == "win32" and platform_machine == "AMD64" and python_version == "3.12"'
    )


def test_merge_marks_what_differs_between_targets() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["colorama; sys_platform == 'win32'", "lib"])
    f.add("colorama", "0.4")
    f.add("lib", "1.0", requires_python="<3.13")
    f.add("lib", "2.0", requires_python=">=3.13")
    targets = targets_from_markers(
        [
            "sys_platform == 'linux' and platform_machine == 'x86_64' and python_version >= '3.12'",
            "sys_platform == 'win32' and platform_machine == 'AMD64' and python_version == '3.12'",
        ]
    )
    res = resolve_targets([Root(Requirement("app"), "in:1")], Policy(), f, targets, now=NOW)
    got = {(p.name, str(p.version)): p.marker for p in res.packages}
    assert got == {
        ("app", "1.0"): None,
        ("colorama", "0.4"): 'sys_platform == "win32"',
        # windows is locked for 3.12 only, so lib 1.0 needs no python clause there
        ("lib", "1.0"): '(sys_platform == "linux" and python_version <= "3.12") '
        'or sys_platform == "win32"',
        ("lib", "2.0"): 'sys_platform == "linux" and python_version >= "3.13"',
    }
    assert len(res.targets) == 4
