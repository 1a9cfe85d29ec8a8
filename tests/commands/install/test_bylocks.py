"""`install PKG` in a project that keeps both a requirements.txt and a pylock.toml.

Each lock safeinstall made is relocked from the edited input with its own recipe and pins; a lock
it did not make is left alone and said so; the files change all together or not at all. Real
resolution over the loopback index, real pip, a fresh venv or a ``--target`` directory.
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.files import atomic
from safeinstall.lock.read import read_lock_file
from tests.commands.install.conftest import files
from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import installed, make_venv

Cli = Callable[..., Result]


def pins(path: Path) -> dict[str, str]:
    return {p.name: str(p.version) for p in read_lock_file(path).packages}


def two_locks(cli: Cli, project: Path, *requirements_txt_options: str) -> None:
    """requirements.in needing alpha-one, locked twice: requirements.txt (with the options
    given, recorded in its header) and pylock.toml."""
    (project / "requirements.in").write_text("alpha-one\n")
    assert cli("lock", *requirements_txt_options).code == 0
    assert cli("lock", "-o", "pylock.toml").code == 0


@pytest.mark.slow
def test_both_locks_are_relocked_keeping_their_pins_and_the_venv_gets_one_of_them(
    cli: Cli, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    two_locks(cli, project)
    index_server.add("a", build_wheel(tmp_path / "dists2", "beta-two", "2.0"))  # newer, unpinned
    python = make_venv(tmp_path / "venv")

    result = cli("install", "gamma-three", "--python", python)
    assert result.code == 0, result.err
    expected = {"alpha-one": "1.0", "beta-two": "1.0", "gamma-three": "1.0"}
    assert pins(project / "requirements.txt") == expected  # the same versions in both
    assert pins(project / "pylock.toml") == expected
    assert (
        "#    safeinstall lock requirements.in -o requirements.txt"
        in (project / "requirements.txt").read_text()
    )
    assert cli("lock", "--check").code == 0
    assert cli("lock", "--check", "-o", "pylock.toml").code == 0
    assert installed(python) == {"alpha-one==1.0", "beta-two==1.0", "gamma-three==1.0"}
    assert "installing from pylock.toml" in result.err
    assert "records no" not in result.err  # made without options: nothing to warn of
    assert "pylock.toml: locked, 3 packages (+gamma-three 1.0)" in result.err
    assert "requirements.txt: locked, 3 packages (+gamma-three 1.0)" in result.err


@pytest.mark.slow
def test_each_lock_is_relocked_with_its_own_recorded_extras(
    cli: Cli, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\ndependencies = ["alpha-one"]\n\n'
        '[project.optional-dependencies]\ndev = ["gamma-three"]\n'
    )
    assert cli("lock", "--extra", "dev").code == 0
    assert cli("lock", "-o", "pylock.toml").code == 0
    index_server.add("a", build_wheel(tmp_path / "dists", "delta-four", "1.0"))
    target = tmp_path / "t"

    result = cli("install", "delta-four", "--python", sys.executable, "--target", target)
    assert result.code == 0, result.err
    assert set(pins(project / "requirements.txt")) == {
        "alpha-one",
        "beta-two",
        "gamma-three",
        "delta-four",
    }
    assert set(pins(project / "pylock.toml")) == {"alpha-one", "beta-two", "delta-four"}
    assert "--extra dev" in (project / "requirements.txt").read_text()
    assert cli("lock", "--check", "--extra", "dev").code == 0
    assert cli("lock", "--check", "-o", "pylock.toml").code == 0


@pytest.mark.slow
def test_a_pylock_made_with_options_it_does_not_record_is_relocked_with_a_warning(
    cli: Cli, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    """pylock.toml records no command: locked with --extra dev, it cannot be known to have
    been, and the relock says what it drops."""
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\ndependencies = ["alpha-one"]\n\n'
        '[project.optional-dependencies]\ndev = ["gamma-three"]\n'
    )
    assert cli("lock").code == 0
    assert cli("lock", "--extra", "dev", "-o", "pylock.toml").code == 0
    index_server.add("a", build_wheel(tmp_path / "dists", "delta-four", "1.0"))

    result = cli("install", "delta-four", "--python", sys.executable, "--target", tmp_path / "t")
    assert result.code == 0, result.err
    assert "pylock.toml records no `safeinstall lock` command" in result.err
    assert "relock it with its options if it had any" in result.err
    assert "pylock.toml: locked, 3 packages (+delta-four 1.0, -gamma-three 1.0)" in result.err
    assert "requirements.txt: locked, 3 packages (+delta-four 1.0)" in result.err


def test_a_lock_that_cannot_be_relocked_leaves_every_file_byte_identical(
    cli: Cli, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    """pylock.toml (for this interpreter) can take delta-four; requirements.txt, locked for
    Python 3.8, cannot: neither lock nor the input changes, nothing is installed."""
    two_locks(cli, project, "--python-version", "3.8")
    wheel = build_wheel(tmp_path / "dists", "delta-four", "1.0", requires_python=">=3.10")
    index_server.add("a", wheel, requires_python=">=3.10")
    before = files(project)
    target = tmp_path / "t"

    result = cli("install", "delta-four", "--python", sys.executable, "--target", target)
    assert result.code == 1, result.err
    assert "cannot relock requirements.txt, so nothing was written" in result.err
    assert "requires Python>=3.10" in result.err
    assert files(project) == before
    assert not target.exists()


@pytest.mark.slow
def test_a_failed_write_puts_back_the_lock_already_written(
    cli: Cli,
    project: Path,
    index_server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The disk fills up as requirements.txt is written, after pylock.toml was."""
    two_locks(cli, project)
    before = files(project)
    real = atomic.replace_file

    def full_disk(
        path: Path, data: bytes, *, expected_digest: str | None = None, sync: bool = True
    ) -> None:
        if Path(path).name == "requirements.txt":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data, expected_digest=expected_digest, sync=sync)

    monkeypatch.setattr(atomic, "replace_file", full_disk)
    target = tmp_path / "t"
    result = cli("install", "gamma-three", "--python", sys.executable, "--target", target)
    assert result.code != 0
    assert "requirements.txt" in result.err
    assert "No space left on device" in result.err
    assert "pylock.toml was put back" in result.err
    assert files(project) == before


@pytest.mark.slow
def test_a_lock_another_run_changed_meanwhile_is_not_overwritten(
    cli: Cli,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A teammate's run writes requirements.txt while this one installs: theirs is kept, and
    pylock.toml, already written, is put back."""
    two_locks(cli, project)
    before = files(project)
    theirs = before["requirements.txt"] + b"# relocked by another run\n"
    real = atomic.replace_file

    def racing(
        path: Path, data: bytes, *, expected_digest: str | None = None, sync: bool = True
    ) -> None:
        if Path(path).name == "requirements.txt":
            Path(path).write_bytes(theirs)
        real(path, data, expected_digest=expected_digest, sync=sync)

    monkeypatch.setattr(atomic, "replace_file", racing)
    result = cli("install", "gamma-three", "--python", sys.executable, "--target", tmp_path / "t")
    assert result.code == 2
    assert "could not write requirements.txt: the file changed while" in result.err
    assert "pylock.toml was put back as it was" in result.err
    assert files(project) == {**before, "requirements.txt": theirs}


def _foreign_pylock(project: Path) -> None:
    text = (project / "pylock.toml").read_text()
    text = text.replace('created-by = "safeinstall"', 'created-by = "uv"')
    (project / "pylock.toml").write_text(re.sub(r"\n\[tool\.safeinstall\]\n.*", "\n", text))


def _pip_compile_requirements(project: Path) -> None:
    pinned = [
        line
        for line in (project / "requirements.txt").read_text().splitlines()
        if not line.startswith("#")
    ]
    header = "#\n# This file is autogenerated by pip-compile\n#    pip-compile requirements.in\n#\n"
    (project / "requirements.txt").write_text(header + "\n".join(pinned) + "\n")


def _from_another_input(project: Path, cli: Cli) -> None:
    (project / "other.in").write_text("alpha-one\n")
    assert cli("lock", "other.in", "-o", "requirements.txt").code == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        ("pylock.toml", "requirements.txt", "it was made by 'uv', not safeinstall"),
        (
            "requirements.txt",
            "pylock.toml",
            "does not record the `safeinstall lock` command that made it",
        ),
        ("requirements.txt", "pylock.toml", "it is made from other.in, not requirements.in"),
        ("pylock.toml", "requirements.txt", "it is a symbolic link"),
    ],
    ids=["foreign-pylock", "pip-compile-requirements", "another-input", "symlinked-pylock"],
)
def test_a_lock_safeinstall_cannot_remake_is_left_alone_and_said_so(
    cli: Cli, project: Path, tmp_path: Path, case: tuple[str, str, str]
) -> None:
    left_alone, updated, reason = case
    two_locks(cli, project)
    if "made by" in reason:
        _foreign_pylock(project)
    elif "other.in" in reason:
        _from_another_input(project, cli)
    elif "symbolic" in reason:
        (project / "pylock.toml").replace(tmp_path / "elsewhere.toml")
        (project / "pylock.toml").symlink_to(tmp_path / "elsewhere.toml")
    else:
        _pip_compile_requirements(project)
    kept = (project / left_alone).read_bytes()
    target = tmp_path / "t"

    result = cli("install", "gamma-three", "--python", sys.executable, "--target", target)
    assert result.code == 0, result.err
    assert (project / left_alone).read_bytes() == kept
    assert "gamma-three" in pins(project / updated)
    assert f"{left_alone}: not updated: " in result.err
    assert reason in result.err
    assert f"{updated}: locked, 3 packages (+gamma-three 1.0)" in result.err
    assert f"installing from {updated}" in result.err
    assert (project / "requirements.in").read_text() == "alpha-one\ngamma-three\n"


def test_a_project_whose_only_lock_is_foreign_is_refused_before_any_index(
    cli: Cli, project: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    (project / "requirements.in").write_text("alpha-one\n")
    assert cli("lock").code == 0
    _pip_compile_requirements(project)
    before = files(project)
    asked = len(index_server.requests)

    result = cli("install", "gamma-three", "--python", sys.executable, "--target", tmp_path / "t")
    assert result.code == 2
    assert "requirements.txt: not updated: " in result.err
    assert "no lock of this project was made by safeinstall" in result.err
    assert files(project) == before
    assert len(index_server.requests) == asked  # refused before any index was asked


def test_a_project_whose_only_lock_is_a_foreign_pylock_is_told_which_lock_to_make(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    (project / "requirements.in").write_text("alpha-one\n")
    assert cli("lock", "-o", "pylock.toml").code == 0
    _foreign_pylock(project)
    before = files(project)

    result = cli("install", "gamma-three", "--python", sys.executable, "--target", tmp_path / "t")
    assert result.code == 2
    assert "pylock.toml: not updated: it was made by 'uv', not safeinstall" in result.err
    assert "make one with `safeinstall lock requirements.in -o requirements.txt`" in result.err
    assert files(project) == before


def test_a_symlinked_input_is_refused_before_any_lock_is_written(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    elsewhere = project / "deps" / "app.in"
    elsewhere.parent.mkdir()
    elsewhere.write_text("alpha-one\n")
    (project / "requirements.in").symlink_to(elsewhere)
    assert cli("lock").code == 0
    before = files(project)

    result = cli("install", "gamma-three", "--python", sys.executable, "--target", tmp_path / "t")
    assert result.code == 2
    assert "requirements.in: refusing to write through a symbolic link" in result.err
    assert files(project) == before
    assert elsewhere.read_text() == "alpha-one\n"
    assert not (tmp_path / "t").exists()


def test_dry_run_shows_what_each_lock_would_change(cli: Cli, project: Path, tmp_path: Path) -> None:
    two_locks(cli, project)
    before = files(project)
    target = tmp_path / "t"
    args = ("install", "gamma-three", "--python", sys.executable, "--target", target)

    result = cli(*args, "--dry-run")
    assert result.code == 0, result.err
    assert "pylock.toml: would be locked, 3 packages (+gamma-three 1.0)" in result.err
    assert "requirements.txt: would be locked, 3 packages (+gamma-three 1.0)" in result.err
    assert "requirements.in: would be updated" in result.err
    assert files(project) == before
    assert not target.exists()


def test_no_lock_for_the_target_environment_changes_nothing(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    """The lock records --python-version 3.8, and the target interpreter is not 3.8."""
    (project / "requirements.in").write_text("alpha-one\n")
    assert cli("lock", "--python-version", "3.8").code == 0
    before = files(project)

    result = cli("install", "gamma-three", "--python", sys.executable, "--target", tmp_path / "t")
    assert result.code == 1
    assert "requirements.txt is not for" in result.err
    assert files(project) == before
    assert not (tmp_path / "t").exists()


@pytest.mark.slow
def test_a_project_with_only_a_pylock_relocks_just_that_lock(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    (project / "requirements.in").write_text("alpha-one\n")
    assert cli("lock", "-o", "pylock.toml").code == 0
    target = tmp_path / "t"

    result = cli("install", "gamma-three", "--python", sys.executable, "--target", target)
    assert result.code == 0, result.err
    assert set(pins(project / "pylock.toml")) == {"alpha-one", "beta-two", "gamma-three"}
    assert not (project / "requirements.txt").exists()
    assert cli("lock", "--check", "-o", "pylock.toml").code == 0
