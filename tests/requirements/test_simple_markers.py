"""simple_marker: packaging's reading of the simple markers, without importing packaging.markers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import InvalidMarker, Marker

from safeinstall.requirements.markers import marker_problem, simple_marker
from tests.support.paths import ROOT

VARIABLES = [
    "python_version", "python_full_version", "os_name", "sys_platform", "platform_release",
    "platform_system", "platform_version", "platform_machine", "platform_python_implementation",
    "implementation_name", "implementation_version", "extra", "os.name", "python_implementation",
    "platform.version", "sys.platform", "python_versionx",
]  # fmt: skip
OPS = ["==", "!=", ">=", "<=", "<", ">", "~=", "===", "in", "not in", "=", "=>"]
SPACE = st.sampled_from(["", " ", "  ", "\t", "\n"])
VALUE = st.text("ab3.1*+-_ '\"\\()x", max_size=6)


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    var, op, value = draw(st.sampled_from(VARIABLES)), draw(st.sampled_from(OPS)), draw(VALUE)
    quote = draw(st.sampled_from(["'", '"']))
    left, right = draw(SPACE), draw(SPACE)
    if draw(st.booleans()):
        return f"{quote}{value}{quote}{left}{op}{right}{var}"
    return f"{var}{left}{op}{right}{quote}{value}{quote}"


@st.composite
def markers(draw: st.DrawFn) -> str:
    text = draw(comparisons())
    for _ in range(draw(st.integers(0, 3))):
        text += draw(SPACE) + draw(st.sampled_from(["and", "or", "AND", "("])) + draw(SPACE)
        text += draw(comparisons())
    return draw(SPACE.filter(lambda s: s != "\n")) + text + draw(st.sampled_from(["", " ", ")"]))


def packaging_reading(text: str) -> str | None:
    """What the environments key keeps of ``text`` through packaging, None if it refuses it."""
    try:
        marker = Marker(text)
    except InvalidMarker:
        return None
    return None if marker_problem(marker) else str(marker)


@settings(max_examples=400, deadline=None)
@given(markers())
def test_a_simple_marker_is_what_packaging_makes_of_it(text: str) -> None:
    simple = simple_marker(text)
    if simple is not None:  # else packaging decides: nothing to compare
        assert simple == packaging_reading(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("python_version >= '3.11' and sys_platform == 'linux'",
         'python_version >= "3.11" and sys_platform == "linux"'),
        ('platform_machine=="x86_64" or os_name != "nt"',
         'platform_machine == "x86_64" or os_name != "nt"'),
        ("python_version ~= '3'", None),  # ~= needs a version: packaging and marker_problem
        ("extra == 'Foo_Bar'", None),  # packaging normalizes the name
        ("os.name == 'nt'", None),  # an alias: packaging renames it
        ("(python_version >= '3')", None),
        ("python_version >= '3' and", None),  # invalid: packaging says why
        ("os.system('x')", None),
    ],
)  # fmt: skip
def test_simple_marker_shapes(text: str, expected: str | None) -> None:
    assert simple_marker(text) == expected


def test_a_policy_with_simple_environments_loads_no_marker_parser(tmp_path: object) -> None:
    code = (
        "import sys\n"
        "from safeinstall.policy.keys import policy_from_table\n"
        "p = policy_from_table({'environments': [\"python_version >= '3.11' and "
        "sys_platform == 'linux'\"]}, 'safeinstall.toml')\n"
        'assert p.environments == (\'python_version >= "3.11" and sys_platform == "linux"\',)\n'
        "assert 'packaging.markers' not in sys.modules, 'loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@st.composite
def simple_markers(draw: st.DrawFn) -> str:
    def one() -> str:
        var, op = draw(st.sampled_from(VARIABLES[:11])), draw(st.sampled_from(OPS[:6]))
        quote = draw(st.sampled_from(["'", '"']))
        value = draw(st.text("abz019._*+-", max_size=8))
        return f"{var}{draw(SPACE)}{op}{draw(SPACE)}{quote}{value}{quote}".replace("\n", " ")

    text = one()
    for _ in range(draw(st.integers(0, 3))):
        text += f" {draw(st.sampled_from(['and', 'or']))}\t{one()}"
    return text


@settings(max_examples=300, deadline=None)
@given(simple_markers())
def test_every_simple_marker_is_read_as_packaging_reads_it(text: str) -> None:
    assert simple_marker(text) is not None
    assert simple_marker(text) == packaging_reading(text)
