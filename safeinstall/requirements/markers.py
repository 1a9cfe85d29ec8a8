"""PEP 508 environment markers that packaging parses but could not evaluate everywhere.

Imported by every reader of a marker (requirement lines, pyproject, both lock formats, the
policy's ``environments``), on the hook path too: it loads nothing but packaging's specifiers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.markers import Marker


def marker_problem(marker: Marker) -> str | None:
    """Why packaging would fail to evaluate ``marker`` on some interpreter, or None.

    ``python_version ~= "3"`` parses, but ``~=`` and ``===`` need a version on their right, and
    packaging raises when the comparison is reached, which ``and``/``or`` may leave to another
    platform. Every comparison is looked at, reached or not."""
    from packaging.specifiers import InvalidSpecifier, Specifier

    stack: list[object] = [marker._markers]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, tuple) and str(item[1]) in ("~=", "==="):
            version = item[2] if type(item[2]).__name__ == "Value" else item[0]
            try:
                Specifier(f"{item[1]}{version}")
            except InvalidSpecifier:
                return f"{item[1]} {str(version)!r} compares with no version"
    return None


# A marker of the shapes `safeinstall init` and most policies write: comparisons of a variable
# with a plain quoted value, joined by and/or (no parentheses, aliases, ``extra``, ``~=``,
# ``===`` or ``in``). packaging parses each such text and prints it back as these comparisons
# with double quotes, single spaces and the same and/or, which is what simple_marker returns
# without importing packaging.markers (~10% of a hook run); every other text goes to packaging.
_VARIABLES = frozenset(
    [
        "python_version",
        "python_full_version",
        "os_name",
        "sys_platform",
        "platform_release",
        "platform_system",
        "platform_version",
        "platform_machine",
        "platform_python_implementation",
        "implementation_name",
        "implementation_version",
    ]
)
# small patterns: re compiles them in Python, on every run that reads a policy's environments
_COMPARISON = r"([a-z_]+)[ \t]*(<=|>=|==|!=|<|>)[ \t]*(?:'([\w.*+-]*)'|\"([\w.*+-]*)\")"
_JOIN = r"[ \t]+(and|or)[ \t]+"


def simple_marker(text: str) -> str | None:
    """``str(Marker(text))`` when ``text`` is a simple marker (then it is valid and
    :func:`marker_problem` finds nothing), else None: ask packaging."""
    parts = re.split(_JOIN, text)  # comparison, and/or, comparison, ...
    out = []
    for number, part in enumerate(parts):
        if number % 2:
            out.append(part)
            continue
        found = re.fullmatch(_COMPARISON, part, re.ASCII)
        if found is None or found[1] not in _VARIABLES:
            return None
        variable, op, single, double = found.groups()
        out.append(f'{variable} {op} "{single if single is not None else double}"')
    return " ".join(out)
