"""Inputs declared in pyproject.toml: ``[project]`` dependencies, optional-dependencies and PEP 735
``[dependency-groups]``, each with the line it is written on.

tomllib gives values without positions, so each requirement string is located in the raw text
(the first occurrence of the quoted string inside the table it belongs to).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeinstall.errors import InputError, Location

MAX_PYPROJECT_BYTES = 4 * 1024 * 1024
_TOML_TYPES = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
_TOML_TYPES |= {list: "an array"}


@dataclass(frozen=True, slots=True)
class DeclaredRequirement:
    """One PEP 508 string from pyproject.toml: where it is and which list it belongs to."""

    text: str
    location: Location
    group: str  # "project", "optional:<extra>", "group:<name>"


@dataclass(frozen=True, slots=True)
class Pyproject:
    path: str
    data: dict[str, Any]
    requirements: tuple[DeclaredRequirement, ...]
    text: str = ""

    def table_location(self, header: str) -> Location:
        """Where table ``header`` (e.g. ``dependency-groups``) opens, for an error about it."""
        return Location(self.path, _header_line(self.text.splitlines(), header))


def read_toml(
    path: Path, *, max_bytes: int = MAX_PYPROJECT_BYTES, data: bytes | None = None
) -> tuple[str, dict[str, Any]]:
    """The text and parsed content of a TOML file, with errors that name the file and line.

    ``data``: the file's bytes to use instead of what is on disk (an edit not yet written)."""
    if data is not None:
        raw = data
    else:
        from safeinstall.files.capped import read_capped

        raw = read_capped(path, max_bytes, what="the file", hint="check the path")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            "not valid UTF-8 (TOML files must be UTF-8)", location=Location(str(path), line)
        ) from None
    import tomllib  # start-up time: the hook path mostly reads no TOML

    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        where = Location(str(path), int(match.group(1)) if match else None)
        raise InputError(
            f"invalid TOML: {exc}", location=where, hint="fix the TOML syntax"
        ) from None


def _header_line(lines: list[str], header: str) -> int:
    """1-based index of the line opening table ``header`` (e.g. ``project``), or 1."""
    pattern = re.compile(rf"^\s*\[\s*{re.escape(header)}\s*\]\s*(#.*)?$")
    return next((i + 1 for i, line in enumerate(lines) if pattern.match(line)), 1)


def _find_line(lines: list[str], text: str, start: int) -> int:
    quoted = (f'"{text}"', f"'{text}'")
    for number in range(start, len(lines) + 1):
        if any(q in lines[number - 1] for q in quoted):
            return number
    return start


def _strings(value: object, where: str, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | dict) for v in value):
        raise InputError(f"{where} must be an array of strings", location=Location(path))
    return [v for v in value if isinstance(v, str)]


def read_pyproject(path: Path, raw: bytes | None = None) -> Pyproject:
    """The requirements declared in ``path`` (``raw``: its bytes, when not to be read from disk)."""
    text, data = read_toml(path, data=raw)
    lines = text.splitlines()
    name = str(path)
    found: list[DeclaredRequirement] = []

    def add(strings: list[str], table: str, group: str) -> None:
        start = _header_line(lines, table)
        for item in strings:
            found.append(
                DeclaredRequirement(item, Location(name, _find_line(lines, item, start)), group)
            )

    project = _table(data, "project", lines, name)
    add(
        _strings(project.get("dependencies", []), "project.dependencies", name),
        "project",
        "project",
    )
    optional = _table(project, "project.optional-dependencies", lines, name)
    for extra, deps in optional.items():
        where = f"project.optional-dependencies.{extra}"
        add(_strings(deps, where, name), "project.optional-dependencies", f"optional:{extra}")
    for group, deps in _table(data, "dependency-groups", lines, name).items():
        # {include-group = "..."} tables are references, not requirements
        add(
            _strings(deps, f"dependency-groups.{group}", name),
            "dependency-groups",
            f"group:{group}",
        )
    return Pyproject(name, data, tuple(found), text)


def _table(data: dict[str, Any], key: str, lines: list[str], path: str) -> dict[str, Any]:
    """``data[key]`` (the last part of a dotted ``key``) when it is a table; absent: empty."""
    value = data.get(key.rpartition(".")[2], {})
    if not isinstance(value, dict):
        raise InputError(
            f"{key} must be a table, not {_TOML_TYPES.get(type(value), 'this value')}",
            location=Location(path, _key_line(lines, key)),
            hint=f"write it as [{key}], or remove it",
        )
    return value


def _key_line(lines: list[str], key: str) -> int | None:
    """1-based line where ``key`` (its last part) is assigned, or None."""
    last = re.escape(key.rpartition(".")[2])
    pattern = re.compile(rf"^\s*[\"']?{last}[\"']?\s*=")
    return next((i + 1 for i, line in enumerate(lines) if pattern.match(line)), None)
