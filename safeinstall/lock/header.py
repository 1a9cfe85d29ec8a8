"""The comment lines a requirements.txt lock carries besides its pins: the freshness digest, the
content digest, the target environments, notes for the reader (a package locked at different
versions on different targets), and under each package where it comes from and its license.

The lock writer and reader (``model.py``) and `check`'s license rule read them from here; the
rule runs on every commit, so it loads this and not the Lock model.
"""

DIGEST_PREFIX = "# safeinstall-digest: "
CONTENT_PREFIX = "# safeinstall-content: "  # the lock's own content digest (lock/content.py)
ENVIRONMENT_PREFIX = "# environment: "
LICENSE_PREFIX = "# license: "
NOTE_PREFIX = "# note: "
VIA_PREFIX = "# via "
# under a package let in inside min-release-age by `lock --allow-fresh`: why, and by whom
ALLOW_FRESH_PREFIX = "# allow-fresh: "
# the build environment of a locked sdist (a BuildSet): a heading, then one line per pin
BUILD_PREFIX = "# safeinstall-build: "
BUILD_PIN_PREFIX = "#   build-requires: "


def comments_under_pins(text: str, prefix: str) -> list[tuple[str, str]]:
    """Each comment line ``prefix`` + value of a requirements.txt lock's ``text``, as (the pin
    above it as written, ``name==version``, "" above the first; its value)."""
    if prefix.strip() not in text:
        return []  # most locks: no such comment
    text = _one_break(text)
    return [(_pin_above(text, start), value) for _, start, value in _scan(text, prefix)]


def comment_lines(text: str, prefix: str) -> list[tuple[int, str]]:
    """Each comment line ``prefix`` + value of a requirements.txt lock's ``text``, as (its line
    number, its value): lines numbered as the requirements parser numbers them."""
    if prefix.strip() not in text:
        return []
    return [(number, value) for number, _, value in _scan(_one_break(text), prefix)]


def _one_break(text: str) -> str:
    """``text`` with "\\n" for every line break ``str.splitlines`` knows: the lines numbered
    alike."""
    return "\n".join(text.splitlines())


def _scan(text: str, prefix: str) -> list[tuple[int, int, str]]:
    """The one reading of the comments a package's entry carries (its license, why it was let
    in fresh): (line number, where the line starts, value), in a ``text`` of "\\n" breaks.

    Lines are numbered as the requirements parser numbers them (``str.splitlines``); only the
    lines holding ``prefix`` are looked at, so a lock of thousands of lines costs a few searches.
    """
    out: list[tuple[int, int, str]] = []
    number, counted = 1, 0
    at = text.find(prefix)
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        if not text[start:at].strip():  # the prefix starts the line, after any indentation
            number += text.count("\n", counted, start)
            counted = start
            out.append((number, start, text[at + len(prefix) : end].strip()))
        at = text.find(prefix, end)
    return out


def _pin_above(text: str, start: int) -> str:
    """The last pin (``name==version``, as written) on a line before offset ``start``: a line
    that is not indented, not a comment and not an option."""
    while start > 0:
        begin = text.rfind("\n", 0, start - 1) + 1
        line = text[begin : start - 1]
        stripped = line.strip()
        if stripped and not line[0].isspace() and not stripped.startswith(("#", "-")):
            return stripped.split(";", 1)[0].split(" ", 1)[0]
        start = begin
    return ""
