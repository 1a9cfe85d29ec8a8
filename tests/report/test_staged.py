"""`safeinstall diff --staged`: each staged lock against HEAD's, with real git.

The pre-commit runs are in tests/hooks/test_lock_diff_hook.py; these cover the cases around
them: a lock whose targets changed, a HEAD version that is no lock, a lock not staged.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.frozen import replace
from safeinstall.lock.model import Lock
from tests.support.fixtures import Result
from tests.support.locks import lock, package, write
from tests.support.sarif import assert_valid_sarif, located, results

Run = Callable[..., Result]
LINUX = 'sys_platform == "linux"'
WINDOWS = 'sys_platform == "win32"'
ONE = ["lib-1.0-py3-none-any.whl"]
TWO = [*ONE, "lib-1.0-cp312-cp312-win_amd64.whl"]


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(tmp_path, "init", "-q")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def commit_then_stage(repo: Path, name: str, before: Lock | str, after: Lock | str) -> None:
    for value, message in ((before, "before"), (after, None)):
        path = repo / name
        if isinstance(value, str):
            path.write_text(value)
        else:
            write(path, value)
        git(repo, "add", name)
        if message:
            git(repo, "commit", "-qm", message)


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_hashes_gained_with_a_new_target_pass(cli: Run, repo: Path, name: str) -> None:
    """A wheel added for a target the lock now covers is the diff's "files", not a block."""
    before = replace(lock(package("lib", "1.0", files=ONE)), environments=(LINUX,))
    after = replace(lock(package("lib", "1.0", files=TWO)), environments=(LINUX, WINDOWS))
    commit_then_stage(repo, name, before, after)
    result = cli("diff", "--staged", name)
    assert result.code == 0, result.out + result.err
    assert " ~ files      lib 1.0 (1 file(s) added, 0 removed)" in result.out
    same_targets = replace(after, environments=(LINUX,))
    write(repo / name, same_targets)
    git(repo, "add", name)
    blocked = cli("diff", "--staged", "--format", "json", name)
    assert blocked.code == 1
    (only,) = json.loads(blocked.out)["locks"]
    (gained,) = set(same_targets.packages[0].hashes) - set(before.packages[0].hashes)
    assert only["blocked"] == [f"lib 1.0: same version, hashes added: {gained}"]


def test_a_head_version_that_is_no_lock_is_compared_as_a_new_lock(cli: Run, repo: Path) -> None:
    """Adopting safeinstall: HEAD has plain requirements, the staged file is the first lock."""
    commit_then_stage(repo, "requirements.txt", "requests\n", lock(package("lib", "1.0")))
    result = cli("diff", "--staged", "requirements.txt")
    assert result.code == 0, result.err
    assert "HEAD:requirements.txt is not a lock (requests is not pinned with ==)" in result.err
    assert "requirements.txt: new lock, 1 package;" in result.out


def test_a_lock_that_is_not_staged_is_a_usage_error(cli: Run, repo: Path) -> None:
    write(repo / "requirements.txt", lock(package("lib", "1.0")))
    result = cli("diff", "--staged", "requirements.txt")
    assert result.code == 2
    assert "requirements.txt is not staged" in result.err
    assert "git add requirements.txt" in result.err


def test_a_staged_lock_that_cannot_be_read_is_an_input_error(cli: Run, repo: Path) -> None:
    commit_then_stage(repo, "requirements.txt", lock(package("lib", "1.0")), "lib==1.0\n")
    result = cli("diff", "--staged", "requirements.txt")
    assert result.code == 2
    assert "requirements.txt (staged):1: lib has no hash" in result.err


def test_without_staged_diff_takes_exactly_two_locks(cli: Run, repo: Path) -> None:
    result = cli("diff", "requirements.txt")
    assert result.code == 2
    assert "diff compares two locks, OLD and NEW, not 1" in result.err


def test_sarif_puts_each_block_on_its_package_line(cli: Run, repo: Path) -> None:
    other = package("other", "1.0", index="https://other.example.org/simple")
    before = lock(package("lib", "1.0", files=ONE))
    commit_then_stage(repo, "pylock.toml", before, lock(package("lib", "1.0", files=TWO), other))
    result = cli("diff", "--staged", "--format", "sarif", "pylock.toml")
    assert result.code == 1  # as in text
    text = (repo / "pylock.toml").read_text().splitlines()
    found = results(assert_valid_sarif(result.out))
    assert [(r["ruleId"], r["level"], located(r)) for r in found] == [
        ("hashes-added", "error", ("pylock.toml", text.index('name = "lib"'))),
        ("new-host", "error", ("pylock.toml", text.index('name = "other"'))),
    ]
    assert "other.example.org" in found[1]["message"]["text"]
