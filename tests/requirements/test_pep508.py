"""PEP 508 names: the name rule, non-ASCII look-alikes, and parse errors that explain them."""

from __future__ import annotations

import pytest

from safeinstall.errors import InputError, Location
from safeinstall.requirements import pep508

# --- is_valid_name ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "requests", "Foo_Bar", "zope.interface", "a-b", "x1", "9"])
def test_valid_names(name: str) -> None:
    assert pep508.is_valid_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "requests\n",  # "$" would accept this; "\Z" does not
        "-requests",
        "requests-",
        "requests.",
        "re quests",
        "requests==1",
        "r\u0435quests",  # Cyrillic small ie
        "pac\u212aage",  # Kelvin sign: lowercases to ASCII "k", matches [A-Z] with IGNORECASE alone
        "\u017fix",  # long s: uppercases to ASCII "S"
    ],
)
def test_invalid_names(name: str) -> None:
    assert not pep508.is_valid_name(name)


# --- non_ascii_report -------------------------------------------------------------------------


def test_ascii_name_has_no_report() -> None:
    assert pep508.non_ascii_report("requests") is None


def test_report_names_cyrillic_lookalike() -> None:
    report = pep508.non_ascii_report("r\u0435quests")
    assert report is not None
    assert "'\u0435' (U+0435 CYRILLIC SMALL LETTER IE, looks like 'e')" in report
    assert report.endswith("so it reads as 'requests'")


@pytest.mark.parametrize(
    ("char", "fragment"),
    [
        ("\u0131", "U+0131 LATIN SMALL LETTER DOTLESS I, looks like 'i'"),
        ("\u03bf", "U+03BF GREEK SMALL LETTER OMICRON, looks like 'o'"),
        ("\uff52", "U+FF52 FULLWIDTH LATIN SMALL LETTER R, looks like 'r'"),
        ("\U0001d41e", "U+1D41E MATHEMATICAL BOLD SMALL E, looks like 'e'"),
        ("\u00e9", "U+00E9 LATIN SMALL LETTER E WITH ACUTE, looks like 'e'"),
        ("\u200b", "U+200B ZERO WIDTH SPACE, invisible"),
    ],
)
def test_report_explains_each_kind_of_character(char: str, fragment: str) -> None:
    report = pep508.non_ascii_report(f"fla{char}sk")
    assert report is not None
    assert fragment in report


def test_report_lists_each_character_once_in_one_sentence() -> None:
    report = pep508.non_ascii_report("\u0440\u0443\u0440\u0443-\u4e2d")
    assert report is not None
    assert report.count("U+0440") == 1
    assert report.count("U+0443") == 1
    assert "U+4E2D CJK UNIFIED IDEOGRAPH-4E2D)" in report  # no look-alike claimed
    assert "reads as" not in report  # the ideograph has no ASCII reading
    assert report.count(".") == 0  # one sentence, no final full stop


def test_report_escapes_invisible_characters() -> None:
    report = pep508.non_ascii_report("six\u200b")
    assert report is not None
    assert "'\\u200b'" in report
    assert "\u200b'" not in report.split("(")[1]


def test_parse_error_names_the_look_alike_character() -> None:
    with pytest.raises(InputError) as info:
        pep508.parse_pep508("r\u0435quests>=2", Location("requirements.in", 3))
    assert "U+0435 CYRILLIC SMALL LETTER IE" in info.value.message
    assert info.value.location == Location("requirements.in", 3)
