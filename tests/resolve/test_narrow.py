"""Versions that fail the same way are bisected over instead of being read one at a time.

The case is boto3 under an old aiobotocore: every boto3 release needs the botocore released
with it, the pin allows one old botocore, and stepping back reads ~900 releases' metadata.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from safeinstall.errors import ResolutionError
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve import narrow
from safeinstall.resolve.narrow import GALLOP_READS, SECTIONS, STREAK
from safeinstall.resolve.resolver import AHEAD, Resolution, resolve
from safeinstall.targets import target_for
from tests.resolve.test_dead_ends import LINUX
from tests.support.fakeindex import NOW, FakeFinder
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project

# the versions a bisection of 600 reads at most: the streak, the read-ahead of the last ones
# stepped through, the doubling probes, and four rounds of cuts (8**3 < 600 <= 8**4)
FEW = STREAK + AHEAD + GALLOP_READS + 4 * (SECTIONS - 1)


def lock(finder: FakeFinder, *reqs: str, policy: Policy | None = None) -> Resolution:
    roots = [Root(Requirement(r), f"requirements.in:{i}") for i, r in enumerate(reqs, 1)]
    return resolve(roots, policy or Policy(), finder, target_for("3.12", "linux"), now=NOW)


def chosen(resolution: Resolution, name: str) -> str:
    return next(str(p.version) for p in resolution.packages if p.name == name)


def read(finder: FakeFinder, name: str) -> list[str]:
    return [str(version) for project, version in finder.metadata_read if project == name]


def releases_in_step(newest: int, needs: str) -> FakeFinder:
    """client N needs core at ``needs.format(n=N)``; pinned 1.0 needs core==5."""
    f = FakeFinder()
    f.add("pinned", "1.0", ["core==5"])
    for n in range(1, newest + 1):
        f.add("core", str(n))
        f.add("client", str(n), [needs.format(n=n)])
    return f


def test_versions_needing_a_newer_dependency_are_bisected_over() -> None:
    f = releases_in_step(600, "core>={n},<{n}.5")
    resolution = lock(f, "pinned==1.0", "client")
    assert chosen(resolution, "client") == "5"
    assert chosen(resolution, "core") == "5"
    # stepping reads 596 releases
    assert len(set(read(f, "client"))) <= FEW


def test_versions_needing_an_older_dependency_are_bisected_over() -> None:
    # newer clients need ever older cores: client N > 5 needs core==(601-N), older than the
    # 596 pinned needs; client 5, which needs core>=596, is the newest that fits
    f = FakeFinder()
    f.add("pinned", "1.0", ["core==596"])
    for n in range(1, 601):
        f.add("core", str(n))
    for n in range(1, 601):
        f.add("client", str(n), [f"core=={601 - n}" if n > 5 else "core>=596"])
    resolution = lock(f, "pinned==1.0", "client")
    assert chosen(resolution, "client") == "5"
    assert len(set(read(f, "client"))) <= FEW


def test_the_newest_release_that_fits_is_found_wherever_it_lies() -> None:
    for fits in (1, 2, 37, 64, 65, 499, 591, 592):
        f = FakeFinder()
        f.add("pinned", "1.0", [f"core=={fits}"])
        for n in range(1, 601):
            f.add("core", str(n))
            f.add("client", str(n), [f"core=={n}"])
        assert chosen(lock(f, "pinned==1.0", "client"), "client") == str(fits), fits


def test_versions_refused_before_their_metadata_is_read_are_passed_over_too() -> None:
    # every third client has no wheel for Linux, and every fifth is yanked: neither is ever
    # offered, whether a probe lands on it or not
    for fits in (7, 8, 100, 451):
        f = FakeFinder()
        f.add("pinned", "1.0", [f"core=={fits}"])
        for n in range(1, 601):
            f.add("core", str(n))
            tags = ["py3-none-win_amd64"] if n % 3 == 0 and n != fits else ["py3-none-any"]
            yanked = "broken" if n % 5 == 0 and n != fits else None
            f.add("client", str(n), [f"core=={n}"], tags=tags, yanked=yanked)
        resolution = lock(f, "pinned==1.0", "client")
        assert chosen(resolution, "client") == str(fits), fits
        assert len(set(read(f, "client"))) <= FEW


@pytest.mark.parametrize("seed", [*range(40), 110, 200, 220, 527])  # 110...: found bugs
def test_where_the_bound_moves_one_way_bisecting_finds_what_stepping_finds(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # random releases: the core each client needs never goes down as the client goes up, with
    # yanked and Windows-only releases anywhere; stepping one by one is the reference
    rng = random.Random(seed)
    f = FakeFinder()
    needs, core = {}, 1
    for n in range(1, rng.randint(20, 300)):
        core += rng.choice((0, 0, 1, 2))
        needs[n] = core
        tags = ["py3-none-win_amd64"] if rng.random() < 0.2 else ["py3-none-any"]
        yanked = "broken" if rng.random() < 0.1 else None
        f.add("client", str(n), [f"core=={core}"], tags=tags, yanked=yanked)
    for c in range(1, core + 2):
        f.add("core", str(c))
    f.add("pinned", "1.0", [f"core=={rng.randint(1, core + 1)}"])

    def outcome() -> str:
        try:
            return chosen(lock(f, "pinned==1.0", "client"), "client")
        except ResolutionError:
            return "no answer"

    bisected = outcome()
    monkeypatch.setattr(narrow, "STREAK", 1 << 30)
    assert bisected == outcome()


def test_when_every_older_release_fails_the_same_way_the_conflict_is_explained() -> None:
    f = releases_in_step(300, "core=={n}")
    f.add("core", "0.5")
    f.add("pinned", "2.0", ["core==0.5"])  # older than any client allows
    with pytest.raises(ResolutionError, match="client") as caught:
        lock(f, "pinned==2.0", "client")
    assert "core" in str(caught.value)
    assert len(set(read(f, "client"))) <= FEW


def test_rejections_for_different_reasons_are_stepped_through_one_by_one() -> None:
    # odd clients need a newer core, even ones a newer util: no two in a row fail the same way
    f = FakeFinder()
    f.add("pinned", "1.0", ["core==1", "util==1"])
    for n in range(1, 61):
        f.add("core", str(n))
        f.add("util", str(n))
        f.add("client", str(n), [f"core=={n}" if n % 2 else f"util=={n}"])
    resolution = lock(f, "pinned==1.0", "client")
    assert chosen(resolution, "client") == "1"
    assert set(read(f, "client")) == {str(n) for n in range(1, 61)}


def test_a_release_that_fails_another_way_inside_the_stretch_is_where_bisection_stops() -> None:
    # client 7 needs core 7, which pinned allows too (core>=5,<8): the probes must not pass it
    f = FakeFinder()
    f.add("pinned", "1.0", ["core>=5,<8"])
    for n in range(1, 301):
        f.add("core", str(n))
        f.add("client", str(n), [f"core=={n}"])
    assert chosen(lock(f, "pinned==1.0", "client"), "client") == "7"


def test_no_sdist_is_probed_since_reading_it_runs_its_build_code() -> None:
    f = FakeFinder()
    f.add("pinned", "1.0", ["core==1"])
    for n in range(1, 41):
        f.add("core", str(n))
        f.add("client", str(n), [f"core=={n}"], tags=[], sdist=True)
    resolution = lock(f, "pinned==1.0", "client", policy=Policy(sdists=("client",)))
    assert chosen(resolution, "client") == "1"
    # each sdist read is one the resolver tried, newest first: no probe built one out of turn
    assert list(dict.fromkeys(read(f, "client"))) == [str(n) for n in range(40, 0, -1)]


def test_a_probe_counts_only_the_requirements_whose_markers_hold_on_the_target() -> None:
    # clients above 30 need core==N here; those below need it on Windows only, so 30 fits
    f = FakeFinder()
    f.add("pinned", "1.0", ["core==1"])
    for n in range(1, 201):
        f.add("core", str(n))
        marker = "" if n > 30 else "; sys_platform == 'win32'"
        f.add("client", str(n), [f"core=={n}{marker}"])
    assert chosen(lock(f, "pinned==1.0", "client"), "client") == "30"


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    project.publish("pinned", "1.0", requires_dist=["core==1.0"])
    project.publish("pinned", "2.0", requires_dist=["core==8.0"])
    for n in range(1, STREAK + 8):
        project.publish("core", f"{n}.0")
        project.publish("client", f"{n}.0", requires_dist=[f"core=={n}.0"])
    (project.root / "requirements.in").write_text("pinned==1.0\nclient\n")
    project.write_policy(f"environments = [{LINUX!r}]")
    return project


def test_vv_names_the_versions_passed_over_and_why(proj: LockProject) -> None:
    result = proj.lock("-vv")
    assert result.code == 0, result.err
    assert "client==1.0" in (proj.root / "requirements.txt").read_text()
    newest = STREAK + 7
    passed = [line for line in result.err.splitlines() if "pass over" in line]
    assert passed == [
        f"  pass over client 2.0 to {newest - STREAK}.0 ({newest - STREAK - 1} versions): "
        f"like the {STREAK} before, they need core newer than 1.0"
    ]


def test_fewer_rejections_in_a_row_than_the_streak_are_each_tried(proj: LockProject) -> None:
    (proj.root / "requirements.in").write_text("pinned==2.0\nclient\n")
    result = proj.lock("-vv")
    assert result.code == 0, result.err
    assert "client==8.0" in (proj.root / "requirements.txt").read_text()
    rejected = [line for line in result.err.splitlines() if line.startswith("  reject client")]
    assert len(rejected) == STREAK - 1
    assert "pass over" not in result.err
