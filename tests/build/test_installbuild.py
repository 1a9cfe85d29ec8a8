"""Install time: an allowed sdist is built from the lock's build set only (verified wheels, no
resolution, no fetching, pip never builds), offline too; the built wheel is cached by the
sdist's sha256 and the build set's digest, and a second build that gives other bytes is
reported. Real locks through the CLI, real pip installing into ``--target``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from safeinstall.lock.read import read_lock_file
from tests.build.buildsets import app_sdist, build_project, publish
from tests.support.builders import build_wheel, file_sha256
from tests.support.indexserver import IndexServer
from tests.support.lockproject import OLD, LockProject, demo_project
from tests.support.paths import WHEELHOUSE
from tests.support.pythons import other_python


@pytest.fixture
def argvs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv of every subprocess started."""
    started: list[list[str]] = []
    real = subprocess.Popen

    class Spy(real):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            started.append([str(a) for a in args])
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Spy)
    return started


def install(proj: LockProject, target: Path, *args: str, lock: str = "requirements.txt") -> Any:
    lock_path = proj.root / lock
    python = ("--python", sys.executable, "--target", str(target))
    return proj.run("install", "--policy", proj.policy_path, "-r", lock_path, *python, *args)


def without_content_digest(text: str) -> str:
    """A lock edited past its content digest: the digest line goes too, so the install reaches
    the layer under test (with it, install refuses the edit first: tests/commands/install)."""
    return "".join(line for line in text.splitlines(keepends=True) if "-content:" not in line)


def built_records(cache: Path) -> list[dict[str, str]]:
    return [json.loads(p.read_text()) for p in sorted(cache.glob("built-wheels/*/built.json"))]


# Each honest backend: its [build-system] requirement and backend, the wheels of its build set.
BACKENDS = {
    "flit_core": (("flit_core>=3.9,<5", "flit_core.buildapi"), ("flit_core",)),
    "setuptools": (("setuptools>=70.1", "setuptools.build_meta"), ("setuptools",)),
    "hatchling": (
        ("hatchling", "hatchling.build"),
        ("hatchling", "packaging", "pathspec", "pluggy", "tomlkit", "trove_classifiers"),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_an_honest_sdist_builds_offline_from_the_locked_build_set(  # noqa: PLR0917 - fixtures
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    argvs: list[list[str]],
    backend: str,
) -> None:
    """A real backend (flit_core, setuptools, hatchling: locked wheels); at install no index is
    reachable and the cache is empty: the build set comes from the lock and a wheelhouse
    `download` made, and pip only installs the built wheel."""
    system, wheels = BACKENDS[backend]
    found = [sorted(WHEELHOUSE.glob(f"{name}-*.whl")) for name in wheels]
    if not all(found):
        pytest.skip(f"no {backend} build set in the wheelhouse {WHEELHOUSE}: run .ci/run once")
    proj = demo_project(tmp_path, index_server, cli, monkeypatch)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "lock-cache"))
    for versions in found:
        index_server.add("a", versions[-1], upload_time=OLD)
    proj.publish("honest", "1.0", sdist=True, backend=system)
    (proj.root / "requirements.in").write_text("honest\n")
    proj.write_policy('sdists = ["honest"]')
    locked = proj.lock()
    assert locked.code == 0 and "pins no build environment" not in locked.err, locked.err
    [build] = read_lock_file(proj.root / "requirements.txt").builds
    assert sorted(p.name.replace("-", "_") for p in build.packages) == sorted(wheels)
    house = tmp_path / "house"
    lock = proj.root / "requirements.txt"
    got = proj.run(
        "download", "--policy", proj.policy_path, lock, "-d", house, "--python", sys.executable
    )
    assert got.code == 0, got.err
    assert all((house / versions[-1].name).is_file() for versions in found)  # the build set
    index_server.stop()
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    argvs.clear()
    result = install(proj, tmp_path / "t", "--offline", "--find-links", str(house))
    assert result.code == 0, result.err
    assert (tmp_path / "t" / "honest" / "__init__.py").is_file()
    assert (tmp_path / "t" / "honest-1.0.dist-info" / "RECORD").is_file()
    pips = [a for a in argvs if "install" in a]  # pip installs the built wheel, builds nothing
    assert pips and all("--only-binary" in a and "--no-build-isolation" not in a for a in pips)
    [record] = built_records(tmp_path / "cache")
    assert record["filename"].startswith("honest-1.0-") and record["filename"].endswith(".whl")


def test_a_lock_without_a_build_set_for_an_allowed_sdist_is_refused(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Made by an older safeinstall, or a lock whose build set could not be pinned: nothing is
    built, nothing installed, and the hint says to relock."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    assert proj.lock().code == 0
    lock = proj.root / "requirements.txt"
    text = lock.read_text()
    kept = text[: text.index("\n# The build environments")] + "\n"
    # as an older safeinstall wrote it: no build set, and no content digest to be edited against
    lock.write_text(without_content_digest(kept))
    result = install(proj, tmp_path / "t")
    assert result.code == 1, result.err
    assert (
        "error: the lock pins no build environment for app-1.0.tar.gz, and `install` builds an "
        "sdist only from one"
    ) in result.err
    assert "relock" in result.err
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())
    assert built_records(tmp_path / "cache") == []


def test_a_backend_asking_at_install_for_what_the_lock_does_not_pin_is_refused(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sdist on the index asks for nothing more when locked; the build set is then edited
    out of the backend's reach: at install it asks for helper, which is never fetched."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist("helper"))
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "h", "helper", "1.0"))
    assert proj.lock().code == 0
    lock = proj.root / "requirements.txt"
    lines = lock.read_text().splitlines()
    kept = "\n".join(ln for ln in lines if "build-requires: helper" not in ln) + "\n"
    lock.write_text(without_content_digest(kept))
    asked = len(index_server.requests)
    result = install(proj, tmp_path / "t")
    assert result.code == 1, result.err
    assert "building app-1.0.tar.gz needs helper, which the lock's build environment" in result.err
    assert not [r for r in index_server.requests[asked:] if "helper" in r.path]
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())


@pytest.mark.slow
def test_a_built_wheel_is_cached_and_a_second_build_with_other_bytes_is_reported(
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    argvs: list[list[str]],
) -> None:
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist(noise=True))
    assert proj.lock().code == 0
    first = install(proj, tmp_path / "t")
    assert first.code == 0, first.err
    assert "not reproducible" not in first.err
    [record] = built_records(tmp_path / "cache")
    argvs.clear()  # a second install builds nothing: the cached wheel matches its record
    cached = install(proj, tmp_path / "t1")
    assert cached.code == 0, cached.err
    assert not [a for a in argvs if any("get_requires_for_build_wheel" in x for x in a)]
    assert "not reproducible" not in cached.err
    place = next((tmp_path / "cache").glob("built-wheels/*/"))
    (place / record["filename"]).unlink()  # the cached wheel is gone: built again
    second = install(proj, tmp_path / "t2")
    assert second.code == 0, second.err
    assert "building app-1.0.tar.gz again with the same build set gave other bytes" in second.err
    assert "its build is not reproducible" in second.err
    assert built_records(tmp_path / "cache")[0]["sha256"] != record["sha256"]


@pytest.mark.slow
def test_a_build_is_a_phase_of_its_own_and_a_cached_wheel_builds_nothing(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SAFEINSTALL_TIMINGS (install/timings.py) counts the build as ``build``, not as the
    download or the inspection before it; a wheel from the cache is no build."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    assert proj.lock().code == 0
    timings = tmp_path / "timings.json"
    monkeypatch.setenv("SAFEINSTALL_TIMINGS", str(timings))
    assert install(proj, tmp_path / "t").code == 0
    phases = json.loads(timings.read_text())["phases"]
    assert "build" in phases and list(phases).index("build") > list(phases).index("inspect")
    assert install(proj, tmp_path / "t1").code == 0
    assert "build" not in json.loads(timings.read_text())["phases"]


def test_a_build_pin_edited_to_an_sdist_is_refused_not_built(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Build requirements come from wheels only, at install as at lock time: a build pin whose
    hash is edited to its sdist's (which the policy would let build) is refused."""
    sdists = 'sdists = ["app", "askreq"]'
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist(), extra=sdists)
    backend = proj.dists / "askreq-1.0.tar.gz"
    backend.write_bytes(app_sdist(name="askreq"))
    publish(index_server, proj.dists, "private", backend)
    assert proj.lock().code == 0
    lock = proj.root / "requirements.txt"
    wheel = file_sha256(proj.dists / "askreq-1.0-py3-none-any.whl")
    lock.write_text(without_content_digest(lock.read_text().replace(wheel, file_sha256(backend))))
    result = install(proj, tmp_path / "t")
    assert result.code == 1, result.err
    assert (
        "error: app-1.0.tar.gz would build with askreq-1.0.tar.gz, but build requirements are "
        "installed from wheels only"
    ) in result.err
    assert built_records(tmp_path / "cache") == []


def test_a_pylock_lock_builds_its_sdist_from_its_build_table(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pylock.toml's build set names each wheel by URL: fetched from there, as its packages."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    assert proj.lock("-o", "pylock.toml").code == 0
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "empty-cache"))  # fetch it all
    asked = len(index_server.requests_for("/private/files/askreq-1.0-py3-none-any.whl"))
    result = install(proj, tmp_path / "t", lock="pylock.toml")
    assert result.code == 0, result.err
    assert "BUILT_BY = 'askreq'" in (tmp_path / "t" / "app" / "__init__.py").read_text()
    assert len(index_server.requests_for("/private/files/askreq-1.0-py3-none-any.whl")) > asked


@pytest.mark.slow
def test_a_lock_for_another_python_builds_there_from_a_build_set_resolved_for_it(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locked here for the other Python, installed into it: the build set holds the helper it
    can install (not the one only this Python can), and a build requirement whose marker is
    false there is not asked of the lock (the marker is the target's, not this Python's)."""
    other = other_python()
    if other is None:
        pytest.skip("no interpreter of another Python version on this machine")
    python, version = other
    asks = f'helper only;python_version=="{sys.version_info.major}.{sys.version_info.minor}"'
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist(asks))
    here = f"cp{sys.version_info.major}{sys.version_info.minor}-none-any"
    publish(
        index_server,
        proj.dists,
        "private",
        build_wheel(proj.dists / "n", "helper", "2.0", tag=here),
    )
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "o", "helper", "1.0"))
    publish(index_server, proj.dists, "public", build_wheel(proj.dists, "only", "1.0", tag=here))
    assert proj.lock("--python-version", version).code == 0
    [build] = read_lock_file(proj.root / "requirements.txt").builds
    assert [(p.name, str(p.version)) for p in build.packages] == [
        ("askreq", "1.0"),
        ("helper", "1.0"),
    ]
    target = tmp_path / "t"
    lock = proj.root / "requirements.txt"
    result = proj.run(
        "install", "--policy", proj.policy_path, "-r", lock, "--python", python, "--target", target
    )
    assert result.code == 0, result.err
    assert "BUILT_BY = 'askreq'" in (target / "app" / "__init__.py").read_text()
