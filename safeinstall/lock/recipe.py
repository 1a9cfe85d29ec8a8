"""How a lock is made, as a command line: the options of `safeinstall lock`, its defaults, and
reading back the command a requirements.txt lock records in its header.

``commands/lock.py`` builds its parser from ``add_arguments``; ``audit --fix`` reads the recorded
command with the same options, so the two can never disagree on what a lock's recipe means.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from safeinstall.errors import InputError, Location, UsageError
from safeinstall.filekind import is_pylock
from safeinstall.frozen import Frozen, _set
from safeinstall.policy.model import PackageRule

_HEADER = "# To update it, run:"
REASON_LIMIT = 200
# compiled on first use (re's cache): only `lock --allow-fresh` reads names with it
_FRESH = r"([A-Za-z0-9][A-Za-z0-9._-]*)(==[^\s;]+)?"


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
        "--allow-fresh",
        action="append",
        default=[],
        metavar="PKG",
        help="let PKG (or PKG==VERSION) be locked inside the policy's min-release-age, e.g. for "
        "an urgent security fix (repeatable; needs --reason; recorded in the lock)",
    )
    parser.add_argument(
        "--reason",
        metavar="TEXT",
        help='why --allow-fresh is needed, e.g. "CVE-2026-1234 fix" (recorded with who ran it)',
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not resolve: exit 0 if the lock matches its inputs and policy, 1 if stale",
    )


def allow_fresh(
    names: list[str], reason: str | None, who: Callable[[], str | None]
) -> tuple[tuple[PackageRule, str], ...]:
    """The ``--allow-fresh`` rules with their record, ``REASON (by WHO)``: ``who()`` is git's
    user.name (else $USER). The text goes into the lock, one line: no control characters."""
    if not names:
        if reason is not None:
            raise UsageError("--reason goes with --allow-fresh", hint="add --allow-fresh PKG")
        return ()
    text = (reason or "").strip()
    if not text or not text.isprintable() or len(text) > REASON_LIMIT:
        raise UsageError(
            "--allow-fresh needs --reason: one line of printable text, "
            f"at most {REASON_LIMIT} characters",
            hint='say why, e.g. --allow-fresh demo --reason "CVE-2026-1234 fix"',
        )
    person = next((p for p in (who(), os.environ.get("USER")) if p and _plain(p)), "unknown")
    rules = []
    for name in names:
        match = re.fullmatch(_FRESH, name.strip())
        try:
            spec = SpecifierSet(match[2] or "") if match else None
        except InvalidSpecifier:
            spec = None
        if match is None or spec is None:
            raise UsageError(
                f"--allow-fresh {name!r} is not a package name or name==version",
                hint="write e.g. --allow-fresh demo or --allow-fresh demo==2.1",
            )
        rules.append(PackageRule(name.strip(), canonicalize_name(match[1]), spec))
    return tuple((rule, f"{text} (by {person})") for rule in rules)


def _plain(text: str) -> bool:
    return text.isprintable() and len(text) <= 80


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


class Recipe(Frozen):
    """What `safeinstall lock` was given to make a lock."""

    __slots__ = (
        "all_extras",
        "command",
        "extras",
        "groups",
        "inputs",
        "platform",
        "python_version",
    )
    inputs: tuple[Path, ...]
    command: str  # as recorded, kept in the relocked file's header
    python_version: str | None
    platform: str | None
    extras: tuple[str, ...]
    all_extras: bool
    groups: tuple[str, ...]

    def __init__(
        self,
        inputs: tuple[Path, ...],
        command: str,
        *,
        python_version: str | None = None,
        platform: str | None = None,
        extras: tuple[str, ...] = (),
        all_extras: bool = False,
        groups: tuple[str, ...] = (),
    ) -> None:
        _set(self, "inputs", inputs)
        _set(self, "command", command)
        _set(self, "python_version", python_version)
        _set(self, "platform", platform)
        _set(self, "extras", extras)
        _set(self, "all_extras", all_extras)
        _set(self, "groups", groups)


def find_recipe(path: Path, text: str) -> Recipe:
    """How the lock at ``path`` (its ``text``) was made; InputError when that cannot be known."""
    import shlex  # start-up time: the hooks (`lock`'s parser, `lock --check`) need none

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
    import shlex

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
