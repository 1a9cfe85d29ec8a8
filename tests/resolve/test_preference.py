"""Which package the resolver pins next, and what a lock's later targets reuse.

Most constrained first: a package with one possible version is pinned before the packages whose
versions it rules out are tried, so the search does not pin a version it must take back. A
lock for several targets resolves the first one, then offers its versions to the others first,
so a search that backtracked once does not backtrack again on every target.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.merge import resolve_each
from safeinstall.targets import target_for
from tests.resolve.test_dead_ends import LINUX, WINDOWS
from tests.support.fakeindex import NOW, FakeFinder
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    """aaa N needs bbb==N (N = 1..4); zzz needs bbb<2, which only aaa 1 allows."""
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    for n in range(1, 5):
        project.publish("aaa", f"{n}.0", requires_dist=[f"bbb=={n}.0"])
        project.publish("bbb", f"{n}.0")
    project.publish("zzz", "1.0", requires_dist=["bbb<2"])
    (project.root / "requirements.in").write_text("aaa\nzzz\n")
    return project


def rounds(stderr: str) -> dict[str, int]:
    """Target name -> rounds, from -v's ``resolved N packages for T in R rounds`` lines."""
    found = re.findall(r"^resolved \d+ packages for (\S+) in (\d+) rounds$", stderr, re.M)
    return {target: int(n) for target, n in found}


def pins(lock: Path) -> list[str]:
    return re.findall(r"^([a-z]+==[0-9.]+)", lock.read_text(), re.M)


def test_the_package_with_one_possible_version_is_pinned_first(proj: LockProject) -> None:
    # alphabetical order pins aaa 4.0 and bbb 4.0, meets zzz's bbb<2 and backtracks through
    # aaa 3.0 and 2.0 (13 rounds); zzz first leaves bbb one version, and then aaa one
    proj.write_policy(f"environments = [{LINUX!r}]")
    result = proj.lock("-v")
    assert result.code == 0, result.err
    assert pins(proj.root / "requirements.txt") == ["aaa==1.0", "bbb==1.0", "zzz==1.0"]
    assert rounds(result.err) == {"cp3.12-linux-x86_64": 4}  # zzz, bbb, aaa, done
    assert "pin aaa 4.0 (cp3.12-linux-x86_64)" not in result.err.splitlines()


def test_later_targets_start_from_the_versions_the_first_one_chose(proj: LockProject) -> None:
    # ccc, as many versions as aaa, hides the conflict one level down: the first target pins
    # aaa 4.0 and bbb 4.0 before it meets bbb<2 and backtracks; the second is offered
    # aaa 1.0 and bbb 1.0 first and pins straight through (without: 17 rounds too)
    (proj.root / "requirements.in").write_text("aaa\nccc\n")
    for n in range(1, 5):
        proj.publish("ccc", f"{n}.0", requires_dist=["zzz"])
    proj.write_policy(f"environments = [{LINUX!r}, {WINDOWS!r}]")
    result = proj.lock("-v")
    assert result.code == 0, result.err
    assert pins(proj.root / "requirements.txt") == [
        "aaa==1.0",
        "bbb==1.0",
        "ccc==4.0",
        "zzz==1.0",
    ]
    found = rounds(result.err)
    assert found["cp3.12-windows-amd64"] == 5  # aaa, bbb, ccc, zzz, done: no backtracking
    assert found["cp3.12-linux-x86_64"] > 5


def test_a_version_the_first_target_took_for_its_python_is_not_offered_to_the_others() -> None:
    # lib 2.0 needs Python 3.13, so 3.12 (resolved first) takes lib 1.0 and, through it,
    # dep 1.0: 3.13 still gets lib 2.0 and dep 2.0, while app (the same everywhere) is shared
    f = FakeFinder()
    f.add("app", "1.0", ["lib"])
    f.add("app", "2.0", ["lib"])
    f.add("lib", "1.0", ["dep<2"])
    f.add("lib", "2.0", ["dep"], requires_python=">=3.13")
    f.add("dep", "1.0")
    f.add("dep", "2.0")
    targets = [target_for("3.12", "linux"), target_for("3.13", "linux")]
    each = resolve_each([Root(Requirement("app"), "in:1")], Policy(), f, targets, now=NOW)
    assert [{p.name: str(p.version) for p in res.packages} for res in each] == [
        {"app": "2.0", "lib": "1.0", "dep": "1.0"},
        {"app": "2.0", "lib": "2.0", "dep": "2.0"},
    ]


def test_a_package_stepped_through_after_a_conflict_has_its_next_versions_read_ahead() -> None:
    # core==1 and util==1 leave client 1 as the one fit among 40: each older client is read
    # in turn (they fail for alternating reasons, so none is bisected over: narrow.py), so
    # their metadata is fetched in the background ahead of the resolver, not one at a time
    f = FakeFinder()
    f.add("pinned", "1.0", ["core==1", "util==1"])
    for n in range(1, 41):
        f.add("core", str(n))
        f.add("util", str(n))
        f.add("client", str(n), [f"core=={n}" if n % 2 else f"util=={n}"])
    resolution = resolve_each(
        [Root(Requirement(r), "in:1") for r in ("pinned==1.0", "client")],
        Policy(),
        f,
        [target_for("3.12", "linux")],
        now=NOW,
    )
    versions: dict[str, str] = {p.name: str(p.version) for p in resolution[0].packages}
    assert versions["client"] == "1"
    ahead = {str(file.version) for file in f.prefetched if file.project == "client"}
    assert len(ahead) >= 30


def test_no_sdist_is_read_ahead_since_reading_it_runs_its_build_code() -> None:
    f = FakeFinder()
    f.add("pinned", "1.0", ["core==1"])
    for n in range(1, 11):
        f.add("core", str(n))
        f.add("client", str(n), [f"core=={n}"], tags=[], sdist=True)
    resolve_each(
        [Root(Requirement(r), "in:1") for r in ("pinned==1.0", "client")],
        Policy(sdists=("client",)),
        f,
        [target_for("3.12", "linux")],
        now=NOW,
    )
    assert [file.version for file in f.prefetched if file.project == "client"] == [Version("10")]


def test_the_other_targets_wheels_of_the_first_target_s_versions_are_read_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # fast has a wheel per platform: the Windows target reads its own, and has it read by the
    # time its resolution starts; slow's Windows file is an sdist, which is never read ahead
    from safeinstall.resolve import merge, resolver

    f = FakeFinder()
    f.add("app", "1.0", ["fast", "slow"])
    f.add("fast", "2.0", tags=["cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-win_amd64"])
    f.add("slow", "3.0", tags=["cp312-cp312-manylinux_2_17_x86_64"], sdist=True)
    at_start: list[set[str]] = []
    real = resolver.resolve

    def resolving(*args: Any, **kwargs: Any) -> Any:
        at_start.append({file.filename for file in f.prefetched})
        return real(*args, **kwargs)

    monkeypatch.setattr(merge, "resolve", resolving)
    targets = [target_for("3.12", "linux"), target_for("3.12", "windows")]
    policy = Policy(sdists=("slow",))
    resolve_each([Root(Requirement("app"), "in:1")], policy, f, targets, now=NOW)
    assert "fast-2.0-cp312-cp312-win_amd64.whl" not in at_start[0]
    assert "fast-2.0-cp312-cp312-win_amd64.whl" in at_start[1]
    assert "slow-3.0.tar.gz" not in at_start[1]
