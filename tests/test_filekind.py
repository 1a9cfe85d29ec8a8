"""One way to tell a file's kind: every command reads a file under the same format's rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.errors import InputError
from safeinstall.filekind import file_kind, is_pylock
from tests.support.fixtures import Result


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pylock.toml", True),
        ("pylock.dev.toml", True),
        ("pylock.a.b.toml", False),  # PEP 751: the name between the dots has none
        ("pylock-dev.toml", False),
        ("Pylock.toml", False),
        ("pylock.toml.txt", False),
        ("deps.toml", False),
    ],
)
def test_pylock_names_follow_pep_751(name: str, expected: bool) -> None:
    assert is_pylock(Path(name)) is expected


@pytest.mark.parametrize(
    ("name", "mode", "kind"),
    [
        ("requirements.in", None, "input"),
        ("requirements.txt", None, "lock"),
        ("base.txt", "input", "input"),
        ("pyproject.toml", "lock", "pyproject"),
        ("pylock.toml", "input", "pylock"),
    ],
)
def test_kinds(name: str, mode: str | None, kind: str) -> None:
    assert file_kind(Path(name), mode=mode) == kind  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Pylock.toml", "pylock-dev.toml", "deps.toml", "reqs"])
def test_unknown_names_are_input_errors(name: str) -> None:
    with pytest.raises(InputError):
        file_kind(Path(name))


@pytest.mark.parametrize("command", [("check",), ("sbom",), ("tree",), ("audit", "--db", ".")])
def test_every_command_refuses_a_toml_that_is_no_pep_751_lock(
    cli: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
) -> None:
    # Read as pylock by `check` and as requirements.txt by the lock reader, before there was one
    # rule for both.
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "Pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "x"\n')
    result = cli(*command, "Pylock.toml")
    assert result.code == 2, result
    assert "Pylock.toml" in result.err
    assert "pylock.toml or pylock.NAME.toml" in result.err
    assert "Traceback" not in result.err
