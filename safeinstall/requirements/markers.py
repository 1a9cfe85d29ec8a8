"""PEP 508 environment markers that packaging parses but could not evaluate everywhere.

Imported by every reader of a marker (requirement lines, pyproject, both lock formats, the
policy's ``environments``), on the hook path too: it loads nothing but packaging's specifiers.
"""

from __future__ import annotations

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
