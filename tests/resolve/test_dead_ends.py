"""A package with no file usable on one target: the lock stops at once and says which and why.

A 154-package lock for linux and windows backtracked for 17 minutes, silently, because one
transitive package had linux wheels only: every older version of each of its dependents was
tried in turn, each read over the network, before the resolver gave up with a list of conflicts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from safeinstall.errors import ResolutionError
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.resolver import MAX_ROUNDS, Resolution, resolve
from safeinstall.targets import Target, target_for
from tests.support.fakeindex import NOW, FakeFinder
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project

LINUX = 'python_version == "3.12" and sys_platform == "linux" and platform_machine == "x86_64"'
WINDOWS = 'python_version == "3.12" and sys_platform == "win32" and platform_machine == "AMD64"'
MANYLINUX = "cp312-cp312-manylinux_2_17_x86_64"
WIN = target_for("3.12", "windows")
LINUX_312 = target_for("3.12", "linux")


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    return demo_project(tmp_path, index_server, cli, monkeypatch)


def publish_chain(proj: LockProject, *, sdist: bool = False) -> None:
    """app (12 versions) -> mid (12 versions) -> native, which has linux wheels only."""
    for minor in range(12):
        proj.publish("app", f"1.{minor}", requires_dist=["mid"])
        proj.publish("mid", f"1.{minor}", requires_dist=["native>=1"])
    for version in ("1.0", "2.0"):
        proj.publish("native", version, tag=MANYLINUX)
    if sdist:
        proj.publish("native", "2.0", sdist=True)
    (proj.root / "requirements.in").write_text("app\n")
    proj.write_policy(f"environments = [{LINUX!r}, {WINDOWS!r}]")


def test_a_transitive_package_without_a_windows_file_is_named_with_its_target(
    proj: LockProject,
) -> None:
    publish_chain(proj)
    before = proj.snapshot()
    started = time.monotonic()
    result = proj.lock()
    took = time.monotonic() - started
    proj.assert_failed_safely(result, before)
    error, hint = result.err.strip().splitlines()[-2:]
    assert error.startswith(
        "error: native has no file usable on cp3.12-windows-amd64 in any release"
    ), error
    assert "no wheel for cp3.12-windows-amd64" in error
    assert "mid 1.11 <- app 1.11 <- requirements.in:1" in error
    assert hint.startswith("hint: drop the target"), hint
    assert "pin a version of mid that does not need it" in hint
    assert 'if native publishes an sdist, let the policy build it (sdists = ["native"])' in hint
    assert took < 10
    # without backtracking: one version of mid and of app was read, not all twelve
    reads = [r.path for r in proj.server.requests if r.path.endswith(".metadata")]
    assert sum("/mid-" in p for p in reads) == 1, reads


# --- the resolver alone, over an in-memory index ---------------------------------------------


def roots(*reqs: str) -> list[Root]:
    return [Root(Requirement(r), f"requirements.in:{i}") for i, r in enumerate(reqs, 1)]


def run(finder: FakeFinder, *reqs: str, target: Target = WIN, **kw: Any) -> Resolution:
    return resolve(roots(*reqs), kw.pop("policy", Policy()), finder, target, now=NOW, **kw)


def test_a_top_level_package_without_a_file_for_the_target_suggests_a_marker() -> None:
    f = FakeFinder()
    f.add("native", "1.0", tags=[MANYLINUX])
    f.add("native", "1.1", tags=[MANYLINUX], sdist=True)
    with pytest.raises(ResolutionError) as exc:
        run(f, "native")
    assert exc.value.message == (
        "native has no file usable on cp3.12-windows-amd64 in any release (the newest, "
        "native 1.1: no wheel for cp3.12-windows-amd64, and building sdists is not allowed); "
        "requirements.in:1 needs it"
    )
    assert exc.value.hint is not None
    assert "give the requirement a marker that leaves this target out (native; ...)" in (
        exc.value.hint
    )


def test_no_release_for_the_targets_python_says_so_without_suggesting_sdists() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["modern"])
    f.add("modern", "1.0", requires_python=">=3.13")
    with pytest.raises(ResolutionError) as exc:
        run(f, "app", target=LINUX_312)
    assert "modern 1.0: requires Python>=3.13, the target has 3.12" in exc.value.message
    assert "app 1.0 <- requirements.in:1 needs it" in exc.value.message
    assert exc.value.hint == (
        "drop the target cp3.12-linux-x86_64 (the policy's environments, or --platform), "
        "or pin a version of app that does not need it"
    )


def test_a_package_with_only_an_sdist_first_suggests_letting_the_policy_build_it() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["plain"])
    f.add("plain", "1.0", tags=[], sdist=True)
    with pytest.raises(ResolutionError) as exc:
        run(f, "app")
    assert "plain 1.0: only an sdist, and the policy does not allow building it" in (
        exc.value.message
    )
    assert exc.value.hint is not None
    assert exc.value.hint.startswith('let the policy build its sdist (sdists = ["plain"]), drop')


def test_versions_wanted_without_a_file_for_the_target_are_named_in_one_sentence() -> None:
    # native 1.0 would do on windows, but mid wants >=2: only linux wheels there
    f = FakeFinder()
    f.add("mid", "1.0", ["native>=2"])
    f.add("native", "1.0")
    f.add("native", "2.0", tags=[MANYLINUX])
    assert [str(p.version) for p in run(f, "mid", target=LINUX_312).packages] == ["1.0", "2.0"]
    with pytest.raises(ResolutionError) as exc:
        run(f, "mid")
    assert exc.value.message == (
        "no version of native>=2 has a file usable on cp3.12-windows-amd64 (native 2.0: no "
        "wheel for cp3.12-windows-amd64, and building sdists is not allowed); "
        "mid 1.0 <- requirements.in:1 needs it"
    )


def test_an_older_version_without_the_linux_only_dependency_is_still_found() -> None:
    # the dead end is about every release of native: when some fit, backtracking goes on
    f = FakeFinder()
    f.add("mid", "1.0", ["native<2"])
    f.add("mid", "2.0", ["native>=2"])
    f.add("native", "1.0")
    f.add("native", "2.0", tags=[MANYLINUX])
    assert {p.name: str(p.version) for p in run(f, "mid").packages} == {
        "mid": "1.0",
        "native": "1.0",
    }


def pathological(finder: FakeFinder, *, tags: list[str]) -> None:
    """app needs left and right; every left wants shared < 50, every right shared >= 50:
    no solution, and 30 x 30 pairs to rule out one by one."""
    for i in range(30):
        finder.add("left", f"1.{i}", ["shared<50"])
        finder.add("right", f"1.{i}", ["shared>=50"])
    finder.add("app", "1.0", ["left", "right"])
    for i in range(0, 100, 10):
        finder.add("shared", str(i), tags=tags)


def test_a_pathological_search_stops_at_the_round_limit_and_names_the_package() -> None:
    f = FakeFinder()
    pathological(f, tags=["py3-none-any"])
    started = time.monotonic()
    with pytest.raises(ResolutionError) as exc:
        run(f, "app", max_rounds=40)
    assert time.monotonic() - started < 5
    assert exc.value.message == (
        "gave up on cp3.12-windows-amd64 after 40 rounds of backtracking, "
        "mostly over which version of shared to take"
    )
    assert exc.value.hint == "pin shared, or the packages that need it, to narrow the search"


def test_the_round_limit_names_the_package_with_no_file_for_the_target() -> None:
    f = FakeFinder()
    pathological(f, tags=[MANYLINUX])
    f.add("shared", "0.5")  # a universal wheel: so not a dead end from the start
    with pytest.raises(ResolutionError) as exc:
        run(f, "app", max_rounds=40)
    assert exc.value.message.startswith(
        "gave up on cp3.12-windows-amd64 after 40 rounds of backtracking: the versions of "
        "shared its dependents want have no file usable there (shared "
    )
    assert "no wheel for cp3.12-windows-amd64" in exc.value.message
    assert exc.value.hint is not None and "drop the target cp3.12-windows-amd64" in exc.value.hint


def test_the_default_round_limit_leaves_room_for_a_real_lock() -> None:
    assert 2_000 <= MAX_ROUNDS <= 20_000


# --- a project that publishes only prereleases -----------------------------------------------


def publish_prerelease_chain(proj: LockProject) -> None:
    """app (12 versions) -> mid (12 versions) -> exporter, which publishes prereleases only (as
    opentelemetry-exporter-prometheus does): the default policy takes no prerelease."""
    for minor in range(12):
        proj.publish("app", f"1.{minor}", requires_dist=["mid"])
        proj.publish("mid", f"1.{minor}", requires_dist=["exporter"])
    for version in ("0.65b1", "0.66b2"):
        proj.publish("exporter", version)
    (proj.root / "requirements.in").write_text("app\n")


def test_a_dependency_with_prereleases_only_stops_at_once_naming_the_policy_key(
    proj: LockProject,
) -> None:
    publish_prerelease_chain(proj)
    before = proj.snapshot()
    result = proj.lock()
    proj.assert_failed_safely(result, before)
    error, hint = result.err.strip().splitlines()[-2:]
    assert error.startswith("error: exporter has nothing but prereleases usable on "), error
    assert "the policy refuses its prereleases (the newest, exporter 0.66b2)" in error
    assert "mid 1.11 <- app 1.11 <- requirements.in:1" in error
    assert 'let the policy take its prereleases (prereleases = ["exporter"])' in hint, hint
    # without backtracking through every older mid and app
    reads = [r.path for r in proj.server.requests if r.path.endswith(".metadata")]
    assert sum("/mid-" in p for p in reads) == 1, reads


def test_prereleases_the_policy_allows_or_a_requirement_asks_for_are_taken() -> None:
    f = FakeFinder()
    f.add("exporter", "0.66b2", tags=[MANYLINUX])
    allowed = Policy(prereleases=("exporter",))
    for resolution in (
        run(f, "exporter", target=LINUX_312, policy=allowed),
        run(f, "exporter>=0.66b1", target=LINUX_312),
    ):
        assert [(p.name, str(p.version)) for p in resolution.packages] == [("exporter", "0.66b2")]
