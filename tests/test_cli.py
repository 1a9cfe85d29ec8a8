"""The command line: parsing, help, and what the hook path (`safeinstall check`) loads."""

from __future__ import annotations

import gc
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall import cli as cli_module
from safeinstall.commands import init as init_command
from tests.support.fixtures import Result
from tests.support.paths import ROOT

Run = Callable[..., Result]


def write_lock(path: Path, names: list[str]) -> Path:
    lines = []
    for number, name in enumerate(names):
        digest = hashlib.sha256(name.encode()).hexdigest()
        lines += [f"{name}==1.{number}.0 \\", f"    --hash=sha256:{digest}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_help_lists_every_command(cli: Run) -> None:
    result = cli("--help")
    assert result.code == 0
    text = " ".join(result.out.split())  # help lines are wrapped
    for name in cli_module.COMMANDS:
        assert f"{name} {cli_module._command(name).HELP}" in text


@pytest.mark.parametrize(("command", "own_option"), [("check", "--lock"), ("init", "--force")])
def test_command_help_has_its_own_and_the_global_options(
    cli: Run, command: str, own_option: str
) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    assert result.out.startswith(f"usage: safeinstall {command} [-h] [--debug] [-v] [-q]")
    assert own_option in result.out
    assert "--policy PATH" in result.out


def test_global_options_after_the_command(cli: Run, tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "requirements.txt", ["requests"])
    policy = tmp_path / "safeinstall.toml"
    policy.write_text("")
    result = cli("check", "-q", "--policy", policy, "--format", "json", lock)
    assert result.code == 0, result.err
    assert '"exit_code": 0' in result.out


def test_global_options_before_the_command(cli: Run, tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "requirements.txt", ["requests"])
    policy = tmp_path / "safeinstall.toml"
    policy.write_text("")
    # the command is not the first word: the full parser is built, with every command
    result = cli("-q", "--policy", policy, "check", "--format", "json", lock)
    assert result.code == 0, result.err
    assert '"exit_code": 0' in result.out


def test_usage_errors_exit_2(cli: Run) -> None:
    assert cli("nope").code == 2
    result = cli("check", "--bogus")
    assert result.code == 2
    assert "unrecognized arguments: --bogus" in result.err


def test_only_the_named_command_gets_its_arguments(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(parser: object) -> None:
        raise AssertionError("init's arguments were built for `check`")

    monkeypatch.setattr(init_command, "add_arguments", boom)
    lock = write_lock(tmp_path / "requirements.txt", ["requests"])
    assert cli("check", lock).code == 0


@pytest.mark.parametrize("columns", [None, "57", "0", "junk", "-3"])
def test_help_width_is_shutils(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert cli_module._terminal_columns() == shutil.get_terminal_size().columns


def test_help_wraps_at_columns(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    lines = cli("check", "--help").out.splitlines()
    assert max(len(line) for line in lines) <= 58


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` run by a fresh interpreter that imports safeinstall from this checkout."""
    env = {"PYTHONPATH": str(ROOT), "PIP_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


# Imported by the full parsers, TOML, JSON and packaged-data paths; a hashed lock needs none.
NOT_ON_THE_HOOK_PATH = (
    "packaging.requirements",
    "packaging.markers",
    "importlib.resources",
    "shutil",
    "json",
    "tomllib",
    "difflib",
    "safeinstall.policy.keys",
    "safeinstall.guard.names",
    "safeinstall.requirements.pyproject",
    "safeinstall.guard.pylock",
)


def test_checking_a_hashed_lock_loads_only_what_it_needs(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # stop policy discovery here
    write_lock(tmp_path / "requirements.txt", ["requests", "numpy", "zope-interface"])
    code = (
        "import sys\n"
        "from safeinstall.cli import main\n"
        "assert main(['check', 'requirements.txt']) == 0\n"
        f"print(sorted(set({NOT_ON_THE_HOOK_PATH!r}) & set(sys.modules)))\n"
    )
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- the cycle collector on the hooks' short runs -------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "short"),
    [
        (["check", "requirements.txt"], True),
        (["-q", "check", "requirements.txt"], True),  # the full parser: the same answer
        (["lock", "--check"], True),
        (["lock"], False),
        (["tree", "requirements.txt"], False),
        (["diff", "a.txt", "b.txt"], False),
    ],
)
def test_the_collector_is_off_only_while_a_hook_command_runs(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], short: bool
) -> None:
    seen: list[bool] = []

    def run(args: object, ui: object) -> int:
        seen.append(gc.isenabled())
        return 0

    command = next(w for w in argv if not w.startswith("-"))
    monkeypatch.setattr(cli_module._command(command), "run", run)
    assert gc.isenabled()
    assert cli_module.main(argv) == 0
    assert seen == [not short]
    assert gc.isenabled()  # back on for a process that goes on
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize(
    ("argv", "long"),
    [
        (["lock"], True),
        (["install", "-r", "requirements.txt"], True),
        (["tree", "requirements.txt"], True),
        (["check", "requirements.txt"], False),
        (["lock", "--check"], False),
    ],
)
def test_a_long_run_collects_cycles_rarely_and_restores_the_thresholds(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], long: bool
) -> None:
    seen: list[tuple[int, ...]] = []

    def run(args: object, ui: object) -> int:
        seen.append(gc.get_threshold())
        raise KeyboardInterrupt  # a failed run restores them as well

    before = gc.get_threshold()
    monkeypatch.setattr(cli_module._command(argv[0]), "run", run)
    assert cli_module.main(argv) == 130
    assert (seen == [cli_module.LONG_RUN_THRESHOLDS]) is long
    assert gc.get_threshold() == before


def test_a_failing_hook_command_turns_the_collector_back_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run(args: object, ui: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module._command("check"), "run", run)
    assert cli_module.main(["check", "requirements.txt"]) == 130
    assert gc.isenabled()


@pytest.mark.parametrize(("command", "collecting"), [("check", False), ("tree", True)])
def test_the_console_script_freezes_its_objects_instead_of_collecting_at_exit(
    tmp_path: Path, command: str, collecting: bool
) -> None:
    """The process ends: a run's objects are frozen, so that neither the interpreter's
    exit-time collection nor a collection at the restored thresholds walks them (the collector
    stays on for a long run, off for a hook's)."""
    (tmp_path / ".git").mkdir()
    write_lock(tmp_path / "requirements.txt", ["requests"])
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print(gc.get_freeze_count() > 0, gc.isenabled()))\n"
        f"sys.argv = ['safeinstall', {command!r}, 'requirements.txt']\n"
        "from safeinstall.cli import entry\n"
        "entry()\n"
    )
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"True {collecting}"
