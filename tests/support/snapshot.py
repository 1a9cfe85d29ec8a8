"""This project's working tree as a git repository of one commit: what hooks/ and the Quick start
install safeinstall from (a repository at a pinned commit), with uncommitted changes included."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import ROOT, WHEELHOUSE

AUTHOR = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **AUTHOR}, check=True, capture_output=True
    )
    return done.stdout.decode().strip()


def snapshot_repo(repo: Path) -> str:
    """Copy the tracked and unignored files of this checkout into ``repo`` (a new directory),
    commit them, and return the commit hash."""
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "snapshot")
    return git(repo, "rev-parse", "HEAD")


def runtime_wheels_or_skip() -> dict[str, str]:
    """pip settings that install the runtime lock offline from the wheelhouse (skip without it)."""
    pins = [
        line.split(" ")[0].replace("-", "_").replace("==", "-")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line[:1].isalnum()
    ]
    missing = [pin for pin in pins if not any(WHEELHOUSE.glob(f"{pin}-*.whl"))]
    if missing:
        pytest.skip(f"{', '.join(missing)} not in the wheelhouse {WHEELHOUSE}: run .ci/run once")
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE)}
