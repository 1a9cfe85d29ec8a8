"""The hashed-lock-line fast path of the requirements parser against its general path.

``reqfile`` reads ``NAME==VERSION --hash=sha256:HEX ...`` lines without the option parser.
Hypothesis writes such lines and lines that differ from them by a word or a character, and the
whole file must parse to the same value, or fail with the same error, either way.
"""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from safeinstall.errors import InputError
from safeinstall.requirements import file as reqfile
from safeinstall.requirements.file import RequirementsFile, parse_requirements_text

NEVER = re.compile(r"(?!)")
ROOT = Path(__file__).resolve().parents[2]

PIN = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,6}==[0-9]{1,2}(\.[0-9]{1,2}){0,2}", fullmatch=True)
HEX = st.text("0123456789abcdefABCDEF", min_size=1, max_size=64)
SHA256 = HEX.map(lambda h: f"--hash=sha256:{h}")
GAP = st.sampled_from([" ", "    ", " \\\n    "])
# What can stand in for one part of such a line.
ODD_REQUIREMENT = st.one_of(
    st.text("abz019.-_=<>!~;[]@:/${}#*+\u0430", min_size=1, max_size=12),
    st.sampled_from(
        [
            "foo==1.0.tar",
            "./pkg",
            "foo@https://example.com/foo-1.0.whl",
            "foo[bar]==1",
            'foo==1;python_version>"3"',
            "foo==${VERSION}",
            "-e",
            "foo==1.0\t",
            "f\u043e\u043e==1",
        ]
    ),
)
ODD_WORD = st.one_of(
    HEX.map(lambda h: f"--hash=sha512:{h}"),
    HEX.map(lambda h: f"--hash=SHA256:{h}"),
    HEX.map(lambda h: f"--hash sha256:{h}"),
    HEX.map(lambda h: f"--hash=sha256:{h}g"),
    st.sampled_from(["--hash=sha256:", "--hash=sha256", "--pre", "-C k=v", "--", "x", "#c"]),
)
ODD_GAP = st.sampled_from(["\t", " \t ", "", " \\\n# comment\n    "])


@st.composite
def lock_line(draw: st.DrawFn) -> str:
    """A hashed lock line, half of the time with one part replaced by something close."""
    parts = [draw(PIN), *draw(st.lists(SHA256, min_size=1, max_size=3))]
    gaps = [draw(GAP) for _ in parts[1:]]
    if draw(st.booleans()):
        at = draw(st.integers(0, 2 * len(parts) - 2))
        if at == 0:
            parts[0] = draw(ODD_REQUIREMENT)
        elif at < len(parts):
            parts[at] = draw(ODD_WORD)
        else:
            gaps[at - len(parts)] = draw(ODD_GAP)
    return parts[0] + "".join(gap + part for gap, part in zip(gaps, parts[1:], strict=True))


def outcome(text: str) -> RequirementsFile | tuple[str, str | None]:
    try:
        return parse_requirements_text(text, "requirements.txt", root=ROOT)
    except InputError as exc:
        return (str(exc), exc.hint)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lock_line(), min_size=1, max_size=3))
@example(["requests==2.32.3 --hash=sha256:" + "a" * 64])
@example(["requests==2.32.3    --hash=sha256:" + "a" * 64 + "    --hash=sha256:" + "B" * 64])
@example(["foo==1.0.zip --hash=sha256:00"])  # an archive name: a path requirement
@example(["foo==${V} --hash=sha256:00"])  # an environment variable reference
@example(["foo==1 --hash=sha256:00 --hash=sha256:00"])
def test_hashed_lines_read_the_same_on_both_paths(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    fast = outcome(text)
    with mock.patch.object(reqfile, "_HASHED_RE", NEVER):
        general = outcome(text)
    assert fast == general
