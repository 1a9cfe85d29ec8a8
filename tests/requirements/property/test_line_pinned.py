"""The ``name==version`` fast path of ``reqline.interpret`` against its full PEP 508 path.

A lock is made of ``name==version`` lines, and an input pins with extras as
``name[extra,extra]==version``, so ``interpret`` reads both without packaging's parser.
Hypothesis writes such lines, and lines that differ from them by a character, and the fast path
must give exactly what the full path gives: the same value or the same error.
"""

from __future__ import annotations

import re
from unittest import mock

from hypothesis import event, example, given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from safeinstall.errors import InputError, Location
from safeinstall.requirements import line as reqline
from safeinstall.requirements.line import ParsedRequirement, interpret

NEVER = re.compile(r"(?!)")  # in place of the fast path's pattern: every line takes the full path
WHERE = Location("requirements.txt", 3)

NAME = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?", fullmatch=True)
NORMALIZED_VERSION = st.from_regex(
    r"([0-9]{1,2}!)?[0-9]{1,4}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9]{1,2})?(\.post[0-9]{1,2})?"
    r"(\.dev[0-9])?(\+[a-z0-9]{1,4}(\.[a-z0-9]{1,3}){0,2})?",
    fullmatch=True,
)
# Characters that matter to PEP 508 or PEP 440 next to a pin: separators, operators, wildcards,
# local labels, epochs, case, markers, URLs, extras, whitespace and a look-alike letter.
ODD = "0123456789.-_+!*abcdeilnoprstvxzABCLRV ;,:/@[]()<>=~#\t\u0430"
NEAR_MISS_NAME = st.one_of(NAME, st.text(ODD, min_size=1, max_size=8))
NEAR_MISS_VERSION = st.one_of(NORMALIZED_VERSION, st.text(ODD, max_size=12))
OPERATOR = st.sampled_from(["==", "==", "===", "= =", "=", "!=", "~=", " == ", "==="])
MARKER = st.sampled_from(["", ' ; python_version >= "3.8"', "; sys_platform == 'linux'", ";"])


def outcome(text: str) -> ParsedRequirement | tuple[str, str | None]:
    try:
        return interpret(text, editable=False, location=WHERE)
    except InputError as exc:
        return (str(exc), exc.hint)


def full_path_outcome(text: str) -> ParsedRequirement | tuple[str, str | None]:
    with (
        mock.patch.object(reqline, "_PINNED_RE", NEVER),
        mock.patch.object(reqline, "_PINNED_EXTRAS", NEVER.pattern),
    ):
        return outcome(text)


def takes_the_fast_path(head: str) -> bool:
    return bool(reqline._PINNED_RE.fullmatch(head) or re.fullmatch(reqline._PINNED_EXTRAS, head))


def assert_same(text: str) -> None:
    fast, full = outcome(text), full_path_outcome(text)
    assert fast == full
    if isinstance(fast, ParsedRequirement) and isinstance(full, ParsedRequirement):
        # equal specifier sets could still print differently; a lock writer prints them
        assert str(fast.specifier) == str(full.specifier)
        assert fast.raw_name == full.raw_name
        assert type(fast.specifier) is type(full.specifier)


def read_as_named(text: str, name: str) -> ParsedRequirement | None:
    """``text`` read alike by both parsers, as a named requirement of ``name`` (None: a line
    ending in an archive suffix, which pip too reads as a file)."""
    assert_same(text)
    parsed = interpret(text, editable=False, location=WHERE)
    if text.lower().endswith(reqline._ARCHIVES):
        assert parsed.kind == "path"
        return None
    assert parsed.kind == "named"
    assert parsed.raw_name == name
    return parsed


@given(NAME, NORMALIZED_VERSION, MARKER)
@example("requests", "2.32.3", "")
@example("Zope.Interface", "1!2.0rc1.post3.dev4+ubuntu.1", "")
@example("a", "0", "")
@example("0", "0+0.tbz", "")  # pip too reads a line ending in an archive suffix as a file
def test_pinned_lines_take_the_fast_path_and_read_the_same(
    name: str, version: str, marker: str
) -> None:
    text = f"{name}=={version}{marker}"
    assert reqline._PINNED_RE.fullmatch(f"{name}=={version}") is not None
    parsed = read_as_named(text, name)
    assert parsed is None or str(parsed.specifier) == f"=={version}"


@given(NEAR_MISS_NAME, OPERATOR, NEAR_MISS_VERSION, MARKER)
@example("foo", "==", "1.0.*", "")  # a wildcard is not one version
@example("foo", "==", "1.0.tar", "")  # an archive name: a path to pip
@example("foo", "==", "1.0+local.zip", "")
@example("foo", "==", "V1.0", "")  # valid PEP 440, but not normalized: the full path
@example("foo", "==", "1.0-1", "")
@example("foo-", "==", "1.0", "")
@example("f\u043e\u043e", "==", "1.0", "")  # Cyrillic look-alikes: refused with the full message
@example("foo", "==", "1.0 extra", "")
@example("foo", "==", "1.0+local", "; python_version >= '3'")
def test_near_misses_read_the_same_on_both_paths(
    name: str, operator: str, version: str, marker: str
) -> None:
    text = f"{name}{operator}{version}{marker}"
    event("fast path" if takes_the_fast_path(text.partition(";")[0].strip()) else "full")
    assert_same(text)


EXTRAS = st.lists(NAME, min_size=1, max_size=3).map(",".join)
# What can stand where the extras are: spaces, empty items, odd characters, look-alikes.
NEAR_MISS_EXTRAS = st.one_of(
    EXTRAS,
    st.text("abAB01._-, \t[]\u0430", max_size=10),
    st.sampled_from(["", ",", "a,", ",a", "a ,b", " a", "a_", "_a", "a-", "a..b", "a,,b", "a]["]),
)


@given(NAME, EXTRAS, NORMALIZED_VERSION, MARKER)
@example("whitenoise", "brotli", "6.12.0", "")
@example("Psycopg", "Binary", "3.3.3", "")  # extras are compared by their normalized names
@example("python-jose", "pycryptodome,cryptography", "3.5.0", "; python_version >= '3.8'")
@example("a", "b,b", "1", "")
def test_pins_with_extras_take_the_fast_path_and_read_the_same(
    name: str, extras: str, version: str, marker: str
) -> None:
    head = f"{name}[{extras}]=={version}"
    text = head + marker
    assert takes_the_fast_path(head)
    parsed = read_as_named(text, name)
    assert parsed is None or parsed.extras == {canonicalize_name(e) for e in extras.split(",")}


@given(NEAR_MISS_NAME, NEAR_MISS_EXTRAS, OPERATOR, NEAR_MISS_VERSION, MARKER)
@example("foo", "bar", "==", "1.0", "")
@example("foo", "bar ", "==", "1.0", "")
@example("foo", "bar_", "==", "1.0", "")  # packaging takes it, the fast path leaves it to it
@example("foo", "bar-", "==", "1.0", "")
@example("foo", "", "==", "1.0", "")
@example("foo", "b\u0430r", "==", "1.0", "")
@example("foo ", "bar", "==", "1.0", "")
@example("foo", "bar", "==", "1.0.*", "")
@example("foo", "bar", "==", "V1.0", "")
def test_near_misses_with_extras_read_the_same_on_both_paths(
    name: str, extras: str, operator: str, version: str, marker: str
) -> None:
    text = f"{name}[{extras}]{operator}{version}{marker}"
    event("fast path" if takes_the_fast_path(text.partition(";")[0].strip()) else "full")
    assert_same(text)
