"""One rule for the target environment, and safeinstall never breaks its own environment.

`install`, `sync`, `verify` and `download` act on: --python, else $VIRTUAL_ENV, else the nearest
`.venv` up to the git root, else nothing (exit 2). The interpreter running safeinstall is never a
silent default: `sync` against it once removed safeinstall's own dependencies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.environment import probe as probe_module
from safeinstall.environment.probe import target_python
from safeinstall.errors import UsageError
from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import (
    locked,
    make_venv,
    pip_env,
    publish,
    snapshot,
    write_locks,
    write_policy,
)

Cli = Callable[..., Result]


def fake_venv(path: Path) -> Path:
    """A venv's shape: ``bin/python`` a link to an interpreter elsewhere, as `python -m venv`
    makes it."""
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").symlink_to(sys.executable)
    (path / "pyvenv.cfg").touch()
    return path / "bin" / "python"


# -- the rule, without starting an interpreter ------------------------------------------------
def test_python_given_wins(tmp_path: Path) -> None:
    active = fake_venv(tmp_path / "active")
    assert target_python("/x/python", {"VIRTUAL_ENV": str(active.parent.parent)}, tmp_path) == (
        "/x/python"
    )


def test_active_venv_beats_the_project_venv(tmp_path: Path) -> None:
    active = fake_venv(tmp_path / "active")
    fake_venv(tmp_path / "project" / ".venv")
    environ = {"VIRTUAL_ENV": str(active.parent.parent)}
    assert target_python(None, environ, tmp_path / "project") == str(active)


def test_an_active_venv_without_an_interpreter_is_refused(tmp_path: Path) -> None:
    fake_venv(tmp_path / "project" / ".venv")
    with pytest.raises(UsageError, match=r"VIRTUAL_ENV names .* no interpreter") as info:
        target_python(None, {"VIRTUAL_ENV": str(tmp_path / "gone")}, tmp_path / "project")
    assert "--python PATH" in (info.value.hint or "")


def test_nearest_project_venv_up_to_the_git_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    python = fake_venv(root / ".venv")
    deep = root / "src" / "pkg"
    deep.mkdir(parents=True)
    assert target_python(None, {}, deep) == str(python)
    nearer = fake_venv(root / "src" / ".venv")
    assert target_python(None, {}, deep) == str(nearer)


def test_a_project_venv_that_came_with_the_repository_is_not_run(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a pull (and the post-merge hook after it) or a pull request under review can bring a
    # .venv/bin/python of its own: a script, or a link to one in the repository
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    marker = tmp_path / "ran"
    script = root / "tools" / "python"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    (root / ".venv" / "bin").mkdir(parents=True)
    for interpreter in ("copy", "link"):
        target = root / ".venv" / "bin" / "python"
        target.unlink(missing_ok=True)
        if interpreter == "copy":
            target.write_bytes(script.read_bytes())
            target.chmod(0o755)
        else:
            target.symlink_to(script)
        with pytest.raises(UsageError, match="may have come with the repository"):
            target_python(None, {}, root)
        monkeypatch.chdir(root)
        monkeypatch.delenv("VIRTUAL_ENV", raising=False)
        (root / "requirements.txt").write_text("# safeinstall-digest: sha256:00\n")
        result = cli("verify", "requirements.txt")
        assert result.code == 2, result.err
        assert not marker.exists()


def test_no_venv_above_the_git_root(tmp_path: Path) -> None:
    fake_venv(tmp_path / ".venv")  # outside the repository: not this project's
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    with pytest.raises(UsageError, match="no target environment") as info:
        target_python(None, {}, root)
    assert "--python PATH" in (info.value.hint or "")


# -- the commands follow the rule -------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git project with a real `.venv`."""
    root = tmp_path_factory.mktemp("project")
    (root / ".git").mkdir()
    make_venv(root / ".venv")
    return root


@pytest.fixture
def empty_lock(tmp_path: Path, index_server: IndexServer) -> tuple[Path, Path]:
    """(policy, a lock pinning nothing): every command can run on it without the network."""
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    txt, _ = write_locks(tmp_path / "lock", [])
    return policy, txt


def targets_of(cli: Cli, policy: Path, lock: Path) -> dict[str, object]:
    """What verify, `sync --check` and `install --dry-run` each looked at."""
    verify = cli("verify", lock, "--allow-extra", "--format", "json")  # setuptools' .pth: 1
    check = cli("sync", "--policy", policy, lock, "--check", "--format", "json")
    dry = cli("install", "--policy", policy, "-r", lock, "--dry-run", "--format", "json")
    assert dry.code == 0, dry.err
    return {
        "verify": Path(json.loads(verify.out)["prefix"]).resolve(),
        "sync": Path(json.loads(check.out)["python"]),
        "install": Path(json.loads(dry.out)["python"]),
        "sync_removes": json.loads(check.out)["removed"],
    }


@pytest.mark.slow
def test_the_active_venv_not_the_running_interpreter(
    cli: Cli,
    project: Path,
    empty_lock: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIRTUAL_ENV", str(project / ".venv"))
    seen = targets_of(cli, *empty_lock)
    assert seen["verify"] == (project / ".venv").resolve()
    assert seen["sync"] == seen["install"] == project / ".venv" / "bin" / "python"
    names = {r["name"] for r in seen["sync_removes"]}  # type: ignore[attr-defined]
    assert not names & {"packaging", "resolvelib", "tomlkit", "urllib3"}


@pytest.mark.slow
def test_the_project_venv_when_none_is_active(
    cli: Cli, project: Path, empty_lock: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    (project / "src").mkdir(exist_ok=True)
    monkeypatch.chdir(project / "src")
    seen = targets_of(cli, *empty_lock)
    assert seen["verify"] == (project / ".venv").resolve()
    assert seen["sync"] == seen["install"] == project / ".venv" / "bin" / "python"


def test_no_environment_is_a_usage_error(
    cli: Cli, empty_lock: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy, lock = empty_lock
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    for argv in (
        ("verify", lock),
        ("sync", "--policy", policy, lock, "--check"),
        ("install", "--policy", policy, "-r", lock, "--dry-run"),
        ("download", "--policy", policy, lock, "-d", tmp_path / "wheels"),
    ):
        result = cli(*argv)
        assert result.code == 2, (argv, result.err)
        assert "--python" in result.err
    assert not (tmp_path / "wheels").exists()


# -- safeinstall's own environment ------------------------------------------------------------
@pytest.fixture
def ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A venv holding a distribution named `resolvelib`, seen as the one safeinstall runs from."""
    python = make_venv(tmp_path / "own")
    wheel = build_wheel(tmp_path / "dists", "resolvelib", "0.0.1")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        env=pip_env(),
    )
    monkeypatch.setattr(probe_module, "own_environment", lambda: tmp_path / "own")
    return python


@pytest.mark.slow
def test_sync_never_removes_its_own_dependencies(
    cli: Cli, ours: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    packages = publish(index_server, tmp_path / "pub", ["alpha-one"])
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    _, toml = write_locks(tmp_path / "lock", packages)
    before = snapshot(ours)
    for extra in ((), ("--check",)):
        result = cli("sync", "--policy", policy, toml, "--python", ours, *extra)
        assert result.code == 1, result.err
        assert "resolvelib" in result.err and "separate virtual environment" in result.err
    assert snapshot(ours) == before


def assert_install_refused(cli: Cli, policy: Path, lock: Path, ours: Path) -> None:
    """install into safeinstall's own environment stops with exit 1 and changes nothing."""
    before = snapshot(ours)
    result = cli("install", "--policy", policy, "-r", lock, "--python", ours)
    assert result.code == 1, result.err
    assert "resolvelib" in result.err and "separate virtual environment" in result.err
    assert snapshot(ours) == before


@pytest.mark.slow
def test_install_never_replaces_its_own_dependencies(
    cli: Cli, ours: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    packages = publish(index_server, tmp_path / "pub", ["resolvelib"], version="9.9")
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    txt, _ = write_locks(tmp_path / "lock", packages)
    assert_install_refused(cli, policy, txt, ours)


@pytest.mark.slow
def test_install_never_reinstalls_its_own_dependencies_from_other_bytes(
    cli: Cli, ours: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    """The locked version is the installed one, but the locked wheel's files are not."""
    other = build_wheel(tmp_path / "other", "resolvelib", "0.0.1", files={"x.py": b"X = 1\n"})
    packages = [locked(index_server, other)]
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    txt, _ = write_locks(tmp_path / "lock", packages)
    assert_install_refused(cli, policy, txt, ours)


@pytest.mark.slow
def test_another_venv_may_drop_a_namesake(
    cli: Cli, index_server: IndexServer, tmp_path: Path
) -> None:
    """Only safeinstall's own environment is protected: a project venv is synced as locked."""
    python = make_venv(tmp_path / "project")
    wheel = build_wheel(tmp_path / "dists", "resolvelib", "0.0.1")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        env=pip_env(),
    )
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    _, toml = write_locks(tmp_path / "lock", [])
    result = cli("sync", "--policy", policy, toml, "--python", python, "--check")
    assert result.code == 1
    assert "remove resolvelib==0.0.1" in result.out
