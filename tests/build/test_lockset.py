"""Lock time: each sdist ``install`` would build gets its build set in the lock, resolved under
the policy (index bindings included) from what the sdist and its backend ask for."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from safeinstall.lock.read import read_lock_file
from tests.build.buildsets import app_sdist, askreq_wheel, build_project, publish
from tests.support.builders import build_wheel, file_sha256
from tests.support.indexserver import IndexServer


@pytest.mark.parametrize("output", ["requirements.txt", "pylock.toml"])
def test_the_lock_pins_what_an_allowed_sdist_builds_with(
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    output: str,
) -> None:
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    result = proj.lock("-o", output)
    assert result.code == 0, result.err
    assert "reading what app-1.0.tar.gz builds with" in result.err
    lock = read_lock_file(proj.root / output)
    [build] = lock.builds
    assert (build.name, str(build.version)) == ("app", "1.0")
    assert build.sdist == file_sha256(proj.dists / "app-1.0.tar.gz")
    [pin] = build.packages
    assert (pin.name, str(pin.version)) == ("askreq", "1.0")
    assert pin.hashes == (file_sha256(proj.dists / "askreq-1.0-py3-none-any.whl"),)
    assert [p.name for p in lock.packages] == ["app"]  # not a run-time package
    index_server.stop()
    assert proj.lock("-o", output, "--check").code == 0


def test_a_hand_edited_build_pin_makes_lock_check_fail(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    assert proj.lock().code == 0
    index_server.stop()
    path = proj.root / "requirements.txt"
    good = file_sha256(proj.dists / "askreq-1.0-py3-none-any.whl")
    path.write_text(
        path.read_text().replace(
            f"askreq==1.0 --hash=sha256:{good}", "askreq==1.0 --hash=sha256:" + "e" * 64
        )
    )
    result = proj.lock("--check")
    assert result.code == 1, result.err
    assert "requirements.txt: edited since safeinstall wrote it" in result.out


def test_a_backend_asking_for_a_higher_version_on_another_index_is_denied(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper is bound to the private index (1.0); the public one serves 2.0, which the backend
    asks for: no build set is locked (install then refuses, ``test_installbuild.py``), and the
    public index is never asked."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist("helper>=2"))
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "p", "helper", "1.0"))
    publish(index_server, proj.dists, "public", build_wheel(proj.dists / "q", "helper", "2.0"))
    result = proj.lock()
    assert result.code == 0, result.err
    assert (
        "warning: the lock pins no build environment for app-1.0.tar.gz, so `install` will "
        "refuse to build it: app-1.0.tar.gz cannot be built: no version of its build "
        "requirements is one the policy allows (helper (from the build requirements of "
        "app-1.0.tar.gz) wants >=2)"
    ) in result.err
    assert read_lock_file(proj.root / "requirements.txt").builds == ()
    assert [r.path for r in index_server.requests if r.path.startswith("/public/")] == []


def test_an_sdist_with_a_fitting_wheel_gets_no_build_set_and_runs_no_build_code(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "w", "app", "1.0"))
    result = proj.lock()
    assert result.code == 0, result.err
    assert "builds with" not in result.err
    assert read_lock_file(proj.root / "requirements.txt").builds == ()
    assert "askreq" not in (proj.root / "requirements.txt").read_text()


def test_a_build_requirement_named_by_a_malware_record_stops_the_lock(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """123bla 0.0.1 is MAL-2024-10238 (tests/data/osv-malicious): asked for by the backend, it
    is refused like a run-time package, before the lock is written."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist("123bla"))
    publish(index_server, proj.dists, "public", build_wheel(proj.dists / "m", "123bla", "0.0.1"))
    before = proj.snapshot()
    result = proj.lock()
    proj.assert_failed_safely(result, before)
    assert "123bla 0.0.1: MAL-2024-10238" in result.err


RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
OTHER = "3.13" if RUNNING == "3.12" else "3.12"


def helper_for_running_python_only(proj: Any, server: IndexServer, *, old: bool = True) -> None:
    """helper 2.0 has a wheel only for the Python running the lock (``cpXY-none-any``); helper
    1.0 (``old``) a pure one, for every Python."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}-none-any"
    publish(server, proj.dists, "private", build_wheel(proj.dists / "n", "helper", "2.0", tag=tag))
    if old:
        publish(server, proj.dists, "private", build_wheel(proj.dists / "o", "helper", "1.0"))


@pytest.mark.parametrize("pythons", [OTHER, f"{RUNNING},{OTHER}"])
def test_the_build_set_is_resolved_for_the_lock_targets_not_the_running_python(
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    pythons: str,
) -> None:
    """The backend asks for helper; the newest helper has no wheel for OTHER. The build set
    holds a version each target can install (one set for them all: helper 1.0)."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist("helper"))
    helper_for_running_python_only(proj, index_server)
    result = proj.lock("--python-version", pythons, "--platform", "linux")
    assert result.code == 0, result.err
    [build] = read_lock_file(proj.root / "requirements.txt").builds
    pins: dict[str, tuple[str, tuple[str, ...]]] = {
        p.name: (str(p.version), p.hashes) for p in build.packages
    }
    assert pins["helper"] == ("1.0", (file_sha256(proj.dists / "o/helper-1.0-py3-none-any.whl"),))
    assert set(pins) == {"askreq", "helper"}


def test_a_build_requirement_with_no_wheel_for_a_target_gets_no_build_set(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a wheel for the running Python: the lock for OTHER pins no build set, and says so
    (install then refuses to build, test_installbuild.py)."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist("helper"))
    helper_for_running_python_only(proj, index_server, old=False)
    result = proj.lock("--python-version", OTHER, "--platform", "linux")
    assert result.code == 0, result.err
    assert (
        "warning: the lock pins no build environment for app-1.0.tar.gz, so `install` will "
        "refuse to build it: "
    ) in result.err
    assert f"helper has no file usable on cp{OTHER}-linux-x86_64" in result.err
    assert read_lock_file(proj.root / "requirements.txt").builds == ()


def test_a_build_requirement_some_targets_cannot_install_gets_no_build_set(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One build set serves every target: a build requirement asked for on OTHER only, with a
    wheel for OTHER only, would leave the set unusable on the running Python's target."""
    asks = f'only;python_version=="{OTHER}"'
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist(asks))
    tag = f"cp{OTHER.replace('.', '')}-none-any"
    publish(index_server, proj.dists, "public", build_wheel(proj.dists, "only", "1.0", tag=tag))
    result = proj.lock("--python-version", f"{RUNNING},{OTHER}", "--platform", "linux")
    assert result.code == 0, result.err
    assert (
        f"app-1.0.tar.gz needs only 1.0 to build, which has no wheel for cp{RUNNING}-linux-x86_64, "
        "and a lock holds one build environment for every target"
    ) in result.err
    assert read_lock_file(proj.root / "requirements.txt").builds == ()


@pytest.mark.parametrize("output", ["requirements.txt", "pylock.toml"])
def test_a_relock_keeps_the_build_set_pins_unless_asked_to_upgrade_them(
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    output: str,
) -> None:
    """As for run-time pins: a newer askreq on the index leaves an unchanged relock
    byte-identical; ``--upgrade-package askreq`` takes it."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    assert proj.lock("-o", output).code == 0
    before = (proj.root / output).read_bytes()
    publish(index_server, proj.dists, "private", askreq_wheel(proj.dists / "new", "2.0"))
    again = proj.lock("-o", output)
    assert again.code == 0, again.err
    assert (proj.root / output).read_bytes() == before
    upgraded = proj.lock("-o", output, "--upgrade-package", "askreq")
    assert upgraded.code == 0, upgraded.err
    [build] = read_lock_file(proj.root / output).builds
    assert [(p.name, str(p.version)) for p in build.packages] == [("askreq", "2.0")]


def test_a_relock_keeps_each_sdists_own_build_pins(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """app builds with askreq 1.0, other (added later, asking for askreq>=2) with 2.0: a relock
    keeps both, each sdist preferring what it was pinned with."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    assert proj.lock().code == 0
    publish(index_server, proj.dists, "private", askreq_wheel(proj.dists / "new", "2.0"))
    (proj.dists / "other-1.0.tar.gz").write_bytes(app_sdist("askreq>=2", name="other"))
    publish(index_server, proj.dists, "public", proj.dists / "other-1.0.tar.gz")
    (proj.root / "requirements.in").write_text("app\nother\n")
    text = proj.policy_path.read_text().replace('sdists = ["app"]', 'sdists = ["app", "other"]')
    proj.policy_path.write_text(text)
    assert proj.lock().code == 0
    lock = proj.root / "requirements.txt"
    pins = {b.name: [str(p.version) for p in b.packages] for b in read_lock_file(lock).builds}
    assert pins == {"app": ["1.0"], "other": ["2.0"]}
    before = lock.read_bytes()
    again = proj.lock()
    assert again.code == 0, again.err
    assert lock.read_bytes() == before


def test_install_by_name_relocks_keeping_the_build_set_pins(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`install NAME` in a locked project relocks it with NAME added: like `lock`, the relock
    keeps the old build-set pins (askreq 1.0) although a newer askreq is on the index."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist())
    assert proj.lock().code == 0
    publish(index_server, proj.dists, "private", askreq_wheel(proj.dists / "new", "2.0"))
    publish(index_server, proj.dists, "private", build_wheel(proj.dists, "helper", "1.0"))
    target = ("--python", sys.executable, "--target", str(tmp_path / "t"))
    result = proj.run("install", "helper", "--policy", proj.policy_path, *target)
    assert result.code == 0, result.err
    lock = read_lock_file(proj.root / "requirements.txt")
    assert "helper" in {p.name for p in lock.packages}
    [build] = lock.builds
    assert [(p.name, str(p.version)) for p in build.packages] == [("askreq", "1.0")]


def test_a_relock_reuses_the_backend_s_answer_and_runs_no_build_code(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer of ``get_requires_for_build_wheel`` is kept under the sdist's sha256, the
    build environment and the interpreter: met again, no hook runs and the lock is the same."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist("helper"))
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "p", "helper", "1.0"))
    first = proj.lock("--upgrade")
    assert first.code == 0, first.err
    assert "reading what app-1.0.tar.gz builds with" in first.err
    locked = (proj.root / "requirements.txt").read_text()
    again = proj.lock("--upgrade")
    assert again.code == 0, again.err
    assert "builds with" not in again.err
    assert (proj.root / "requirements.txt").read_text() == locked
    [entry] = (tmp_path / "cache" / "build-requires").iterdir()
    assert b'["helper"]' in entry.read_bytes()


def test_an_sdist_built_for_its_metadata_runs_its_build_code_once_in_a_cold_lock(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building the metadata asks ``get_requires_for_build_wheel`` first, in the same
    environment the build set is read from: that answer is kept, and the build set uses it."""
    sdist = app_sdist("helper", dynamic=True)
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=sdist)
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "p", "helper", "1.0"))
    result = proj.lock("--upgrade")
    assert result.code == 0, result.err
    assert "building app-1.0.tar.gz to read its dependencies" in result.err
    assert "builds with, to pin it" not in result.err  # step 1 did not run a second time
    [build] = read_lock_file(proj.root / "requirements.txt").builds
    assert sorted(p.name for p in build.packages) == ["askreq", "helper"]
    [entry] = (tmp_path / "cache" / "build-requires").iterdir()
    assert b'["helper"]' in entry.read_bytes()


@pytest.mark.parametrize("forged", [b'{"helper": 1}', b'["helper", 7]', b"not json"])
def test_a_kept_answer_that_is_not_a_list_of_strings_is_asked_again(
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    forged: bytes,
) -> None:
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist("helper"))
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "p", "helper", "1.0"))
    assert proj.lock("--upgrade").code == 0
    [entry] = (tmp_path / "cache" / "build-requires").iterdir()
    header = entry.read_bytes().split(b"\n", 1)[0]
    digest = hashlib.sha256(forged).hexdigest()
    key = json.loads(header)["key"]
    entry.write_bytes(json.dumps({"key": key, "sha256": digest}).encode() + b"\n" + forged)
    again = proj.lock("--upgrade")
    assert again.code == 0, again.err
    assert "reading what app-1.0.tar.gz builds with" in again.err  # the hook ran again
    assert b'["helper"]' in entry.read_bytes()


def test_a_forged_answer_is_held_to_the_policy_as_the_backend_s_own(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever can write the cache can say what the backend asked for, no more: the answer is
    resolved under the policy, so a version only the attacker's index serves is never pinned."""
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=app_sdist("helper"))
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "p", "helper", "1.0"))
    publish(index_server, proj.dists, "public", build_wheel(proj.dists / "q", "helper", "2.0"))
    assert proj.lock("--upgrade").code == 0
    [entry] = (tmp_path / "cache" / "build-requires").iterdir()
    key = json.loads(entry.read_bytes().split(b"\n", 1)[0])["key"]
    forged = b'["helper>=2"]'
    digest = hashlib.sha256(forged).hexdigest()
    entry.write_bytes(json.dumps({"key": key, "sha256": digest}).encode() + b"\n" + forged)
    result = proj.lock("--upgrade")
    assert result.code == 0, result.err
    assert "builds with, to pin it" not in result.err  # the forged answer was used
    assert "helper (from the build requirements of app-1.0.tar.gz) wants >=2" in result.err
    assert read_lock_file(proj.root / "requirements.txt").builds == ()
    assert [r.path for r in index_server.requests if r.path.startswith("/public/")] == []
