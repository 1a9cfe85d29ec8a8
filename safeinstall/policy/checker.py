"""Validating a policy table: every problem collected (each with the line its key or value is on
in the file) and reported at once, with a hint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from packaging.utils import canonicalize_name

from safeinstall.errors import Location, PolicyConfigError

HINT = "fix the policy; `safeinstall init --dry-run` shows a commented example"


class Checker:
    """Collects problems, each with the line its key (or value) is on in the raw text."""

    def __init__(self, source: str, text: str = "", start_line: int = 1) -> None:
        self.source = source
        self.lines = text.splitlines()
        self.start = start_line - 1
        self.problems: list[tuple[int | None, str]] = []

    def problem(self, text: str, *needles: str) -> None:
        self.problems.append((self._line_of(needles), text))

    def _line_of(self, needles: tuple[str, ...]) -> int | None:
        """Find each needle (``key`` or ``"value``) in turn, each at or after the previous."""
        found: int | None = None
        pos = self.start
        for needle in needles:
            at = next((n for n in range(pos, len(self.lines)) if has(self.lines[n], needle)), None)
            if at is None:
                break
            found, pos = at + 1, at
        return found

    def unknown_keys(self, table: Mapping[str, Any], valid: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in valid:
                import difflib  # only for a key that is wrong

                close = difflib.get_close_matches(key, valid, n=1)
                tip = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(f"unknown key {key!r}{where}{tip}", key)

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        self.problems.sort(key=lambda problem: problem[0] or 0)
        if len(self.problems) == 1:
            line, text = self.problems[0]
            raise PolicyConfigError(text, location=Location(self.source, line), hint=HINT)
        listing = "\n".join(
            f"  {Location(self.source, line)}: {text}" for line, text in self.problems
        )
        raise PolicyConfigError(
            f"the policy has {len(self.problems)} problems:\n{listing}",
            location=Location(self.source),
            hint=HINT,
        )


def has(line: str, needle: str) -> bool:
    if needle.startswith('"'):
        return f'"{needle[1:]}"' in line or f"'{needle[1:]}'" in line
    return re.search(rf"(^|[\s{{,.\[])[\"']?{re.escape(needle)}[\"']?\s*(=|\])", line) is not None


def kind_of(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    names |= {list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def strings(r: Checker, key: str, value: object, *needles: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        got = "an empty or non-string entry" if isinstance(value, list) else kind_of(value)
        r.problem(f"{key!r} must be an array of non-empty strings, not {got}", *needles, key)
        return []
    return [v.strip() for v in value]


def flag(r: Checker, key: str, value: object) -> bool:
    """A boolean key: ``true`` or ``false``."""
    if not isinstance(value, bool):
        r.problem(f"{key!r} must be true or false, not {kind_of(value)}", key)
        return False
    return value


# Character classes as sets, not regular expressions: compiling one costs the hook path more
# than every check made with it (the policy is validated on every `check`).
ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NAME_GLOB = ALNUM | frozenset("*?._-")


def spelled(text: str, chars: frozenset[str], *, first: frozenset[str] | None = None) -> bool:
    """Whether ``text`` is non-empty, made of ``chars`` only, and starts with one of ``first``
    (what ``re.fullmatch("[first][chars]*", text)`` says, without compiling it)."""
    return bool(text) and chars.issuperset(text) and (first is None or text[0] in first)


def canonical_glob(pattern: str) -> str:
    """A name glob in the canonical form names are matched in (``Acme_Lib*`` -> ``acme-lib*``)."""
    return canonicalize_name(pattern)  # re.sub(r"[-_.]+", "-", pattern).lower(), uncompiled


def globs(r: Checker, key: str, value: object, *needles: str) -> tuple[str, ...]:
    out = []
    for item in strings(r, key, value, *needles):
        if spelled(item, _NAME_GLOB):
            out.append(canonical_glob(item))
        else:
            r.problem(
                f"{key!r}: {item!r} is not a package name or name pattern like 'acme-*'",
                *needles,
                key,
                '"' + item,
            )
    return tuple(out)
