"""Adding requirements to a project's input: find the project, edit its requirements.in or
pyproject.toml.

A project is the nearest directory, from the working directory up to the git root, holding
``requirements.in`` or a ``pyproject.toml`` with a ``[project]`` table (the same inputs, in the same
order, as ``safeinstall lock`` picks by default). Its locks are those of ``DEFAULT_LOCKS`` that
exist there (``pylock.toml`` first); its lock, for a command that reads one, is the first of them,
else ``requirements.txt``.

Edits are pure (old bytes -> new bytes), so the caller can resolve with the edited input in memory
and write it only once the new lock is written. ``requirements.in``: a new name is appended as a
line, the rest kept byte for byte; a name already there keeps its line, with only its specifier
replaced, and only when one was given. ``pyproject.toml``: ``[project] dependencies``, edited
with tomlkit (formatting and comments kept).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from safeinstall.errors import InputError, Location, UsageError
from safeinstall.filekind import DEFAULT_LOCKS

INPUTS = ("requirements.in", "pyproject.toml")
COMMAND_LINE = Location("command line")


@dataclass(frozen=True, slots=True)
class Project:
    root: Path  # absolute
    input: Path  # root / requirements.in or root / pyproject.toml
    lock: Path  # root / pylock.toml when it exists, else root / requirements.txt

    @property
    def lock_command(self) -> str:
        """The `safeinstall lock` command that remakes the lock, run from ``root``."""
        return f"safeinstall lock {self.input.name} -o {self.lock.name}"

    @property
    def locks(self) -> tuple[Path, ...]:
        """Every lock the project keeps, ``pylock.toml`` first (none before the first lock)."""
        return tuple(self.root / n for n in DEFAULT_LOCKS if (self.root / n).is_file())


def find_project(start: Path) -> Project | None:
    """The project ``start`` is in (see the module docstring), or None outside any project."""
    start = start.resolve()
    for directory in (start, *start.parents):
        project = project_at(directory)
        if project is not None:
            return project
        if (directory / ".git").exists():
            return None
    return None


def project_at(directory: Path) -> Project | None:
    """The project whose root is ``directory``, or None when it has no input there."""
    for name in INPUTS:
        path = directory / name
        if path.is_file() and (name != "pyproject.toml" or _has_project_table(path)):
            lock = next((directory / n for n in DEFAULT_LOCKS if (directory / n).is_file()), None)
            return Project(directory, path, lock or directory / "requirements.txt")
    return None


def _has_project_table(path: Path) -> bool:
    from safeinstall.requirements.pyproject import read_toml

    return isinstance(read_toml(path)[1].get("project"), dict)


def parse_wanted(texts: Sequence[str]) -> list[Requirement]:
    """The requirements typed on the command line: names from an index, never URLs or paths."""
    from safeinstall.requirements.pep508 import parse_pep508

    wanted: dict[str, Requirement] = {}
    for text in texts:
        req = parse_pep508(text, COMMAND_LINE)
        if req.url is not None:
            raise UsageError(
                f"{req.name} @ {req.url}: install by name takes packages from the trusted "
                "indexes, not URLs",
                hint="write the direct reference into the project's input by hand and "
                "`safeinstall lock`, if the policy allows it",
            )
        wanted[canonicalize_name(req.name)] = req  # the last one given wins
    return list(wanted.values())


def add_to_requirements_in(data: bytes, path: str, wanted: Sequence[Requirement]) -> bytes:
    """``data`` (the bytes of requirements file ``path``) with ``wanted`` added."""
    from safeinstall.requirements.file import parse_requirements_text

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            "is not UTF-8, so safeinstall will not edit it",
            location=Location(path),
            hint="save it as UTF-8",
        ) from None
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text.removeprefix(bom)
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    parsed = parse_requirements_text(text, path)
    appended: list[str] = []
    for req in wanted:
        name = canonicalize_name(req.name)
        found = [r for r in parsed.requirements if r.name == name and not r.constraint]
        if not found:
            appended.append(str(req) + newline)
            continue
        line = found[0]
        if line.location.path != path or line.location.line is None:
            raise UsageError(
                f"{req.name} is required in {line.location}, an included file",
                hint="change it there by hand, then `safeinstall lock`",
            )
        if not (req.specifier or req.extras or req.marker):
            continue  # already required, and nothing new was asked for
        index = line.location.line - 1
        lines[index] = _replaced(lines[index], line.raw_name or req.name, req, line.location)
    if appended and lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    return (bom + "".join(lines + appended)).encode("utf-8")


def _replaced(physical: str, raw_name: str, req: Requirement, where: Location) -> str:
    """``physical`` with the specifier of ``raw_name`` replaced by the one ``req`` gives.

    Extras or a marker given on the command line replace the whole requirement (the comment
    and options after it are kept)."""
    body = physical.rstrip("\r\n")
    ending = physical[len(body) :]
    match = re.fullmatch(
        rf"(\s*{re.escape(raw_name)}\s*(?:\[[^\]]*\])?)([^;#]*?)((?:\s*;|\s+#|\s+-|\s*$).*)",
        body,
        re.IGNORECASE | re.DOTALL,
    )
    if match is None or body.rstrip().endswith("\\"):
        raise UsageError(
            f"cannot change the requirement on {where} safely (it spans several lines)",
            hint=f"edit it by hand to read {str(req)!r}, then `safeinstall lock`",
        )
    head, _, tail = match.groups()
    if req.extras or req.marker:
        comment = re.search(r"\s+(#|-).*$", tail)
        return str(req) + (comment.group(0) if comment else "") + ending
    return f"{head}{req.specifier}{tail}{ending}"


def add_to_pyproject(data: bytes, path: str, wanted: Sequence[Requirement]) -> bytes:
    """``data`` (the bytes of ``path``, a pyproject.toml) with ``wanted`` in
    ``[project] dependencies``; everything else byte for byte."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(data.decode("utf-8"))
    except (UnicodeDecodeError, TOMLKitError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot edit this TOML: {exc}", location=Location(path)) from None
    project = doc.get("project")
    if not isinstance(project, dict):
        raise InputError("has no [project] table", location=Location(path))
    if "dependencies" in project.get("dynamic", []):
        raise UsageError(
            f"{path} declares its dependencies dynamic, so they cannot be added to it",
            hint="add the requirement where the build backend reads dependencies from",
        )
    if "dependencies" not in project:
        project["dependencies"] = tomlkit.array()
    deps = project["dependencies"]
    if not isinstance(deps, list):
        raise InputError("project.dependencies must be an array", location=Location(path))
    for req in wanted:
        name = canonicalize_name(req.name)
        index = next(
            (i for i, item in enumerate(deps) if _name_of(item, path) == name),
            None,
        )
        if index is None:
            deps.append(str(req))
        elif req.specifier or req.extras or req.marker:
            old = Requirement(str(deps[index]))
            old.specifier = req.specifier
            old.extras = req.extras or old.extras
            old.marker = req.marker or old.marker
            deps[index] = str(old)
    return tomlkit.dumps(doc).encode("utf-8")


def _name_of(item: object, path: str) -> str | None:
    from safeinstall.requirements.pep508 import parse_pep508

    if not isinstance(item, str):
        return None
    return canonicalize_name(parse_pep508(item, Location(path)).name)
