"""hooks/Dockerfile and hooks/post-merge, run for real in fresh venvs (no Docker engine here).

The Dockerfile is followed as written, instruction by instruction: ARG values (with the
--build-arg SAFEINSTALL_REV its comment asks for), COPY from a build context holding what its
comment says to put there, and every RUN line through sh, with the image paths substituted:
/opt/safeinstall and /wheels are directories of the test, /usr/local/bin/python is a fresh venv,
``python3`` on PATH is the image's interpreter. safeinstall itself is installed the way the
Dockerfile says, from a repository at a commit (a snapshot of this checkout).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.indexserver import IndexServer
from tests.support.installdata import installed, make_venv, pip_env, publish, write_locks
from tests.support.paths import ROOT
from tests.support.snapshot import runtime_wheels_or_skip, snapshot_repo

pytestmark = pytest.mark.slow
HOOKS = ROOT / "hooks"


@dataclass(frozen=True)
class Step:
    stage: str
    instruction: str  # ARG, WORKDIR, COPY or RUN
    words: tuple[str, ...]  # its arguments (RUN: one shell command, --mount options dropped)


def instructions(dockerfile: str) -> list[Step]:
    text = re.sub(r"\\\n\s*", " ", dockerfile)
    out, stage = [], ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "FROM":
            words = rest.split()
            stage = words[2] if len(words) > 2 and words[1].upper() == "AS" else "final"
        elif word == "RUN":
            command = re.sub(r"--mount=\S+\s+", "", rest).strip()
            out.append(Step(stage, word, (command,)))
        elif word in ("ARG", "WORKDIR", "COPY"):
            out.append(Step(stage, word, tuple(shlex.split(rest))))
        else:  # an instruction this test does not follow would go untested
            raise AssertionError(f"the test does not follow {word} instructions: {line}")
    return out


def project(directory: Path, server: IndexServer, lock_text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "requirements.txt").write_text(lock_text)
    (directory / "pyproject.toml").write_text(
        f'[tool.safeinstall]\nindexes = [{{ name = "a", url = "{server.index_url("a")}" }}]\n'
    )
    return directory


def build(
    steps: list[Step],
    context: Path,
    root: Path,
    *,
    args: dict[str, str],
    env: dict[str, str],
    on_final: Callable[[], object] = lambda: None,
) -> list[subprocess.CompletedProcess[str]]:
    """Follow ``steps``; ``root`` stands in for / (each stage's WORKDIR is under it), and
    ``on_final`` runs as the final stage starts. Returns the RUN lines' results, stopping after
    the first that fails."""
    ran: list[subprocess.CompletedProcess[str]] = []
    stage, workdir, values = "", root, dict(args)
    for step in steps:
        if step.stage != stage:
            stage, workdir = step.stage, root / step.stage
            if stage == "final":
                on_final()
        if step.instruction == "ARG":
            name, _, default = step.words[0].partition("=")
            values.setdefault(name, default)
        elif step.instruction == "WORKDIR":
            workdir = root / stage / step.words[0].lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif step.instruction == "COPY":
            *sources, _ = step.words  # every COPY here copies into the WORKDIR
            for source in sources:
                shutil.copy(context / source, workdir / Path(source).name)
        else:
            command = step.words[0].replace("/usr/local/bin/python", env["IMAGE_PYTHON"])
            for image_path in ("/opt/safeinstall", "/wheels"):
                command = command.replace(image_path, str(root / image_path.lstrip("/")))
            done = subprocess.run(
                ["sh", "-ec", command],
                cwd=workdir,
                env={**env, **values},
                capture_output=True,
                text=True,
                check=False,
            )
            ran.append(done)
            if done.returncode != 0:
                break
    return ran


def test_dockerfile_builds_as_written_and_installs_offline_from_the_wheelhouse(
    index_server: IndexServer, tmp_path: Path
) -> None:
    text = (HOOKS / "Dockerfile").read_text()
    steps = instructions(text)
    runs = [(s.stage, s.words[0].split()[:2]) for s in steps if s.instruction == "RUN"]
    assert [(stage, words[0]) for stage, words in runs] == [
        ("wheels", "sh"),
        ("wheels", "/opt/safeinstall/bin/safeinstall"),
        ("final", "/opt/safeinstall/bin/safeinstall"),
    ]
    assert "--build-arg SAFEINSTALL_REV=<commit>" in text
    packages = publish(index_server, tmp_path / "dists", ["alpha-one", "beta-two"])
    txt, _ = write_locks(tmp_path / "lock", packages)
    context = project(tmp_path / "context", index_server, txt.read_text())
    (context / "hooks").mkdir()
    shutil.copy(HOOKS / "install-safeinstall.sh", context / "hooks")
    repo = tmp_path / "safeinstall-repo"
    repo.mkdir()
    args = {"SAFEINSTALL_REPO": str(repo), "SAFEINSTALL_REV": snapshot_repo(repo)}
    image_bin = tmp_path / "image-bin"
    image_bin.mkdir()
    (image_bin / "python3").symlink_to(sys.executable)
    python = make_venv(tmp_path / "image-python")
    env = {
        **pip_env(),
        **runtime_wheels_or_skip(),
        "PATH": f"{image_bin}:{pip_env()['PATH']}",
        "IMAGE_PYTHON": str(python),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    # no network in the final stage: the index refuses connections
    ran = build(steps, context, tmp_path / "root", args=args, env=env, on_final=index_server.stop)
    assert [done.returncode for done in ran] == [0, 0, 0], ran[-1].stderr
    assert installed(python) == {"alpha-one==1.0", "beta-two==1.0"}
    tool = tmp_path / "root" / "opt" / "safeinstall" / "bin" / "safeinstall"
    assert tool.is_file()  # the stages ran the safeinstall the first one installed


def test_dockerfile_refuses_to_build_without_a_commit_hash(tmp_path: Path) -> None:
    steps = instructions((HOOKS / "Dockerfile").read_text())
    context = tmp_path / "context"
    (context / "hooks").mkdir(parents=True)
    shutil.copy(HOOKS / "install-safeinstall.sh", context / "hooks")
    env = {**pip_env(), "IMAGE_PYTHON": sys.executable}
    ran = build(steps, context, tmp_path / "root", args={}, env=env)  # no --build-arg
    assert [done.returncode for done in ran] == [2]
    assert "COMMIT must be a full 40-character commit hash" in ran[0].stderr
    assert not (tmp_path / "root" / "opt" / "safeinstall").exists()


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
