"""The requirements.txt lock reader's fast paths against its full parser.

``read_requirements_txt`` reads a plain ``name==version`` pin (and ``name[extra]==version``)
without packaging's Requirement, and a simple ``# environment:`` marker without packaging's
marker parser. Hypothesis writes such lines, and lines that differ from them by a part, and the
fast path must give exactly what the full parser gives: the same value or the same error.
"""

from __future__ import annotations

import re
from unittest import mock

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.errors import InputError, Location
from safeinstall.lock import model
from safeinstall.lock.model import Lock, read_requirements_txt
from safeinstall.requirements import line as reqline
from safeinstall.requirements import markers

NEVER = re.compile(r"(?!)")
WHERE = Location("requirements.txt", 7)
HEX = "0123456789abcdef"

NAME = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?", fullmatch=True)
EXTRAS = st.lists(NAME, min_size=1, max_size=3).map(lambda e: "[" + ",".join(e) + "]")
VERSION = st.from_regex(
    r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9])?(\.post[0-9])?(\.dev[0-9])?", fullmatch=True
)
ODD = "0123456789.-_+!*abcABC ;,[]()<>=~#\t\u0430"
NEAR_NAME = st.one_of(NAME, st.text(ODD, min_size=1, max_size=8), NAME.map(str.upper))
NEAR_EXTRAS = st.one_of(
    st.just(""),
    EXTRAS,
    st.sampled_from(["[]", "[a,]", "[ a]", "[a_]", "[a-]", "[a,,b]", "[A.B]", "[\u0430]", "[a"]),
)
NEAR_VERSION = st.one_of(VERSION, st.text(ODD, max_size=10), st.sampled_from(["1.0+local", "1!2"]))
OPERATOR = st.sampled_from(["==", "==", "===", "!=", "~=", " == ", "= ="])
MARKER = st.sampled_from(
    ["", ' ; python_version >= "3.8"', "; sys_platform == 'linux'", ";", " ; os_name ~= 'x'"]
)
DIGEST = st.text(HEX, min_size=64, max_size=64)
HASHES = st.one_of(
    st.lists(DIGEST.map(lambda h: f"--hash=sha256:{h}"), min_size=1, max_size=3),
    st.lists(
        st.one_of(
            DIGEST.map(lambda h: f"--hash sha256:{h}"),
            DIGEST.map(lambda h: f"--hash=sha512:{h}"),
            DIGEST.map(lambda h: f"--hash=SHA256:{h}"),
            DIGEST.map(lambda h: f"--hash=sha256:{h.upper()}"),
            st.text(HEX, max_size=63).map(lambda h: f"--hash=sha256:{h}"),
        ),
        max_size=2,
    ),
)
GAP = st.sampled_from([" ", "  ", "\t", " \t "])


def outcome(call: object, *args: str) -> object:
    assert callable(call)
    try:
        return call(*args, WHERE)
    except InputError as exc:
        return (str(exc), exc.hint)


def full_pin(line: str) -> object:
    with (
        mock.patch.object(reqline, "_PINNED_RE", NEVER),
        mock.patch.object(reqline, "_PINNED_EXTRAS", NEVER.pattern),
    ):
        return outcome(model._pin, line)


def takes_the_fast_path(requirement: str) -> bool:
    return reqline.simple_pin(requirement) is not None


@st.composite
def pin_lines(draw: st.DrawFn) -> str:
    name, extras = draw(NEAR_NAME), draw(NEAR_EXTRAS)
    requirement = f"{name}{extras}{draw(OPERATOR)}{draw(NEAR_VERSION)}{draw(MARKER)}"
    hashes = draw(HASHES)
    return requirement + "".join(draw(GAP) + h for h in hashes)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(NAME, st.one_of(st.just(""), EXTRAS), VERSION, st.lists(DIGEST, min_size=1, max_size=3))
@example("requests", "", "2.32.3", ["a" * 64])
@example("Zope.Interface", "[Docs,test_x]", "5.0rc1.post2.dev3", ["a" * 64, "b" * 64])
def test_pins_take_the_fast_path_and_read_the_same(
    name: str, extras: str, version: str, digests: list[str]
) -> None:
    line = f"{name}{extras}=={version} " + " ".join(f"--hash=sha256:{d}" for d in digests)
    assert takes_the_fast_path(f"{name}{extras}=={version}")
    fast = outcome(model._pin, line)
    assert fast == full_pin(line)
    assert isinstance(fast, tuple)
    assert fast[:2] == (canonicalize_name(name), Version(version))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(pin_lines())
@example("foo[bar]==1.0 --hash=sha256:" + "a" * 64)
@example("foo[bar_]==1.0 --hash=sha256:" + "a" * 64)  # packaging's, not the fast path's
@example("foo[]==1.0 --hash=sha256:" + "a" * 64)
@example("FOO[Bar]==1.0 ; python_version >= '3.8' --hash=sha256:" + "a" * 64)
@example("foo[bar]==1.0\t--hash=sha256:" + "a" * 64)
@example("foo[b\u0430r]==1.0 --hash=sha256:" + "a" * 64)
@example("foo[bar]==1.0+local --hash=sha256:" + "a" * 64)
@example("foo[bar]==1.0")  # no hash
def test_near_misses_read_the_same_on_both_paths(line: str) -> None:
    event("fast path" if takes_the_fast_path(re.split(r"\s+--hash", line)[0]) else "full")
    assert outcome(model._pin, line) == full_pin(line)


COMPARISON = st.builds(
    "{}{}{}{}{}".format,
    st.sampled_from(["python_version", "sys_platform", "platform_machine", "os_name", "extra"]),
    st.sampled_from([" ", "", "  "]),
    st.sampled_from(["==", "!=", ">=", "<", "~=", "in", "==="]),
    st.sampled_from([" ", "", "\t"]),
    st.sampled_from(['"3.13"', "'linux'", '"x86_64"', "'3'", '"a b"', "'3.*'", "3.13", '"']),
)


@st.composite
def environment_lines(draw: st.DrawFn) -> str:
    text = draw(COMPARISON)
    for _ in range(draw(st.integers(0, 3))):
        text += draw(st.sampled_from([" and ", " or ", "  and\t", " AND ", " ( "]))
        text += draw(COMPARISON)
    return text


def full_environment(text: str) -> object:
    with mock.patch.object(markers, "simple_marker", return_value=None):
        return outcome(model._environment, text)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(environment_lines())
@example('python_version == "3.13" and sys_platform == "linux" and platform_machine == "x86_64"')
@example("python_version >= '3.11' or sys_platform == 'win32'")
@example("python_version ~= '3'")  # parses, cannot be evaluated: refused by both
@example("extra == 'x'")
def test_environment_lines_read_the_same_on_both_paths(text: str) -> None:
    event("fast path" if markers.simple_marker(text) is not None else "full")
    read = outcome(model._environment, text)
    assert read == full_environment(text)
    assert (read == text) == packaging_takes(text)  # the oracle: packaging itself


def packaging_takes(text: str) -> bool:
    try:
        return markers.marker_problem(Marker(text)) is None
    except InvalidMarker:
        return False


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(environment_lines(), max_size=2), st.lists(pin_lines(), min_size=1, max_size=3))
def test_a_whole_lock_reads_the_same_on_both_paths(envs: list[str], pins: list[str]) -> None:
    text = "".join(f"# environment: {e}\n" for e in envs) + "\n".join(pins) + "\n"

    def read() -> Lock | tuple[str, str | None]:
        try:
            return read_requirements_txt(text, "requirements.txt")
        except InputError as exc:
            return (str(exc), exc.hint)

    fast = read()
    with (
        mock.patch.object(reqline, "_PINNED_RE", NEVER),
        mock.patch.object(reqline, "_PINNED_EXTRAS", NEVER.pattern),
        mock.patch.object(markers, "simple_marker", return_value=None),
    ):
        assert read() == fast
