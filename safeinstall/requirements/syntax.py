"""pip's requirement-file syntax below the requirement itself: bytes, lines, comments, options.

This mirrors pip 26.3's ``req_file.py`` (line joining, comment stripping, splitting a line into
its requirement part and its options, optparse's option rules) without importing pip, and is
stricter wherever pip would silently ignore something: bad bytes, an option pip drops, a word
after the options. ``reqfile.py`` builds the requirement model on top of this.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from safeinstall.errors import InputError, Location
from safeinstall.frozen import Frozen, _set

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024

# pip's own patterns, character for character.
COMMENT_RE = re.compile(r"(^|\s+)#.*$")
ENV_VAR = r"\$\{([A-Z0-9_]+)\}"  # compiled on first use (re's cache): most lines have none
PEP263_ENCODING_RE = re.compile(rb"coding[:=]\s*([-\w.]+)")

# Order matters: the UTF-16 LE BOM is a prefix of the UTF-32 LE BOM.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)

Scope = Literal["global", "include", "editable", "requirement"]


class OptionSpec(Frozen):
    """One option pip accepts in a requirements file."""

    __slots__ = ("name", "scope", "takes_value")
    name: str  # canonical long form
    takes_value: bool
    scope: Scope

    def __init__(self, name: str, takes_value: bool, scope: Scope) -> None:
        _set(self, "name", name)
        _set(self, "takes_value", takes_value)
        _set(self, "scope", scope)


_SPECS = (
    OptionSpec("--index-url", True, "global"),
    OptionSpec("--extra-index-url", True, "global"),
    OptionSpec("--no-index", False, "global"),
    OptionSpec("--constraint", True, "include"),
    OptionSpec("--requirement", True, "include"),
    OptionSpec("--editable", True, "editable"),
    OptionSpec("--find-links", True, "global"),
    OptionSpec("--no-binary", True, "global"),
    OptionSpec("--only-binary", True, "global"),
    OptionSpec("--prefer-binary", False, "global"),
    OptionSpec("--require-hashes", False, "global"),
    OptionSpec("--no-require-hashes", False, "global"),
    OptionSpec("--pre", False, "global"),
    OptionSpec("--all-releases", True, "global"),
    OptionSpec("--only-final", True, "global"),
    OptionSpec("--trusted-host", True, "global"),
    OptionSpec("--use-feature", True, "global"),
    OptionSpec("--hash", True, "requirement"),
    OptionSpec("--config-settings", True, "requirement"),
)
_BY_NAME = {spec.name: spec for spec in _SPECS}
# Every long spelling pip's optparse knows; optparse also accepts any unambiguous prefix of them.
_LONG = {**_BY_NAME, "--pypi-url": _BY_NAME["--index-url"]}
_SHORT = {
    "-i": _BY_NAME["--index-url"],
    "-c": _BY_NAME["--constraint"],
    "-r": _BY_NAME["--requirement"],
    "-e": _BY_NAME["--editable"],
    "-f": _BY_NAME["--find-links"],
    "-C": _BY_NAME["--config-settings"],
}
# Build-code injection options older pips took per requirement; recorded (exact spelling only)
# so that the policy check can refuse them by name.
_LEGACY = {
    "--global-option": OptionSpec("--global-option", True, "requirement"),
    "--install-option": OptionSpec("--install-option", True, "requirement"),
}


class SplitLine(Frozen):
    """A logical line cut the way pip cuts it: the requirement words, then the options."""

    __slots__ = ("args", "leftovers", "options")
    args: str  # everything before the first word starting with "-" ("" on an option line)
    options: tuple[tuple[OptionSpec, str | None], ...]
    leftovers: tuple[str, ...]  # words after the options; pip ignores them, we refuse them

    def __init__(
        self,
        args: str,
        options: tuple[tuple[OptionSpec, str | None], ...],
        leftovers: tuple[str, ...],
    ) -> None:
        _set(self, "args", args)
        _set(self, "options", options)
        _set(self, "leftovers", leftovers)


def read_bounded(path: Path, display: str, origin: Location | None) -> bytes:
    """Read at most MAX_FILE_BYTES (+1 to detect more) from ``path``; errors name ``origin``."""
    where = origin or Location(display)
    what = f"Requirements file {display!r}"
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(
            f"{what} does not exist", location=where, hint="check the path and its spelling"
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"{what} is a directory, not a file",
            location=where,
            hint="name a requirements file, not its folder",
        ) from None
    except OSError as exc:
        raise InputError(
            f"{what} cannot be read: {exc.strerror or exc}",
            location=where,
            hint="check that the file exists and is readable by this user",
        ) from None
    check_size(len(data), where)
    return data


def check_size(size: int, where: Location) -> None:
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"requirements file {where.path!r} is larger than {MAX_FILE_BYTES >> 20} MiB",
            location=where,
            hint="A requirements file this large is not a requirements file; check its content",
        )


def _line_of(text_before: str) -> int:
    """1-based number (as ``str.splitlines`` counts, like pip) of the line where text resumes."""
    return len((text_before + "x").splitlines())


def decode(data: bytes, display: str) -> str:
    """Decode like pip (BOM, then a PEP 263 header, then UTF-8) but never guess an encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _no_nul(data[len(bom) :].decode(encoding), display)
            except UnicodeDecodeError:
                raise InputError(
                    f"file is not valid {encoding.upper()} although it starts with that BOM",
                    location=Location(display),
                    hint="save the file as UTF-8",
                ) from None
    for line in data.split(b"\n")[:2]:
        if line[:1] == b"#":
            found = PEP263_ENCODING_RE.search(line)
            if found is not None:
                declared = found.group(1).decode("ascii")
                try:
                    normalized = codecs.lookup(declared).name
                except LookupError:
                    normalized = ""
                if normalized != "utf-8":
                    raise InputError(
                        f"file declares encoding {declared!r}; only UTF-8 is accepted",
                        location=Location(display, data.split(b"\n").index(line) + 1),
                        hint="save the file as UTF-8 and remove or fix the coding: line",
                    )
                break
    _no_nul(data[: data.find(b"\x00") + 1].decode("utf-8", "replace"), display)  # binary first
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = _line_of(data[: exc.start].decode("utf-8"))
        raise InputError(
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} cannot start a character)",
            location=Location(display, line_no),
            hint="save the file as UTF-8; binary data is not a requirements file",
        ) from None
    return _no_nul(text, display)


def _no_nul(text: str, display: str) -> str:
    at = text.find("\x00")
    if at >= 0:
        raise InputError(
            "file contains a NUL character",
            location=Location(display, _line_of(text[:at])),
            hint="binary data is not a requirements file; check the file's content",
        )
    return text


def logical_lines(text: str, display: str, *, comments: bool = False) -> Iterator[tuple[int, str]]:
    """Yield (first line number, line) as pip does: join ``\\`` continuations, drop comments
    and blank lines. A comment line ends a continuation (and is itself dropped, unless
    ``comments``: then each whole-line comment is yielded too, stripped, after what it ended)."""
    start = 0
    pending: list[str] = []
    pending_chars = 0
    for number, physical in enumerate(text.splitlines(), start=1):
        line = physical
        comment = "#" in line and COMMENT_RE.match(line) is not None
        if comment or not line.endswith("\\"):
            if comment:
                line = " " + line  # so the comment pattern matches it once joined
            if pending:
                pending.append(line)
                line = "".join(pending)
                pending, pending_chars = [], 0
            else:
                start = number
            if line := _finish(start, line, display):
                yield start, line
            if comment and comments:
                yield number, physical.strip()
        else:
            if not pending:
                start = number
            pending.append(line.strip("\\"))
            pending_chars += len(pending[-1])
            if pending_chars > MAX_LINE_BYTES:  # chars <= bytes: already too long
                _check_length(start, "".join(pending), display)
    if pending and (line := _finish(start, "".join(pending), display)):
        yield start, line


def _finish(number: int, line: str, display: str) -> str:
    """A joined line without its comment ("" when nothing is left), refused when too long."""
    _check_length(number, line, display)
    return strip_comment(line)


def _check_length(number: int, line: str, display: str) -> None:
    if len(line) * 4 > MAX_LINE_BYTES and len(line.encode()) > MAX_LINE_BYTES:
        raise InputError(
            f"line is longer than {MAX_LINE_BYTES // 1024} KiB",
            location=Location(display, number),
            hint="split it; no real requirement line is this long",
        )


def strip_comment(line: str) -> str:
    """``COMMENT_RE.sub("", line).strip()`` in linear time (the regex is quadratic on long
    runs of blanks): cut at the first ``#`` that starts the line or follows whitespace."""
    at = line.find("#")
    while at > 0 and not line[at - 1].isspace():
        at = line.find("#", at + 1)
    return (line if at < 0 else line[:at]).strip()


def env_var_names(line: str) -> tuple[str, ...]:
    """The NAMEs of the ``${NAME}`` references pip would expand on this line, in order."""
    return tuple(re.findall(ENV_VAR, line)) if "${" in line else ()


_SHLEX_WORD = r"[^ \t\r\n]+"  # compiled on first use: most lines hold spaces only


def split_words(text: str) -> list[str]:
    """``shlex.split(text)``, fast when there is nothing to unquote.

    shlex (posix, no comments) differs from ``str.split`` only through quotes and backslashes;
    skipping it on the common hashed line is most of the hook's run time.
    """
    if '"' in text or "'" in text or "\\" in text:
        import shlex  # start-up time: a lock has no quotes

        return shlex.split(text)
    if "\t" in text or "\r" in text or "\n" in text:
        return re.findall(_SHLEX_WORD, text)  # shlex's whitespace is exactly these four characters
    return list(filter(None, text.split(" ")))  # the common case, several times faster


def split_line(line: str, location: Location) -> SplitLine:
    """Cut a logical line into requirement words and options, with optparse's rules."""
    # pip splits on single spaces (not tabs) and cuts before the first word starting with "-"
    if line.startswith("-"):
        args, rest = "", line
    else:
        at = line.find(" -")
        args, rest = (line, "") if at < 0 else (line[:at], line[at + 1 :])
    try:
        words = split_words(rest)
    except ValueError as exc:
        raise InputError(
            f"cannot split the options of this line ({exc})",
            location=location,
            hint="close the quotation or remove the stray quote or backslash",
        ) from None
    options: list[tuple[OptionSpec, str | None]] = []
    leftovers: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            leftovers.extend(words[i:])
            break
        if word.startswith("--"):
            spelled, eq, inline = word.partition("=")
            spec = _long_option(spelled, location)
            value: str | None = inline if eq else None
        elif word.startswith("-") and word != "-":
            spelled, short = word[:2], _SHORT.get(word[:2])
            if short is None:
                raise _unknown(spelled, location)
            spec = short
            value = word[2:] or None
            eq = "=" if value is not None else ""
        else:
            leftovers.append(word)
            continue
        if not spec.takes_value:
            if eq:
                raise InputError(
                    f"option {spec.name} takes no value",
                    location=location,
                    hint=f"write {spec.name} alone",
                )
        elif value is None:
            if i >= len(words):
                raise InputError(
                    f"option {spec.name} needs a value",
                    location=location,
                    hint=f"write {spec.name}=VALUE",
                )
            value = words[i]  # like optparse: the next word, even if it starts with "-"
            i += 1
        options.append((spec, value))
    return SplitLine(args, tuple(options), tuple(leftovers))


def _long_option(spelled: str, location: Location) -> OptionSpec:
    if spelled in _LONG:
        return _LONG[spelled]
    if spelled in _LEGACY:
        return _LEGACY[spelled]
    matches = {_LONG[name].name for name in _LONG if name.startswith(spelled)}
    if len(matches) == 1:
        return _BY_NAME[matches.pop()]
    if matches:
        raise InputError(
            f"option {spelled} is ambiguous (it could be {', '.join(sorted(matches))})",
            location=location,
            hint="write the option's full name",
        )
    raise _unknown(spelled, location)


def _unknown(spelled: str, location: Location) -> InputError:
    return InputError(
        f"unknown option {spelled} in a requirements file",
        location=location,
        hint="remove it or use an option pip accepts in requirements files, spelled in full",
    )
