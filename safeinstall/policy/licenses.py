"""The license of a distribution, as an SPDX expression, and whether a policy's list allows it.

Where it comes from, first found wins: PEP 639 ``License-Expression``; else the trove
classifiers, when every license classifier names one SPDX license unambiguously (several are
read as alternatives, joined with OR); else the ``License`` field when it is itself a valid SPDX
expression; else unknown (None). Unknown is never allowed by a list: a policy with
``licenses.allow`` refuses what it cannot read (fail closed).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from safeinstall.files.stamped import stamped, stamped_body

if TYPE_CHECKING:  # `check` asks only `allowed`; reading metadata is for locking
    from packaging.metadata import Metadata

# Only classifiers that name exactly one SPDX license. "BSD License", "Zope Public License",
# "Academic Free License (AFL)" and the like are ambiguous and are left to the License field.
CLASSIFIERS: dict[str, str] = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "Apache Software License": "Apache-2.0",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Eclipse Public License 1.0 (EPL-1.0)": "EPL-1.0",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "European Union Public Licence 1.2 (EUPL 1.2)": "EUPL-1.2",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
}
_LICENSE_PREFIX = "License :: "
_NOT_A_LICENSE = {"License :: OSI Approved"}  # a category, not a license
_MAX_FIELD = 200  # a License field longer than this is license text, not an expression
_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def canonical(expression: str) -> str | None:
    """The normalized SPDX expression, or None when ``expression`` is not one."""
    if not expression.strip() or len(expression) > _MAX_FIELD or "\n" in expression.strip():
        return None
    return canonical_spdx(expression)


def canonical_spdx(expression: str) -> str | None:
    """packaging's normalized form of an SPDX expression, None when it is not one. An id
    written as packaging writes it is answered from data/spdx-ids.txt, the ids packaging keeps
    as they are, without importing packaging's SPDX table (slow: the policy's ``licenses`` key
    is validated on every `check`)."""
    ids = _spdx_ids()
    if ids is not None and expression in ids:
        return expression
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        return str(canonicalize_license_expression(expression))
    except InvalidLicenseExpression:
        return None


_SPDX_FILE = os.path.join(os.path.dirname(__file__), "data", "spdx-ids.txt")


def _packaging_licenses() -> bytes:
    """The source of packaging's license module and SPDX table: what the ids are made from."""
    import packaging

    folder = os.path.join(os.path.dirname(packaging.__file__), "licenses")
    out = b""
    for name in ("__init__.py", "_spdx.py"):
        with open(os.path.join(folder, name), "rb") as fh:
            out += fh.read()
    return out


def spdx_ids_text() -> str:
    """data/spdx-ids.txt for the installed packaging: a header, a stamp line (CRC-32 of
    packaging's license sources and of the lines below it) and, sorted, every SPDX license id
    that packaging's canonicalization returns unchanged."""
    from packaging.licenses import _spdx, canonicalize_license_expression

    ids = [entry["id"] for entry in _spdx.LICENSES.values()]
    body = "".join(f"{i}\n" for i in sorted(ids) if str(canonicalize_license_expression(i)) == i)
    header = (
        "# SPDX license ids that packaging's canonicalize_license_expression keeps as they are,\n"
        "# made by bench/derive_spdx_ids.py. Do not edit by hand: re-run the script.\n"
    )
    return stamped(header, _packaging_licenses(), body)


@functools.cache
def _spdx_ids() -> frozenset[str] | None:
    """The shipped ids, or None unless the stamp says they were made from the installed
    packaging and are unedited (then packaging answers: a stale list is never used)."""
    try:
        with open(_SPDX_FILE, "rb") as fh:
            data = fh.read()
        sources = _packaging_licenses()
    except OSError:
        return None
    body = stamped_body(data, sources)
    return None if body is None else frozenset(body.decode("ascii").split())


def from_classifiers(classifiers: Iterable[str]) -> str | None:
    """An expression for the license classifiers, if every one of them maps to an SPDX id."""
    ids: list[str] = []
    for classifier in classifiers:
        if not classifier.startswith(_LICENSE_PREFIX) or classifier in _NOT_A_LICENSE:
            continue
        spdx = CLASSIFIERS.get(classifier.rpartition(" :: ")[2])
        if spdx is None:
            return None  # one ambiguous or unknown license: do not guess from the rest
        ids.append(spdx)
    unique = list(dict.fromkeys(ids))
    return " OR ".join(unique) if unique else None


def license_of(metadata: Metadata) -> str | None:
    """The SPDX expression of a distribution's license, or None when it cannot be told."""
    from packaging.metadata import InvalidMetadata

    try:
        expression = metadata.license_expression
    except InvalidMetadata:  # lazily validated: an invalid expression tells nothing
        return None
    if expression:
        return canonical(str(expression))
    found = from_classifiers(metadata.classifiers or ())
    if found is not None:
        return found
    return canonical(metadata.license) if metadata.license else None


def allowed(expression: str | None, allow_list: Iterable[str]) -> bool:
    """True when the licenses on ``allow_list`` satisfy ``expression``.

    ``A OR B`` needs one alternative allowed, ``A AND B`` needs both; ``A WITH exception`` is
    allowed when ``A`` is (exceptions only add permissions) or the whole term is listed. An
    unknown (None) or unparsable expression is not allowed.
    """
    if expression is None:
        return False
    allow = {item.casefold() for item in allow_list}
    words = [t for t in _TOKEN.findall(expression) if t]
    try:
        ok, end = _or(words, 0, allow)
    except (IndexError, ValueError):
        return False
    return ok and end == len(words)


def _or(words: Sequence[str], at: int, allow: set[str]) -> tuple[bool, int]:
    ok, at = _and(words, at, allow)
    while at < len(words) and words[at].upper() == "OR":
        right, at = _and(words, at + 1, allow)
        ok = ok or right
    return ok, at


def _and(words: Sequence[str], at: int, allow: set[str]) -> tuple[bool, int]:
    ok, at = _term(words, at, allow)
    while at < len(words) and words[at].upper() == "AND":
        right, at = _term(words, at + 1, allow)
        ok = ok and right
    return ok, at


def _term(words: Sequence[str], at: int, allow: set[str]) -> tuple[bool, int]:
    word = words[at]
    if word == "(":
        ok, at = _or(words, at + 1, allow)
        if words[at] != ")":
            raise ValueError("unbalanced parenthesis")
        return ok, at + 1
    if word == ")" or word.upper() in ("AND", "OR", "WITH"):
        raise ValueError(f"unexpected {word!r}")
    if at + 1 < len(words) and words[at + 1].upper() == "WITH":
        exception = words[at + 2]
        if exception in ("(", ")"):
            raise ValueError("WITH needs an exception id")
        whole = f"{word} WITH {exception}".casefold()
        return word.casefold() in allow or whole in allow, at + 3
    return word.casefold() in allow, at + 1
