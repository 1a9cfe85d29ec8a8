"""PEP 508 requirement strings and project names: the name rule, non-ASCII look-alikes, and one
parse whose error explains a look-alike character instead of quoting a parser's position."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from safeinstall import urls
from safeinstall.errors import InputError, Location
from safeinstall.frozen import Frozen, _set
from safeinstall.requirements.markers import marker_problem

if TYPE_CHECKING:
    from packaging.requirements import Requirement

# PEP 508 / PEP 503. re.ASCII matters: with IGNORECASE alone, [A-Z] also matches the Kelvin sign
# and the long s, whose lower/upper case is ASCII. \Z, not $: "$" lets a trailing newline through.
# compiled on first use (re's cache): the hook path reads names through other rules
_NAME = r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z"

# Letters that render like ASCII but that NFKD does not fold to it (NFKD already folds fullwidth,
# mathematical and accented letters), written as escapes so that the source shows which is which.
_LOOKALIKES: dict[str, str] = {
    # Cyrillic
    **dict(zip("\u0430\u0441\u0501\u0435\u04bb\u0456\u0458\u04cf\u043e", "acdehijlo", strict=True)),
    **dict(zip("\u051b\u0440\u0455\u051d\u0445\u0443\u04af\u043a", "qpswxyyk", strict=True)),
    **dict(zip("\u0410\u0412\u0421\u0415\u041d\u0406\u0408\u041a\u041c", "ABCEHIJKM", strict=True)),
    **dict(zip("\u041e\u0420\u0405\u0422\u0425\u0423\u051c\u051a\u04c0", "OPSTXYWQI", strict=True)),
    # Greek
    **dict(zip("\u03b1\u03b9\u03ba\u03bd\u03bf", "aikvo", strict=True)),
    **dict(zip("\u03c1\u03c4\u03c5\u03c7\u03b3", "ptuxy", strict=True)),
    **dict(zip("\u0391\u0392\u0395\u0396\u0397\u0399\u039a", "ABEZHIK", strict=True)),
    **dict(zip("\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7", "MNOPTYX", strict=True)),
    # Latin (dotless i and j, script a and g, ...) and Armenian
    **dict(zip("\u0131\u0237\u0251\u0261\u0269\u01c0\u0142\u00f8\u0111", "ijagillod", strict=True)),
    **dict(zip("\u0127\u0196\u0585\u057d\u0570\u0578\u026a\u028f", "hlouhniy", strict=True)),
}


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid project name (ASCII letters, digits, ``.``, ``_``, ``-``)."""
    return re.match(_NAME, name, re.IGNORECASE | re.ASCII) is not None


def non_ascii_report(name: str) -> str | None:
    """None for an ASCII name; else one sentence naming each non-ASCII character."""
    if name.isascii():
        return None
    parts = []
    for char in dict.fromkeys(ch for ch in name if not ch.isascii()):
        detail = f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')}"
        ascii_char = _ascii_lookalike(char)
        if ascii_char is not None:
            detail += f", looks like '{ascii_char}'"
        elif unicodedata.category(char) in {"Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc"}:
            detail += ", invisible"
        parts.append(f"{_show(char)} ({detail})")
    plural = "s" if len(parts) > 1 else ""
    sentence = f"project name {name!r} contains non-ASCII character{plural} " + ", ".join(parts)
    folded = fold_lookalikes(name)
    if folded is not None and folded != name:
        sentence += f", so it reads as {folded!r}"
    return sentence


class Root(Frozen):
    """A top-level requirement and where it was written (``requirements.in:3``)."""

    __slots__ = ("requirement", "source")
    requirement: Requirement
    source: str

    def __init__(self, requirement: Requirement, source: str) -> None:
        _set(self, "requirement", requirement)
        _set(self, "source", source)


def parse_pep508(text: str, where: Location) -> Requirement:
    """A PEP 508 string, or an InputError that explains look-alike characters; the URL of
    ``name @ URL`` splits (``urls.check``)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        report = non_ascii_report(text)
        raise InputError(
            report or f"invalid requirement {text!r}: {exc}",
            location=where,
            hint="project names are plain ASCII; retype the name"
            if report
            else "write a PEP 508 requirement such as 'name>=1.0'",
        ) from None
    if req.url is not None:
        urls.check(req.url, what=f"the URL of {req.name}", location=where)
    problem = marker_problem(req.marker) if req.marker is not None else None
    if problem is not None:
        raise InputError(
            f"invalid environment marker on {req.name}: {problem}",
            location=where,
            hint='write a PEP 508 marker such as python_version >= "3.11"',
        )
    return req


def _ascii_lookalike(char: str) -> str | None:
    """The ASCII letters or digits ``char`` renders like, if it is a known look-alike."""
    if char in _LOOKALIKES:
        return _LOOKALIKES[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    base = "".join(_LOOKALIKES.get(c, c) for c in base)
    return base if base and base.isascii() and base.isalnum() else None


def fold_lookalikes(name: str) -> str | None:
    """``name`` with every non-ASCII character replaced by its ASCII look-alike; None if one has
    none (invisible characters are dropped)."""
    out = []
    for char in name:
        if char.isascii():
            out.append(char)
        elif (ascii_char := _ascii_lookalike(char)) is not None:
            out.append(ascii_char)
        elif unicodedata.category(char) not in {"Cf", "Mn", "Me"}:
            return None
    return "".join(out)


def _show(char: str) -> str:
    """A character quoted for a message; escaped when it would not render on its own."""
    if char.isprintable() and unicodedata.category(char)[0] not in "MZC":
        return f"'{char}'"
    return "'" + char.encode("unicode_escape").decode("ascii") + "'"
