"""The whole wheel against the metadata a lock was resolved from (PEP 658 files, ranged reads).

A mirror that adds a ``Requires-Dist`` to a PEP 658 file (or hides one) leaves the wheel's hash
intact: each test serves such metadata, or builds the lock a lying index would have produced,
and expects an IntegrityError naming both sources before anything is installed.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.errors import IntegrityError
from safeinstall.index.coremeta import cached_metadata
from safeinstall.index.fetch import Artifact, Store, fetch_all
from safeinstall.index.reconcile import reconcile_wheel, reconcile_wheels
from safeinstall.lock.model import LockedFile, LockedPackage
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.resolve.finder import open_finder
from safeinstall.targets import target_for
from tests.support.builders import build_wheel, file_sha256, read_core_metadata
from tests.support.indexserver import IndexServer
from tests.support.installdata import make_venv, snapshot
from tests.support.lockproject import LockProject, demo_project

LINUX = target_for("3.12", "linux").env()
EVIL = b"Requires-Dist: evil\n"


def package(name: str, version: str = "1.0", **kw: Any) -> LockedPackage:
    return LockedPackage(canonicalize_name(name), Version(version), (LockedFile("0" * 64),), **kw)


def check(wheel: Path, demo: LockedPackage, *others: LockedPackage) -> None:
    locked = {p.name: p for p in (demo, *others)}
    sha = file_sha256(wheel)
    reconcile_wheel(
        wheel, wheel.name, sha, cache=None, package=demo, locked=locked, environment=LINUX
    )


def lying(wheel: Path, extra: bytes = EVIL) -> bytes:
    """The wheel's real core metadata with ``extra`` header lines added."""
    real = read_core_metadata(wheel)
    assert real is not None
    head, _, body = real.partition(b"\n\n")
    return head + b"\n" + extra.rstrip(b"\n") + b"\n\n" + body


# -- against the lock (another machine: nothing cached) ---------------------------------------
def test_a_dependency_the_lock_records_but_the_wheel_never_names_is_refused(
    tmp_path: Path,
) -> None:
    wheel = build_wheel(tmp_path, "demo", "1.0", requires_dist=["dep>=1"])
    demo = package("demo", dependencies=("dep", "evil"))
    with pytest.raises(IntegrityError) as caught:
        check(wheel, demo, package("dep"), package("evil"))
    assert caught.value.message == (
        "the METADATA inside the wheel file demo-1.0-py3-none-any.whl differs from the metadata "
        "demo 1.0 was locked with: the lock records evil as its dependency, which its METADATA "
        "does not name"
    )
    assert "PEP 658" in (caught.value.hint or "")


def test_the_edges_of_a_requirements_txt_lock_come_from_its_via_comments(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "demo", "1.0", requires_dist=["dep>=1"])
    demo = package("demo", via=("requirements.in:1",))
    dep = package("dep", via=("demo",))
    check(wheel, demo, dep)
    with pytest.raises(IntegrityError, match="the lock records evil as its dependency"):
        check(wheel, demo, dep, package("evil", via=("demo", "dep")))


def test_a_dependency_the_wheel_needs_but_the_lock_lacks_is_refused(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "demo", "1.0", requires_dist=["dep>=1", "hidden"])
    with pytest.raises(IntegrityError, match="it requires hidden, which the lock does not install"):
        check(wheel, package("demo", dependencies=("dep",)), package("dep"))


def test_a_dependency_locked_outside_the_wheels_specifier_is_refused(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "demo", "1.0", requires_dist=["dep>=2"])
    with pytest.raises(IntegrityError, match=r"it requires dep>=2, but the lock pins dep 1\.0"):
        check(wheel, package("demo", dependencies=("dep",)), package("dep"))


def test_markers_extras_and_self_references_follow_the_environment(tmp_path: Path) -> None:
    requires = [
        "dep>=1",
        "winonly; sys_platform == 'win32'",
        "fast; extra == 'speed'",
        "demo[speed]; extra == 'all'",
    ]
    extras = [("Provides-Extra", "speed"), ("Provides-Extra", "all")]
    wheel = build_wheel(tmp_path, "demo", "1.0", requires_dist=requires, extra_metadata=extras)
    # locked for linux and windows with the extra: every recorded edge is named by the wheel
    demo = package("demo", dependencies=("dep", "fast", "winonly"))
    check(wheel, demo, package("dep"), package("fast"))


# -- against what this machine cached (the same machine that locked) ---------------------------
def policy_for(server: IndexServer) -> Policy:
    return Policy(indexes=(IndexSpec("a", server.index_url("a").rstrip("/")),))


def artifact_of(wheel: Path, server: IndexServer) -> Artifact:
    return Artifact(
        canonicalize_name("demo"),
        Version("1.0"),
        wheel.name,
        file_sha256(wheel),
        url=server.file_url("a", wheel.name),
        size=wheel.stat().st_size,
    )


def read_metadata(server: IndexServer, cache: Path) -> None:
    """Resolve-time read of demo's metadata through the real finder (fills the cache)."""
    with open_finder(policy_for(server), cache=cache) as finder:
        (file,) = finder.project(canonicalize_name("demo")).files
        finder.metadata(file)


@pytest.mark.parametrize("strip_sidecar", [False, True], ids=["pep658", "ranged"])
def test_fetch_all_refuses_a_wheel_whose_served_metadata_lied(
    strip_sidecar: bool, index_server: IndexServer, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path / "dists", "demo", "1.0", requires_dist=["live"])
    sha = file_sha256(wheel)
    if strip_sidecar:  # ranges answered from a wheel of the same size naming another dependency
        fake = build_wheel(tmp_path / "fake", "demo", "1.0", requires_dist=["evil"])
        assert fake.stat().st_size == wheel.stat().st_size
        index_server.add("a", wheel, metadata=False)
        index_server.misbehave("/a/files/*", ranges_from=fake.read_bytes())
    else:
        index_server.add("a", wheel, metadata=lying(wheel, b"Requires-Dist: evil\n"))
    cache = tmp_path / "cache"
    read_metadata(index_server, cache)
    assert cached_metadata(cache, sha) is not None
    index_server.behave()
    with open_finder(policy_for(index_server), cache=cache) as finder:
        assert finder.http is not None
        with pytest.raises(IntegrityError) as caught:
            fetch_all([artifact_of(wheel, index_server)], Store(cache), finder.http)
    assert caught.value.message == (
        "the metadata the index served for demo-1.0-py3-none-any.whl (its PEP 658 file or a "
        "ranged read, cached under its sha256) differs from the METADATA inside the wheel file "
        + (
            "(adds Requires-Dist evil; drops Requires-Dist live)"
            if strip_sidecar
            else "(adds Requires-Dist evil)"
        )
    )
    assert cached_metadata(cache, sha) is None  # the next lock reads the index again


def test_fetch_all_accepts_a_wheel_whose_served_metadata_was_true(
    index_server: IndexServer, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path / "dists", "demo", "1.0", requires_dist=["dep"])
    index_server.add("a", wheel)
    cache = tmp_path / "cache"
    read_metadata(index_server, cache)
    with open_finder(policy_for(index_server), cache=cache) as finder:
        assert finder.http is not None
        got = fetch_all([artifact_of(wheel, index_server)], Store(cache), finder.http)
    assert hashlib.sha256(got[file_sha256(wheel)].read_bytes()).hexdigest() == file_sha256(wheel)


def test_the_pipeline_entry_point_checks_every_wheel_against_the_lock(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "demo", "1.0")
    sha = file_sha256(wheel)
    artifact = Artifact(canonicalize_name("demo"), Version("1.0"), wheel.name, sha)
    demo = package("demo", dependencies=("evil",))
    with pytest.raises(IntegrityError, match="records evil"):
        reconcile_wheels([artifact], {sha: wheel}, [demo, package("evil")], LINUX)
    reconcile_wheels([artifact], {sha: wheel}, [package("demo")], LINUX)


# -- end to end: lock, download and install through the real CLI ------------------------------
@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    """demo 1.0 (needs dep>=1) and dep 1.0 on index "a"; demo's PEP 658 file adds evil."""
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    project.publish("evil", "1.0")
    return project


def serve_lying_demo(proj: LockProject) -> Path:
    """List a second index "b" whose demo metadata file adds ``evil``; lock against it."""
    wheel = proj.dists / "demo-1.0-py3-none-any.whl"
    proj.server.add("b", wheel, metadata=lying(wheel))
    for name in ("dep", "evil"):
        proj.server.add("b", proj.dists / f"{name}-1.0-py3-none-any.whl")
    proj.write_policy(indexes=[("mirror", proj.server.index_url("b"), "")])
    return wheel


def test_lock_fails_when_the_store_holds_the_wheel_its_metadata_file_lies_about(
    proj: LockProject, tmp_path: Path
) -> None:
    wheel = serve_lying_demo(proj)
    Store(tmp_path / "cache").add_file(wheel, file_sha256(wheel), wheel.name)
    before = proj.snapshot()
    result = proj.lock()
    proj.assert_failed_safely(result, before)
    assert "the metadata the index served for demo-1.0-py3-none-any.whl" in result.err
    assert "differs from the METADATA inside the wheel file (adds Requires-Dist evil)" in result.err


PYTHON = sys.executable  # download's target: no venv is active in the tests


def test_download_after_a_lock_from_a_lying_metadata_file_is_refused(
    proj: LockProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_lying_demo(proj)
    assert proj.lock().code == 0
    assert "evil==1.0" in (proj.root / "requirements.txt").read_text()
    dest = tmp_path / "wheelhouse"
    # a CI machine making a wheelhouse from a lock made elsewhere: only the lock can tell
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "ci-cache"))
    result = proj.run("download", "--policy", proj.policy_path, "-d", dest, "--python", PYTHON)
    assert result.code == 1, result.err
    assert "the lock records evil as its dependency" in result.err
    assert not dest.exists() or not list(dest.iterdir())
    # the machine that locked: its cache holds the lying bytes
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    result = proj.run("download", "--policy", proj.policy_path, "-d", dest, "--python", PYTHON)
    assert result.code == 1, result.err
    assert "(adds Requires-Dist evil)" in result.err
    assert not dest.exists() or not list(dest.iterdir())


@pytest.mark.slow
def test_install_of_a_lock_from_a_lying_metadata_file_is_refused_before_pip(
    proj: LockProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_lying_demo(proj)
    assert proj.lock("-o", "pylock.toml").code == 0
    assert proj.lock().code == 0
    python = make_venv(tmp_path / "venv")
    before = snapshot(python)
    # another machine: nothing cached, so only the lock can tell
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "elsewhere"))
    for lock in ("requirements.txt", "pylock.toml"):
        result = proj.run("install", "--policy", proj.policy_path, "-r", lock, "--python", python)
        assert result.code == 1, result.err
        assert "the METADATA inside the wheel file demo-1.0-py3-none-any.whl" in result.err
        assert "the lock records evil as its dependency" in result.err
        assert snapshot(python) == before
    # the machine that locked: its cache holds the lying bytes
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    args = ("install", "--policy", proj.policy_path, "-r", "requirements.txt", "--python", python)
    result = proj.run(*args)
    assert result.code == 1, result.err
    assert "(adds Requires-Dist evil)" in result.err
    assert snapshot(python) == before
