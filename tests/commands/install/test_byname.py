"""`safeinstall install PKG ...`: real resolution over the loopback index, real pip, fresh venvs.

Every test runs in its own project directory under tmp_path (a ``.git`` bounds the project
search) and installs only into a venv it made, or into a ``--target`` directory.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.commands.install.conftest import files
from tests.support.builders import build_wheel, sha256_hex
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import installed, make_venv, site_packages

Cli = Callable[..., Result]


@pytest.mark.slow
def test_requirements_in_project_adds_relocks_installs_and_a_teammate_gets_the_same(
    cli: Cli, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    (project / "requirements.in").write_bytes(b"# app deps\nalpha-one\n")
    assert cli("lock").code == 0
    index_server.add("a", build_wheel(tmp_path / "dists2", "beta-two", "2.0"))  # newer, unpinned
    python = make_venv(tmp_path / "venv")

    result = cli("install", "gamma-three", "--python", python)
    assert result.code == 0, result.err
    assert (project / "requirements.in").read_bytes() == b"# app deps\nalpha-one\ngamma-three\n"
    lock = (project / "requirements.txt").read_text()
    assert "gamma-three==1.0" in lock
    assert "beta-two==1.0" in lock  # the existing pin is kept; only what must change changes
    assert "#    safeinstall lock requirements.in -o requirements.txt" in lock
    assert installed(python) == {"alpha-one==1.0", "beta-two==1.0", "gamma-three==1.0"}
    assert "install gamma-three==1.0" in result.out
    assert cli("lock", "--check").code == 0  # the lock is fresh for the input as written

    teammate = make_venv(tmp_path / "teammate")
    before = (project / "requirements.txt").read_bytes()
    assert cli("install", "-r", "requirements.txt", "--python", teammate).code == 0
    assert installed(teammate) == installed(python)
    assert (project / "requirements.txt").read_bytes() == before

    upgrade = cli("install", "beta-two>=2", "--python", python)
    assert upgrade.code == 0, upgrade.err
    assert (project / "requirements.in").read_text().endswith("gamma-three\nbeta-two>=2\n")
    assert installed(python) == {"alpha-one==1.0", "beta-two==2.0", "gamma-three==1.0"}

    snapshot = files(project)
    again = cli("install", "alpha-one", "--python", python, "--format", "json")
    assert again.code == 0, again.err
    assert files(project) == snapshot  # already required, already locked: nothing changes
    assert '"installed": []' in again.out


@pytest.mark.slow
def test_pyproject_project_keeps_formatting(cli: Cli, project: Path, tmp_path: Path) -> None:
    text = (
        '[project]  # the app\nname = "app"\nversion = "1"\n'
        'dependencies = [\n    "alpha-one",   # core\n]\n\n[tool.x]\nk = {  a = 1 }\n'
    )
    (project / "pyproject.toml").write_text(text)
    result = cli("install", "gamma-three", "--python", sys.executable, "--target", tmp_path / "t")
    assert result.code == 0, result.err
    assert (project / "pyproject.toml").read_text() == text.replace(
        "# core\n", '# core\n    "gamma-three",\n'
    )
    lock = (project / "requirements.txt").read_text()
    assert "#    safeinstall lock pyproject.toml -o requirements.txt" in lock
    assert all(f"{n}==1.0" in lock for n in ("alpha-one", "beta-two", "gamma-three"))
    assert cli("lock", "--check").code == 0
    assert sorted(p.name for p in (tmp_path / "t").glob("*.dist-info")) == [
        "alpha_one-1.0.dist-info",
        "beta_two-1.0.dist-info",
        "gamma_three-1.0.dist-info",
    ]


def test_failed_resolution_leaves_input_and_lock_byte_identical(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    (project / "requirements.in").write_bytes(b"alpha-one  # main\r\n")
    assert cli("lock").code == 0
    before = files(project)
    target = tmp_path / "t"
    result = cli("install", "alpha-one>=5", "--python", sys.executable, "--target", target)
    assert result.code == 1
    assert "alpha-one" in result.err
    assert files(project) == before
    assert not target.exists()


def test_dry_run_resolves_but_writes_and_installs_nothing(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    (project / "requirements.in").write_text("alpha-one\n")
    before = files(project)
    target = tmp_path / "t"
    args = ("install", "gamma-three", "--python", sys.executable, "--target", target)
    result = cli(*args, "--dry-run")
    assert result.code == 0, result.err
    assert "would install gamma-three==1.0" in result.out
    assert "requirements.in: would be updated" in result.err
    assert files(project) == before
    assert not target.exists()


def test_typosquat_is_refused_before_anything(
    cli: Cli, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    (project / "requirements.in").write_text("alpha-one\n")
    before = files(project)
    result = cli("install", "gamma-three", "reqeusts", "--python", sys.executable)
    assert result.code == 1
    assert "'reqeusts' looks like the popular project 'requests'" in result.err
    assert "nothing was changed" in result.err
    assert files(project) == before
    assert index_server.requests == []  # refused before any index was asked


def test_denied_name_is_refused_outside_a_project_too(
    cli: Cli, project: Path, index_server: IndexServer
) -> None:
    policy = project / "safeinstall.toml"
    policy.write_text(policy.read_text() + 'deny = ["gamma-*"]\n')
    result = cli("install", "gamma-three", "--python", sys.executable, "--save", "out.txt")
    assert result.code == 1
    assert "gamma-three is denied by the policy rule 'gamma-*'" in result.err
    assert not (project / "out.txt").exists()
    assert index_server.requests == []


@pytest.mark.slow
def test_outside_a_project_resolves_installs_and_saves(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    python = make_venv(tmp_path / "venv")
    result = cli("install", "alpha-one", "--python", python, "--save", "locks/requirements.txt")
    assert result.code == 2
    assert "cannot save the lock to locks/requirements.txt: no directory" in result.err
    (project / "locks").mkdir()
    result = cli("install", "alpha-one", "--python", python, "--save", "locks/requirements.txt")
    assert result.code == 0, result.err
    assert "  alpha-one 1.0 from a" in result.err
    assert "  beta-two 1.0 from a" in result.err
    assert installed(python) == {"alpha-one==1.0", "beta-two==1.0"}
    saved = project / "locks" / "requirements.txt"
    assert "--hash=sha256:" in saved.read_text()
    assert not (project / "requirements.txt").exists()
    assert not (project / "requirements.in").exists()
    other = make_venv(tmp_path / "other")
    assert cli("install", "-r", saved, "--python", other).code == 0  # a valid lock
    assert installed(other) == installed(python)


def test_offline_by_name_and_mixed_arguments_are_usage_errors(cli: Cli, project: Path) -> None:
    here = ("--python", sys.executable)  # a target, so that the arguments are what is refused
    assert cli("install", "alpha-one", "--offline", *here).code == 2
    assert cli("install", "alpha-one", ".", *here).code == 2
    assert cli("install", "alpha-one", "-r", "requirements.txt", *here).code == 2
    result = cli("install", "./dist/app-1.0-py3-none-any.whl", *here)
    assert result.code == 2
    assert "never installed unverified" in result.err


# -- a failed install writes nothing: the input and the lock are written only after success ---

PYPROJECT = '[project]\nname = "app"\nversion = "1"\ndependencies = [\n    "alpha-one",\n]\n'


@pytest.mark.parametrize("input_name", ["requirements.in", "pyproject.toml"])
def test_failed_verification_leaves_input_and_lock_byte_identical(
    cli: Cli, project: Path, index_server: IndexServer, tmp_path: Path, input_name: str
) -> None:
    """The index lists one sha256 for delta-four and serves other bytes: the lock is made (the
    resolver reads only the sidecar), then the download fails verification."""
    text = PYPROJECT if input_name == "pyproject.toml" else "alpha-one  # main\r\n"
    (project / input_name).write_text(text, newline="")
    assert cli("lock").code == 0
    wheel = build_wheel(tmp_path / "dists", "delta-four", "1.0")
    index_server.add("a", wheel, sha256=sha256_hex(b"what the index vouched for"))
    before = files(project)
    target = tmp_path / "t"
    result = cli("install", "delta-four", "--python", sys.executable, "--target", target)
    assert result.code == 1, result.err
    assert "delta-four" in result.err or "delta_four" in result.err
    assert "sha256" in result.err
    assert files(project) == before
    assert not target.exists() or not list(target.glob("*.dist-info"))


@pytest.mark.slow
def test_failed_pip_leaves_input_absent_lock_and_environment_as_they_were(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    (project / "requirements.in").write_bytes(b"alpha-one\n")  # never locked: no lock file yet
    venv = tmp_path / "brokenpip"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = site_packages(python)
    # a pip that fails every run (a venv without pip is installed into with safeinstall's own)
    (site / "pip-99.0.dist-info").mkdir()
    (site / "pip-99.0.dist-info" / "METADATA").write_text("Name: pip\nVersion: 99.0\n")
    (site / "pip").mkdir()
    failing = "import sys\nsys.stderr.write('ERROR: this pip is broken\\n')\nsys.exit(1)\n"
    for module in ("__init__.py", "__main__.py"):
        (site / "pip" / module).write_text(failing)
    listing = sorted(str(p.relative_to(site)) for p in site.rglob("*"))
    before = files(project)
    result = cli("install", "gamma-three", "--python", python)
    assert result.code == 1, result.err
    assert "pip failed to install" in result.err
    assert files(project) == before
    assert not (project / "requirements.txt").exists()
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*")) == listing
