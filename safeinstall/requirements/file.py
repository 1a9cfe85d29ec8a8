"""pip requirement files (requirements.in, requirements.txt) read into values with file:line.

The syntax is pip 26.3's (see ``reqsyntax.py`` for bytes, lines and options); what pip would
silently ignore or fetch is refused instead: remote or out-of-tree includes, options pip drops,
``--hash`` without a requirement, bad bytes. ``${NAME}`` references are recorded, never expanded.
Nothing here judges policy (hash algorithms, pins, indexes): the checker does, from these values.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

from safeinstall.errors import InputError, Location
from safeinstall.frozen import Frozen, _set
from safeinstall.requirements.line import Kind, check_url, interpret
from safeinstall.requirements.syntax import (
    check_size,
    decode,
    env_var_names,
    logical_lines,
    read_bounded,
    split_line,
)

if TYPE_CHECKING:  # start-up time: a lock without markers never needs the marker parser
    from packaging.markers import Marker

__all__ = [
    "HashPin",
    "Option",
    "ReqLine",
    "RequirementsFile",
    "parse_requirements",
    "parse_requirements_text",
]

MAX_FILES_READ = 1000  # includes read in one parse, repeats counted (diamonds multiply)
_REMOTE_RE = re.compile(r"^(http|https|file):", re.IGNORECASE)  # what pip would fetch
_URL_OPTIONS = frozenset({"--index-url", "--extra-index-url", "--find-links"})
# The line a hashed lock is made of (continuations joined): one requirement word, then only
# --hash=sha256:HEX options. It needs none of the option parser's rules, so it skips them and
# reads exactly as through them (tests/property prove it).
_HASHED_RE = re.compile(r"[^\s-]\S*(?: +--hash=sha256:[0-9a-fA-F]+)+")


class HashPin(Frozen):
    """``--hash=ALGORITHM:DIGEST`` as written (algorithm lower-cased); not validated here."""

    __slots__ = ("algorithm", "digest")
    algorithm: str
    digest: str

    def __init__(self, algorithm: str, digest: str) -> None:
        _set(self, "algorithm", algorithm)
        _set(self, "digest", digest)


class ReqLine(Frozen):
    """One requirement: a logical line naming something to install (or constrain)."""

    __slots__ = (
        "constraint",
        "editable",
        "env_vars",
        "extras",
        "hashes",
        "kind",
        "line",
        "location",
        "marker",
        "name",
        "options",
        "raw_name",
        "specifier",
        "url",
    )
    location: Location
    line: str
    kind: Kind
    name: NormalizedName | None
    raw_name: str | None
    specifier: SpecifierSet
    extras: frozenset[NormalizedName]
    marker: Marker | None
    url: str | None
    editable: bool
    hashes: tuple[HashPin, ...]
    options: tuple[tuple[str, str], ...]
    constraint: bool
    env_vars: tuple[str, ...]

    def __init__(
        self,
        *,
        location: Location,
        line: str,
        kind: Kind,
        name: NormalizedName | None,
        raw_name: str | None,
        specifier: SpecifierSet,
        extras: frozenset[NormalizedName],
        marker: Marker | None,
        url: str | None,
        editable: bool,
        hashes: tuple[HashPin, ...],
        options: tuple[tuple[str, str], ...],
        constraint: bool,
        env_vars: tuple[str, ...],
    ) -> None:
        _set(self, "location", location)
        _set(self, "line", line)
        _set(self, "kind", kind)
        _set(self, "name", name)
        _set(self, "raw_name", raw_name)
        _set(self, "specifier", specifier)
        _set(self, "extras", extras)
        _set(self, "marker", marker)
        _set(self, "url", url)
        _set(self, "editable", editable)
        _set(self, "hashes", hashes)
        _set(self, "options", options)
        _set(self, "constraint", constraint)
        _set(self, "env_vars", env_vars)


class Option(Frozen):
    """A global option line (``--index-url URL``, ``--pre`` ...), in long form."""

    __slots__ = ("env_vars", "location", "name", "value")
    location: Location
    name: str
    value: str | None
    env_vars: tuple[str, ...]

    def __init__(
        self, location: Location, name: str, value: str | None, env_vars: tuple[str, ...]
    ) -> None:
        _set(self, "location", location)
        _set(self, "name", name)
        _set(self, "value", value)
        _set(self, "env_vars", env_vars)


class RequirementsFile(Frozen):
    """A parsed file with its includes: requirements and global options in order, files read."""

    __slots__ = ("files", "options", "path", "requirements")
    path: str
    requirements: tuple[ReqLine, ...]
    options: tuple[Option, ...]
    files: tuple[str, ...]

    def __init__(
        self,
        path: str,
        requirements: tuple[ReqLine, ...],
        options: tuple[Option, ...],
        files: tuple[str, ...],
    ) -> None:
        _set(self, "path", path)
        _set(self, "requirements", requirements)
        _set(self, "options", options)
        _set(self, "files", files)


def parse_requirements(
    path: str | os.PathLike[str], *, root: Path | None = None
) -> RequirementsFile:
    """Read a requirements file and its ``-r``/``-c`` includes; raise InputError on any problem.

    ``root`` bounds includes (after following symlinks); by default the nearest ancestor of the
    file holding ``.git``, else the file's own directory.
    """
    display = os.fspath(path)
    if root is None:
        root = _default_root(Path(display).absolute().parent)
    parser = _Parser(root.resolve())
    parser.read_file(display, constraint=False, chain=(), origin=None)
    return parser.result(display)


def parse_requirements_text(
    text: str, path: str = "-", *, root: Path | None = None
) -> RequirementsFile:
    """Parse requirements given as text; ``path`` names it in errors and anchors includes.

    The text goes through the same checks as a file's bytes (size, NUL, coding header)."""
    base = Path(path).absolute().parent if path != "-" else Path.cwd()
    parser = _Parser((root or _default_root(base)).resolve())
    data = text.encode("utf-8", "surrogatepass")
    check_size(len(data), Location(path))
    parser.read_text(decode(data, path), path, constraint=False, chain=())
    return parser.result(path)


def _default_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


class _Parser:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.requirements: list[ReqLine] = []
        self.options: list[Option] = []
        self.files: dict[str, None] = {}
        self.reads = 0

    def result(self, path: str) -> RequirementsFile:
        return RequirementsFile(
            path, tuple(self.requirements), tuple(self.options), tuple(self.files)
        )

    def read_file(
        self,
        display: str,
        *,
        constraint: bool,
        chain: tuple[tuple[Path, str], ...],
        origin: Location | None,
    ) -> None:
        where = origin or Location(display)
        if _REMOTE_RE.match(display):
            raise InputError(
                f"remote requirements file {display!r} refused",
                location=where,
                hint="download it, review it and commit it next to this file",
            )
        try:
            real = Path(display).resolve()
        except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
            raise InputError(
                f"requirements file {display!r} is a symlink loop",
                location=where,
                hint="point the symlink at a real file",
            ) from None
        if not real.is_relative_to(self.root):
            raise InputError(
                f"requirements file {display!r} resolves to {str(real)!r}, "
                f"outside {str(self.root)!r}",
                location=where,
                hint="keep included files inside the project (symlinks are followed)",
            )
        if any(real == seen for seen, _ in chain):
            names = " -> ".join([name for _, name in chain] + [display])
            raise InputError(
                f"requirements files include each other in a cycle: {names}",
                location=where,
                hint="remove one of the -r/-c lines that close the cycle",
            )
        self.reads += 1
        if self.reads > MAX_FILES_READ:
            raise InputError(
                f"more than {MAX_FILES_READ} requirements files read through includes",
                location=where,
                hint="include each file once; repeated includes multiply",
            )
        data = read_bounded(real, display, origin)
        self.read_text(decode(data, display), display, constraint=constraint, chain=chain)

    def read_text(
        self, text: str, display: str, *, constraint: bool, chain: tuple[tuple[Path, str], ...]
    ) -> None:
        self.files.setdefault(display, None)
        here = (*chain, (Path(display).resolve(), display))
        for number, line in logical_lines(text, display):
            self._line(line, Location(display, number), constraint, here)

    def _line(
        self,
        line: str,
        location: Location,
        constraint: bool,
        chain: tuple[tuple[Path, str], ...],
    ) -> None:
        env_vars = env_var_names(line)
        if _HASHED_RE.fullmatch(line):
            at = line.find(" -")  # where split_line cuts: the requirement is all before it
            hashes: list[tuple[str, str | None]] = [
                ("--hash", word.removeprefix("--hash=")) for word in line[at + 1 :].split()
            ]
            self._requirement(
                line[:at],
                editable=False,
                per_req=hashes,
                location=location,
                constraint=constraint,
                env_vars=env_vars,
                line=line,
            )
            return
        split = split_line(line, location)
        if split.leftovers:
            raise InputError(
                f"unexpected {split.leftovers[0]!r} after the options; pip would ignore it",
                location=location,
                hint="put each requirement on its own line, before its options",
            )
        by_scope: dict[str, list[tuple[str, str | None]]] = {}
        for spec, value in split.options:
            by_scope.setdefault(spec.scope, []).append((spec.name, value))
        editables = by_scope.pop("editable", [])
        per_req = by_scope.pop("requirement", [])
        if split.args or editables:
            if (split.args and editables) or len(editables) > 1:
                raise InputError(
                    "A line may hold one requirement or one -e, not several",
                    location=location,
                    hint="put each requirement on its own line",
                )
            if by_scope:
                name = next(iter(by_scope.values()))[0][0]
                raise _ignored(name, "on a requirement line", location)
            arg = split.args or str(editables[0][1])
            self._requirement(
                arg,
                editable=bool(editables),
                per_req=per_req,
                location=location,
                constraint=constraint,
                env_vars=env_vars,
                line=line,
            )
            return
        if per_req:
            raise _ignored(per_req[0][0], "on a line without a requirement", location)
        includes = by_scope.get("include", [])
        if includes:
            if len(split.options) > 1:
                raise _ignored(split.options[1][0].name, "next to -r/-c", location)
            name, value = includes[0]
            target = str(value)
            if not _REMOTE_RE.match(target):  # relative to the including file, as pip does
                target = os.path.join(os.path.dirname(location.path), target)
            self.read_file(target, constraint=name == "--constraint", chain=chain, origin=location)
            return
        for spec, value in split.options:
            if spec.name in _URL_OPTIONS and value:
                check_url(value, location)
            self.options.append(Option(location, spec.name, value, env_vars))

    def _requirement(
        self,
        arg: str,
        *,
        editable: bool,
        per_req: list[tuple[str, str | None]],
        location: Location,
        constraint: bool,
        env_vars: tuple[str, ...],
        line: str,
    ) -> None:
        if editable and constraint:
            raise InputError(
                "editable requirements are not allowed in a constraints file",
                location=location,
                hint="move the -e line to a requirements file",
            )
        hashes: list[HashPin] = []
        options: list[tuple[str, str]] = []
        for name, value in per_req:
            text = str(value)
            if name == "--hash":
                algorithm, colon, digest = text.partition(":")
                if not colon:
                    raise InputError(
                        f"--hash value {text!r} has no ':'",
                        location=location,
                        hint="write --hash=sha256:HEXDIGEST",
                    )
                hashes.append(HashPin(algorithm.lower(), digest))
            else:
                if name == "--config-settings" and "=" not in text:
                    raise InputError(
                        f"--config-settings value {text!r} is not KEY=VALUE",
                        location=location,
                        hint="write --config-settings KEY=VALUE",
                    )
                options.append((name, text))
        parsed = interpret(arg, editable=editable, location=location)
        self.requirements.append(
            ReqLine(
                location=location,
                line=line,
                kind=parsed.kind,
                name=parsed.name,
                raw_name=parsed.raw_name,
                specifier=parsed.specifier,
                extras=parsed.extras,
                marker=parsed.marker,
                url=parsed.url,
                editable=editable,
                hashes=tuple(hashes),
                options=tuple(options),
                constraint=constraint,
                env_vars=env_vars,
            )
        )


def _ignored(option: str, where: str, location: Location) -> InputError:
    return InputError(
        f"option {option} has no effect {where}; pip would silently ignore it",
        location=location,
        hint="global options go on their own line; --hash and -C follow their requirement",
    )
