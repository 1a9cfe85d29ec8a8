"""How a lock is made, as a command line: the options of `safeinstall lock`, its defaults, and
reading back the command a requirements.txt lock records in its header.

``commands/lock.py`` builds its parser from ``add_arguments``; ``audit --fix`` reads the recorded
command with the same options, so the two can never disagree on what a lock's recipe means.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from safeinstall.errors import InputError, Location, UsageError
from safeinstall.filekind import is_pylock

_HEADER = "# To update it, run:"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="INPUT",
        help="requirement files and/or pyproject.toml "
        "(default: requirements.in, else pyproject.toml)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="the lock to write (default: requirements.txt, or INPUT with .txt for a single *.in)",
    )
    upgrade = parser.add_mutually_exclusive_group()
    upgrade.add_argument(
        "-U", "--upgrade", action="store_true", help="ignore the pins of the existing lock"
    )
    upgrade.add_argument(
        "-P",
        "--upgrade-package",
        action="append",
        default=[],
        metavar="PKG",
        help="let PKG move off its existing pin (repeatable)",
    )
    parser.add_argument(
        "--python-version",
        metavar="X.Y[,X.Y...]",
        help="lock for this Python version (comma-separated: for each of them)",
    )
    parser.add_argument(
        "--platform",
        metavar="P[,P...]",
        help="lock for this platform: linux, linux-aarch64, macos, macos-x86_64, windows, "
        "windows-arm64, or a wheel platform tag such as manylinux_2_28_x86_64 (comma-separated: "
        "for each of them, with each Python version)",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME",
        help="include an optional dependency group of pyproject.toml (repeatable)",
    )
    parser.add_argument(
        "--all-extras", action="store_true", help="include every optional dependency group"
    )
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME",
        help="include a PEP 735 [dependency-groups] group (repeatable)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not resolve: exit 0 if the lock matches its inputs and policy, 1 if stale",
    )


def default_inputs() -> list[Path]:
    for name in ("requirements.in", "pyproject.toml"):
        if Path(name).is_file():
            return [Path(name)]
    raise UsageError(
        "no inputs given and neither requirements.in nor pyproject.toml is here",
        hint="name the inputs, e.g. `safeinstall lock requirements.in -o requirements.txt`",
    )


def default_output(inputs: list[Path]) -> Path:
    if len(inputs) == 1 and inputs[0].suffix == ".in":
        return inputs[0].with_suffix(".txt")
    return Path("requirements.txt")


@dataclass(frozen=True, slots=True)
class Recipe:
    """What `safeinstall lock` was given to make a lock."""

    inputs: tuple[Path, ...]
    command: str  # as recorded, kept in the relocked file's header
    python_version: str | None = None
    platform: str | None = None
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()


def find_recipe(path: Path, text: str) -> Recipe:
    """How the lock at ``path`` (its ``text``) was made; InputError when that cannot be known."""
    if is_pylock(path):
        inputs = default_inputs()  # pylock.toml records no command: what `lock` would use
        command = shlex.join(["safeinstall", "lock", *map(str, inputs), "-o", str(path)])
        return Recipe(_inside_here(path, inputs), command)
    command = _recorded_command(path, text)
    args = _parse_command(path, command)
    inputs = args.inputs or default_inputs()
    output: Path = args.output or default_output(inputs)
    if output.resolve() != path.resolve():
        raise InputError(
            f"the lock's recorded command writes {output}, not this lock",
            location=Location(str(path)),
            hint="run `safeinstall audit --fix` in the directory where the lock was made",
        )
    return Recipe(
        _inside_here(path, inputs),
        command,
        python_version=args.python_version,
        platform=args.platform,
        extras=tuple(args.extra),
        all_extras=args.all_extras,
        groups=tuple(args.group),
    )


# -- reading the recorded command --------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """`safeinstall lock`'s own arguments, raising instead of exiting on a bad command."""

    def __init__(self, path: Path) -> None:
        super().__init__(prog="safeinstall lock", add_help=False)
        self.path = path

    def error(self, message: str) -> NoReturn:
        raise InputError(
            f"the lock's recorded command cannot be read: {message}",
            location=Location(str(self.path), 3),
            hint="relock with `safeinstall lock` so that the header records the command",
        )


def _recorded_command(path: Path, text: str) -> str:
    lines = text.splitlines()[:8]
    for number, line in enumerate(lines[:-1]):
        if line.strip() == _HEADER:
            command = lines[number + 1].removeprefix("#").strip()
            if command.startswith("safeinstall lock"):
                return command
    raise InputError(
        "the lock does not record the `safeinstall lock` command that made it",
        location=Location(str(path)),
        hint="make the lock with `safeinstall lock`, then run `audit --fix` again",
    )


def _parse_command(path: Path, command: str) -> argparse.Namespace:
    parser = _Parser(path)
    add_arguments(parser)
    try:
        words = shlex.split(command)
    except ValueError as exc:
        parser.error(str(exc))
    return parser.parse_args(words[2:])


def _inside_here(lock: Path, inputs: list[Path]) -> tuple[Path, ...]:
    """The inputs, refused when one is not a file under the current directory.

    The recorded command comes from a file a pull request can change: it must not make
    `audit --fix` read (and quote in its errors) a file from elsewhere on the machine.
    """
    here = Path.cwd().resolve()
    for item in inputs:
        if not item.resolve().is_relative_to(here) or not item.is_file():
            raise InputError(
                f"the lock's input {item} is not a file in this directory",
                location=Location(str(lock)),
                hint="run `safeinstall audit --fix` in the directory where the lock was made",
            )
    return tuple(inputs)
