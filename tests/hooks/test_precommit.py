"""The shipped pre-commit hooks run for real: git, pre-commit try-repo and the copied snippet."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.indexserver import IndexServer
from tests.support.paths import ROOT, WHEELHOUSE
from tests.support.snapshot import git, snapshot_repo

pytestmark = pytest.mark.slow

H1 = "a" * 64
GOOD = f"requests==2.32.3 \\\n    --hash=sha256:{H1}\n"
BAD = f"{GOOD}idna==3.10\n"


@pytest.fixture(scope="session")
def hook_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for pre-commit: offline pip from the wheelhouse, a shared PRE_COMMIT_HOME."""
    if not any(WHEELHOUSE.glob("flit_core-*.whl")):
        pytest.skip(f"no wheelhouse at {WHEELHOUSE}: run .ci/run once (it downloads it)")
    home = tmp_path_factory.mktemp("pre-commit-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "VIRTUALENV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(WHEELHOUSE),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PRE_COMMIT_HOME=str(home),
        VIRTUALENV_NO_PERIODIC_UPDATE="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    return env


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding this project's working tree as one commit: (path, sha)."""
    repo = tmp_path_factory.mktemp("hook-repo")
    return repo, snapshot_repo(repo)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / "requirements.txt").write_text(GOOD)
    git(tmp_path, "add", "requirements.txt")
    return tmp_path


def pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "pre-commit"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def install_snippet(
    project: Path, hook_repo: tuple[Path, str], env: dict[str, str], *, skip: str = ""
) -> None:
    """Copy hooks/pre-commit-config.yaml into ``project``, pointed at the snapshot repository
    (without the hook id ``skip``), and install it as the git pre-commit hook."""
    repo, _ = hook_repo
    snippet = (ROOT / "hooks" / "pre-commit-config.yaml").read_text()
    sha = rev_as_the_comment_says(snippet, repo)
    lines = []
    for line in snippet.splitlines():
        key = line.strip().split(":", 1)[0].lstrip("- ")
        if key in ("repo", "rev"):
            value = repo if key == "repo" else sha
            lines.append(line.split(f"{key}:")[0] + f"{key}: {value}")
        elif not (skip and line.strip() == f"- id: {skip}"):
            lines.append(line)
    (project / ".pre-commit-config.yaml").write_text("\n".join(lines) + "\n")
    git(project, "add", ".pre-commit-config.yaml")
    installed = pre_commit(project, env, "install")
    assert installed.returncode == 0, installed.stderr


def rev_as_the_comment_says(snippet: str, repo: Path) -> str:
    """The commit hash for ``rev``, got with the command the snippet's comment gives, run
    against ``repo`` instead of the public repository."""
    (command,) = re.findall(r"^#\s+(git ls-remote .*)$", snippet, re.MULTILINE)
    words = shlex.split(command)
    url = re.search(r"^\s*- repo: (\S+)$", snippet, re.MULTILINE)
    assert url is not None and words[2] == url[1]
    listed = git(repo, *[str(repo) if w == url[1] else w for w in words[1:]])
    return listed.split()[0]


def test_snippet_pins_a_commit_hash_not_a_tag() -> None:
    snippet = (ROOT / "hooks" / "pre-commit-config.yaml").read_text()
    revs = re.findall(r"^\s*rev: (\S+)$", snippet, re.MULTILINE)
    assert len(revs) == 1 and re.fullmatch(r"[0-9a-f]{40}", revs[0]), revs


def commit(project: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-m", message],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_try_repo_passes_good_and_blocks_bad(
    project: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]
) -> None:
    repo, _ = hook_repo
    good = pre_commit(project, hook_env, "try-repo", str(repo), "safeinstall-check")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
    (project / "requirements.txt").write_text(BAD)
    git(project, "add", "requirements.txt")
    bad = pre_commit(project, hook_env, "try-repo", str(repo), "safeinstall-check")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "requirements.txt:3: missing-hash: idna has no sha256 hash" in bad.stdout


def test_snippet_blocks_a_bad_commit(
    project: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]
) -> None:
    """The snippet users copy from hooks/, pointed at this project, guards real commits."""
    install_snippet(project, hook_repo, hook_env, skip="safeinstall-lock-fresh")  # no .in here
    ok = commit(project, hook_env, "good")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (project / "requirements.txt").write_text(BAD)
    git(project, "add", "requirements.txt")
    blocked = commit(project, hook_env, "bad")
    assert blocked.returncode != 0
    assert "missing-hash" in blocked.stdout + blocked.stderr
    assert git(project, "log", "--format=%s") == "good"  # the bad commit did not happen


@pytest.fixture
def locked_project(
    tmp_path: Path,
    index_server: IndexServer,
    wheel_factory: Callable[..., Path],
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A git work tree with requirements.in, a policy and the requirements.txt that
    `safeinstall lock` made from them (all staged); the index is stopped afterwards."""
    project = tmp_path / "locked"
    project.mkdir()
    git(project, "init", "-q")
    wheel = wheel_factory("demo", "1.0")
    index_server.add("a", wheel, upload_time=datetime(2024, 1, 1, tzinfo=UTC))
    policy = f'indexes = [{{ name = "local", url = "{index_server.index_url("a")}" }}]\n'
    (project / "safeinstall.toml").write_text(policy)
    (project / "requirements.in").write_text("demo\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    locked = cli("lock")
    assert locked.code == 0, locked.err
    index_server.stop()
    git(project, "add", "safeinstall.toml", "requirements.in", "requirements.txt")
    return project


def test_lock_fresh_hook_blocks_a_stale_lock_offline(
    locked_project: Path, hook_repo: tuple[Path, str], hook_env: dict[str, str]
) -> None:
    """A lock made by `safeinstall lock` passes both shipped hooks; once its input changes, the
    commit is blocked, with the index gone (the hook never resolves)."""
    project = locked_project
    install_snippet(project, hook_repo, hook_env)
    ok = commit(project, hook_env, "good")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (project / "requirements.in").write_text("demo>=1\n")
    git(project, "add", "requirements.in")
    blocked = commit(project, hook_env, "stale")
    assert blocked.returncode != 0
    assert "requirements.txt: stale" in blocked.stdout + blocked.stderr
    assert git(project, "log", "--format=%s") == "good"
