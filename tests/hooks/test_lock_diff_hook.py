"""Hand edits of a lock are caught at commit time: real git, real pre-commit from the wheelhouse.

`safeinstall-lock-fresh` (`lock --check`) says a lock was edited since safeinstall wrote it;
`safeinstall-lock-diff` (`diff --staged`) compares the staged lock with HEAD's, prints the diff
and blocks a version that keeps its number but changes its hashes, and files on a new host.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from safeinstall.frozen import replace
from safeinstall.lock.model import LockedPackage
from tests.hooks import test_precommit
from tests.hooks.test_precommit import commit, pre_commit
from tests.support.indexserver import IndexServer
from tests.support.locks import lock, package, write
from tests.support.snapshot import git

pytestmark = pytest.mark.slow

# the session fixtures of the shipped-hook tests: offline pre-commit, this project as a hook repo
hook_env = test_precommit.hook_env
hook_repo = test_precommit.hook_repo


def install_hooks(
    project: Path, hook_repo: tuple[Path, str], env: dict[str, str], *ids: str, args: str = ""
) -> None:
    """A .pre-commit-config.yaml running the hooks ``ids`` of the snapshot repository (the
    first with ``args``, a YAML list)."""
    repo, sha = hook_repo
    hooks = "".join(f"      - id: {i}\n" for i in ids)
    if args:
        hooks = hooks.replace("\n", f"\n        args: {args}\n", 1)
    config = f"repos:\n  - repo: {repo}\n    rev: {sha}\n    hooks:\n{hooks}"
    (project / ".pre-commit-config.yaml").write_text(config)
    git(project, "add", ".pre-commit-config.yaml")
    installed = pre_commit(project, env, "install")
    assert installed.returncode == 0, installed.stderr


def output(done: Any) -> str:
    return str(done.stdout) + str(done.stderr)


@pytest.fixture
def locked(
    tmp_path: Path,
    index_server: IndexServer,
    wheel_factory: Callable[..., Path],
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A git work tree with requirements.in, a policy and requirements.txt and pylock.toml that
    `safeinstall lock` made from them (all staged); the index is stopped afterwards."""
    project = tmp_path / "locked"
    project.mkdir()
    git(project, "init", "-q")
    index_server.add(
        "a", wheel_factory("demo", "1.0"), upload_time=datetime(2024, 1, 1, tzinfo=UTC)
    )
    policy = f'indexes = [{{ name = "local", url = "{index_server.index_url("a")}" }}]\n'
    (project / "safeinstall.toml").write_text(policy)
    (project / "requirements.in").write_text("demo\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    for lock_file in ("requirements.txt", "pylock.toml"):
        made = cli("lock", "-o", lock_file)
        assert made.code == 0, made.err
    index_server.stop()
    git(project, "add", "-A")
    return project


def swap_a_digit(path: Path) -> None:
    text = path.read_text()
    found = re.search(r'(?:--hash=sha256:|sha256 = ")([0-9a-f]{64})', text)
    assert found is not None
    digest = found.group(1)
    path.write_text(text.replace(digest, digest[:-1] + ("0" if digest[-1] != "0" else "1")))


@pytest.mark.parametrize("lock_file", ["requirements.txt", "pylock.toml"])
def test_a_hand_edited_hash_is_blocked_by_both_hooks(
    locked: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str], lock_file: str
) -> None:
    project = locked
    hooks = ("safeinstall-lock-fresh", "safeinstall-lock-diff")
    install_hooks(project, hook_repo, hook_env, *hooks, args=f"[-o, {lock_file}]")
    first = commit(project, hook_env, "locks")
    assert first.returncode == 0, output(first)
    swap_a_digit(project / lock_file)
    git(project, "add", lock_file)
    blocked = commit(project, hook_env, "edited")
    assert blocked.returncode != 0
    text = output(blocked)
    assert f"{lock_file}: edited since safeinstall wrote it" in text  # lock-fresh, naming
    assert f"{lock_file}: edited entries (against HEAD's lock): demo" in text  # the package
    assert "alarm" in text and "demo" in text  # lock-diff prints the diff ...
    assert f"{lock_file}: blocked: demo 1.0: same" in text  # ... and why it blocks
    assert git(project, "log", "--format=%s") == "locks"


@pytest.fixture
def project(tmp_path: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]) -> Path:
    """An empty git work tree whose commits run the lock-diff hook."""
    git(tmp_path, "init", "-q")
    install_hooks(tmp_path, hook_repo, hook_env, "safeinstall-lock-diff")
    return tmp_path


def stage(project: Path, name: str, value: Any) -> None:
    write(project / name, value)
    git(project, "add", name)


def test_ordinary_upgrade_passes_and_prints_the_diff(
    project: Path, hook_env: dict[str, str]
) -> None:
    """A new lock passes with its hosts listed; an upgrade and an added package pass, the diff
    shown for information (pre-commit shows a passing hook's output with --verbose)."""
    stage(project, "pylock.toml", lock(package("lib", "1.0"), package("app", "2.0")))
    new = pre_commit(project, hook_env, "run", "--verbose", "safeinstall-lock-diff")
    assert new.returncode == 0, output(new)
    hosts = "file and index hosts: files.example.com, pkgs.example.com"
    assert f"pylock.toml: new lock, 2 packages; {hosts}" in output(new)
    assert commit(project, hook_env, "first").returncode == 0
    newer = lock(package("lib", "1.1"), package("app", "2.0"), package("extra", "0.1"))
    stage(project, "pylock.toml", newer)
    shown = pre_commit(project, hook_env, "run", "--verbose", "safeinstall-lock-diff")
    assert shown.returncode == 0, output(shown)
    assert " ^ upgraded   lib 1.0 -> 1.1" in output(shown)
    assert " + added      extra 0.1" in output(shown)
    upgraded = commit(project, hook_env, "upgrade")
    assert upgraded.returncode == 0, output(upgraded)
    assert git(project, "log", "-1", "--format=%s") == "upgrade"


def elsewhere(pkg: LockedPackage, host: str) -> LockedPackage:
    """``pkg`` with its files' URLs on ``host``."""
    files = tuple(replace(f, url=f"https://{host}/{f.filename}") for f in pkg.files)
    return replace(pkg, files=files)


LIB = lock(package("lib", "1.0"))
TWO_FILES = ["lib-1.0-py3-none-any.whl", "lib-1.0.tar.gz"]
MIRROR = "https://mirror.example.net/simple"


@pytest.mark.parametrize(
    ("name", "after", "reason"),
    [
        pytest.param(
            "requirements.txt",
            lock(package("lib", "1.0", salt="evil")),
            "lib 1.0: same version, new bytes",
            id="txt-hash-swapped",
        ),
        pytest.param(
            "requirements.txt",
            lock(package("lib", "1.0", files=TWO_FILES)),
            "lib 1.0: same version, hashes added",
            id="txt-hash-added",
        ),
        pytest.param(
            "pylock.toml",
            lock(package("lib", "1.0", salt="evil")),
            "lib 1.0: same file, new bytes: lib-1.0-py3-none-any.whl",
            id="pylock-same-file-new-bytes",
        ),
        pytest.param(
            "pylock.toml",
            lock(package("lib", "1.0"), elsewhere(package("new", "1.0"), "cdn.example.net")),
            "new host cdn.example.net",
            id="pylock-new-file-host",
        ),
        pytest.param(
            "pylock.toml",
            lock(package("lib", "1.0"), package("new", "1.0", index=MIRROR)),
            "new host mirror.example.net",
            id="pylock-new-index-host",
        ),
    ],
)
def test_a_same_version_hash_change_or_new_host_blocks_the_commit(
    project: Path, hook_env: dict[str, str], name: str, after: Any, reason: str
) -> None:
    """HEAD locks lib 1.0; the staged lock changes its bytes, or adds files on a new host."""
    stage(project, name, LIB)
    assert commit(project, hook_env, "first").returncode == 0
    stage(project, name, after)
    blocked = commit(project, hook_env, "second")
    assert blocked.returncode != 0
    assert f"{name}: blocked: {reason}" in output(blocked)
    assert "SKIP=safeinstall-lock-diff" in output(blocked)
    assert git(project, "log", "--format=%s") == "first"
