"""The README's Quick start, copied as written into a fresh clone of this checkout, and the two
locks it installs from: the runtime lock (requirements.txt, what users install safeinstall
with) and the dev lock (requirements-dev.txt, what .ci/run installs).

CPython 3.11 and 3.13 are found on PATH (``python3.13``) or in pyenv, as in
``export PYENV_VERSION=$(pyenv global):$(pyenv versions --bare | grep -E '^3\\.1[23]\\.' | paste
-sd:)``; a version not on this machine is skipped with that reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from safeinstall.lock.read import read_lock_file
from safeinstall.lock.recipe import find_recipe
from safeinstall.targets import targets_for
from tests.support.paths import ROOT
from tests.support.pythons import find_python
from tests.support.snapshot import git, snapshot_repo

README = ROOT / "README.md"
RUNTIME_TARGETS = ("3.11,3.12,3.13,3.14", "linux,linux-aarch64,macos,macos-x86_64,windows")
CI_TARGETS = ("3.11,3.12,3.13", "linux")


def quick_start_commands() -> list[str]:
    """The command blocks of the README's Quick start (console blocks without `$ ` prompts)."""
    section = README.read_text().split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```console\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    return [b.strip() for b in blocks if not b.lstrip().startswith("$ ")]


# -- the locks, offline ------------------------------------------------------------------------


def test_the_runtime_input_is_what_pyproject_declares() -> None:
    """requirements.in: the [project] dependencies and the [build-system] requirements (flit_core:
    `pip install --no-build-isolation .` imports it from the environment), nothing else."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    lines = (ROOT / "requirements.in").read_text().splitlines()
    listed = [line.split("#")[0].strip() for line in lines]
    assert sorted(str(Requirement(r)) for r in listed if r) == sorted(
        str(Requirement(r)) for r in declared
    )


@pytest.mark.parametrize(
    ("lock", "targets"),
    [("requirements.txt", RUNTIME_TARGETS), ("requirements-dev.txt", CI_TARGETS)],
)
def test_each_lock_is_made_for_every_python_it_must_install_on(
    lock: str, targets: tuple[str, str]
) -> None:
    # the dev lock was made for CPython 3.11 on Linux only: on 3.12 and 3.13 pip stopped with a
    # hash mismatch (the wheels for those Pythons were not in it)
    environments = [Marker(m) for m in read_lock_file(ROOT / lock).environments]
    for target in targets_for(*targets):
        assert any(m.evaluate(target.env(), "lock_file") for m in environments), target.name


def test_the_runtime_lock_pins_what_the_tests_run() -> None:
    """Every runtime pin, version and hash, is in the dev lock: the suite tests the bytes users
    install, and .ci/run's wheelhouse (from the dev lock) holds the runtime lock's files."""
    dev = {p.name: p for p in read_lock_file(ROOT / "requirements-dev.txt").packages}
    for package in read_lock_file(ROOT / "requirements.txt").packages:
        assert package.name in dev, package.name
        assert dev[package.name].version == package.version, package.name
        hashes = {f.sha256 for f in dev[package.name].files}
        assert {f.sha256 for f in package.files} <= hashes, package.name


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_ci_checks_each_lock_with_the_command_it_records(
    lock: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    recorded = find_recipe(Path(lock), (ROOT / lock).read_text()).command
    script = re.sub(r"\\\n\s*", "", (ROOT / ".ci" / "run").read_text())
    assert f".venv/bin/{recorded} --check\n" in script


# -- the Quick start, as written, in a fresh clone ---------------------------------------------


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository holding this checkout (uncommitted changes included) to clone from."""
    repo = tmp_path_factory.mktemp("origin")
    snapshot_repo(repo)
    return repo


def fresh_env(python: Path, bin_dir: Path) -> dict[str, str]:
    """A user's shell: ``python3`` is ``python``; no pip, uv, safeinstall or venv settings."""
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(python)
    drop = ("PIP_", "UV_", "SAFEINSTALL_", "VIRTUAL_ENV", "PYTHON", "PYENV_VERSION")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}", "PIP_CONFIG_FILE": os.devnull}


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("version", ["3.11", "3.13"])
def test_quick_start_works_in_a_fresh_clone(version: str, origin: Path, tmp_path: Path) -> None:
    python = find_python(version)
    if python is None:
        pytest.skip(f"CPython {version} is not on this machine (neither on PATH nor in pyenv)")
    install, run_tests = quick_start_commands()
    assert run_tests == "bash .ci/run"
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    env = fresh_env(python, tmp_path / "bin")

    done = subprocess.run(
        ["bash", "-ec", install], cwd=clone, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: 1 file checked, no problems" in done.stdout + done.stderr
    venv_python = clone / ".venv" / "bin" / "python"
    assert version in subprocess.check_output([str(venv_python), "--version"], text=True)
    listed = subprocess.check_output(
        [str(venv_python), "-m", "pip", "list", "--format=json"], env=env, text=True
    )
    have: dict[str, str] = {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed)}
    lock = read_lock_file(clone / "requirements.txt")
    wanted: dict[str, str] = {p.name: str(p.version) for p in lock.packages}
    assert {k: v for k, v in have.items() if k not in ("pip", "setuptools")} == {
        **wanted,
        "safeinstall": have.get("safeinstall", "missing"),
    }  # only what the tool needs: nothing else came along

    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return  # the second command on this interpreter is the CI run this test is part of
    # as written, with a few tests only (the whole suite already runs on the CI's interpreter)
    ci = subprocess.run(
        ["bash", "-ec", f"{run_tests} -q tests/test_cli.py tests/test_targets.py"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ci.returncode == 0, ci.stdout[-4000:] + ci.stderr[-4000:]
    assert "requirements-dev.txt: up to date" in ci.stdout
    assert re.search(r"\d+ passed", ci.stdout), ci.stdout[-2000:]
