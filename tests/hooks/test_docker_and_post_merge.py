"""hooks/Dockerfile and hooks/post-merge, run for real in fresh venvs (no Docker engine here).

The Dockerfile's RUN lines that call safeinstall are parsed and run with the image paths
substituted: /wheels, /opt/safeinstall/bin/safeinstall (this checkout) and /usr/local/bin/python
(a fresh venv). The line that bootstraps safeinstall itself into /opt/safeinstall is not run.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.indexserver import IndexServer
from tests.support.installdata import installed, make_venv, pip_env, publish, write_locks
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow
HOOKS = ROOT / "hooks"


def run_lines(dockerfile: str) -> list[tuple[str, list[str]]]:
    """(stage name, argv) of each RUN line that calls safeinstall, options like --mount dropped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile)
    out, stage = [], ""
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            stage = words[3] if len(words) > 3 and words[2].upper() == "AS" else "final"
        if words[:1] == ["RUN"] and "bin/safeinstall " in line and "pip install" not in line:
            argv = [w for w in shlex.split(line)[1:] if not w.startswith("--mount=")]
            out.append((stage, argv))
    return out


def project(directory: Path, server: IndexServer, lock_text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "requirements.txt").write_text(lock_text)
    (directory / "pyproject.toml").write_text(
        f'[tool.safeinstall]\nindexes = [{{ name = "a", url = "{server.index_url("a")}" }}]\n'
    )
    return directory


def test_dockerfile_stages_install_offline_from_the_wheelhouse(
    index_server: IndexServer, tmp_path: Path
) -> None:
    lines = run_lines((HOOKS / "Dockerfile").read_text())
    assert [(stage, argv[1]) for stage, argv in lines] == [
        ("wheels", "download"),
        ("final", "install"),
    ]
    packages = publish(index_server, tmp_path / "dists", ["alpha-one", "beta-two"])
    txt, _ = write_locks(tmp_path / "lock", packages)
    python = make_venv(tmp_path / "venv")
    wheels = tmp_path / "wheels"
    subst = {"/wheels": str(wheels), "/usr/local/bin/python": str(python)}
    env = {**pip_env(), "PYTHONPATH": str(ROOT)}
    for stage, argv in lines:
        cwd = project(tmp_path / stage, index_server, txt.read_text())
        if stage == "final":
            index_server.stop()  # no network in the final stage: the index refuses connections
        env["XDG_CACHE_HOME"] = str(tmp_path / f"cache-{stage}")
        command = [sys.executable, "-m", "safeinstall", *(subst.get(a, a) for a in argv[1:])]
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (stage, done.stderr)
    assert installed(python) == {"alpha-one==1.0", "beta-two==1.0"}


def git(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )


def test_post_merge_warns_when_the_environment_is_out_of_date(
    index_server: IndexServer, tmp_path: Path
) -> None:
    packages = publish(index_server, tmp_path / "dists", ["alpha-one", "beta-two"])
    one, _ = write_locks(tmp_path / "one", packages[:1])
    two, _ = write_locks(tmp_path / "two", packages)
    venv = tmp_path / "venv"
    python = make_venv(venv)
    shim = tmp_path / "safeinstall"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m safeinstall "$@"\n')
    shim.chmod(0o755)
    env = {
        **pip_env(),
        "PYTHONPATH": str(ROOT),
        "SAFEINSTALL": str(shim),
        "VIRTUAL_ENV": str(venv),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    repo = project(tmp_path / "repo", index_server, one.read_text())
    git(repo, "init", "-q", "-b", "main", env=env)
    shutil.copy(HOOKS / "post-merge", repo / ".git" / "hooks" / "post-merge")
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-qm", "one", env=env)
    sync = [str(shim), "sync", "requirements.txt"]
    subprocess.run(sync, cwd=repo, env=env, check=True, capture_output=True)
    git(repo, "checkout", "-qb", "feature", env=env)
    (repo / "requirements.txt").write_text(two.read_text())
    git(repo, "commit", "-qam", "two", env=env)
    git(repo, "checkout", "-q", "main", env=env)

    merged = git(repo, "merge", "-q", "feature", env=env)
    assert "your environment does not match requirements.txt" in merged.stderr
    subprocess.run(sync, cwd=repo, env=env, check=True, capture_output=True)
    assert installed(python) == {"alpha-one==1.0", "beta-two==1.0"}
    rerun = subprocess.run(
        [str(HOOKS / "post-merge")], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    assert rerun.stderr == ""
    # with no environment to check (no venv active, no .venv), it says so instead of a mismatch
    no_env = {k: v for k, v in env.items() if k != "VIRTUAL_ENV"}
    hook = [str(HOOKS / "post-merge")]
    lost = subprocess.run(hook, cwd=repo, env=no_env, capture_output=True, text=True, check=True)
    assert "activate the project's venv" in lost.stderr
    assert "does not match" not in lost.stderr
