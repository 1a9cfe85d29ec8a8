"""Which copy of a program is trusted: PATH minus every place a package can write to."""

from __future__ import annotations

from pathlib import Path

from safeinstall.files.programs import system_program, trusted_program
from tests.support.planted import planted_venv


def test_pipx_s_link_to_a_keyring_in_its_own_venv_is_trusted(tmp_path: Path) -> None:
    """pipx links ~/.local/bin/keyring into a venv of its own: judged by the entry on PATH."""
    pipx_venv = planted_venv(tmp_path / "pipx" / "venvs" / "keyring")
    local_bin = tmp_path / "local-bin"
    local_bin.mkdir()
    (local_bin / "keyring").symlink_to(pipx_venv / "bin" / "keyring")
    target = planted_venv(tmp_path / "target")
    environ = {"PATH": f"{target / 'bin'}:{local_bin}", "VIRTUAL_ENV": str(target)}
    found = trusted_program("keyring", environ=environ, cwd=tmp_path / "project")
    assert found.path == str(local_bin / "keyring")
    assert found.skipped == (str(target / "bin" / "keyring"),)


def test_an_empty_path_entry_is_the_current_directory_and_is_skipped(tmp_path: Path) -> None:
    project = planted_venv(tmp_path / "project", pyvenv_cfg=False)
    found = trusted_program("keyring", environ={"PATH": ":"}, cwd=project / "bin")
    assert found.path is None and found.skipped  # named in the error, never run


def test_a_system_program_is_never_taken_from_elsewhere(tmp_path: Path) -> None:
    planted = planted_venv(tmp_path / "venv")
    assert system_program("unshare", [str(tmp_path / "empty")]) is None
    assert system_program("unshare", [str(planted / "bin")]) == str(planted / "bin" / "unshare")


def test_at_the_root_or_from_home_the_current_directory_does_not_hide_everything(
    tmp_path: Path,
) -> None:
    """A container's WORKDIR / (every entry is inside it) or a shell in the home directory
    (~/.local/bin is inside it) still finds the keyring installed there."""
    home = tmp_path / "home"
    tools = planted_venv(home / ".local", pyvenv_cfg=False) / "bin"
    environ = {"PATH": str(tools), "HOME": str(home)}
    for cwd in (Path("/"), home, tmp_path):
        assert trusted_program("keyring", environ=environ, cwd=cwd).path == str(tools / "keyring")
    project = home / "src" / "project"  # a checkout below the home directory
    project.mkdir(parents=True)
    inside = {"PATH": str(project), "HOME": str(home)}
    (project / "keyring").symlink_to(tools / "keyring")
    assert trusted_program("keyring", environ=inside, cwd=project).path is None
