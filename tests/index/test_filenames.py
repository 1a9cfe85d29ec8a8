"""The cached file-name parser agrees with packaging's own, on valid and invalid names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from safeinstall.index.filenames import parse_sdist, parse_wheel

NAMES = st.sampled_from(["demo", "Demo_Pkg", "a.b", "x__y", "", "é", "zope.interface", "a-b"])
VERSIONS = st.sampled_from(["1.0", "2.0.0rc1", "1!2.0", "1.0.post1.dev2", "bad", "", "1.0+local"])
BUILDS = st.sampled_from(["", "-1", "-12abc", "-x1"])
TAGS = st.sampled_from(
    [
        "py3-none-any",
        "py2.py3-none-any",
        "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp313-cp313t-win_amd64",
        "py3-none",
        "1py-none-any",
        "py3--any",
    ]
)


def outcome(parse: object, filename: str) -> object:
    try:
        return parse(filename)  # type: ignore[operator]
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        return type(exc)


@given(NAMES, VERSIONS, BUILDS, TAGS, st.sampled_from([".whl", ".zip"]))
def test_wheel_names_parse_as_packaging_does(
    name: str, version: str, build: str, tag: str, ext: str
) -> None:
    filename = f"{name}-{version}{build}-{tag}{ext}"
    expected = outcome(parse_wheel_filename, filename)
    got = outcome(parse_wheel, filename)
    if isinstance(expected, tuple):
        assert got == (expected[0], expected[1], expected[3])
    else:
        assert got == expected


@given(NAMES, VERSIONS, st.sampled_from([".tar.gz", ".zip", ".tar.bz2", ""]))
def test_sdist_names_parse_as_packaging_does(name: str, version: str, ext: str) -> None:
    filename = f"{name}-{version}{ext}"
    assert outcome(parse_sdist, filename) == outcome(parse_sdist_filename, filename)


def test_parsed_objects_are_shared() -> None:
    _, v1, t1 = parse_wheel("a-1.0-cp311-cp311-win_amd64.whl")
    _, v2, t2 = parse_wheel("b-1.0-cp311-cp311-win_amd64.whl")
    assert v1 is v2
    assert t1 is t2


@pytest.mark.parametrize("filename", ["a-1.0.whl", "a-1.0-1-2-py3-none-any.whl"])
def test_wrong_part_count(filename: str) -> None:
    with pytest.raises(InvalidWheelFilename):
        parse_wheel(filename)
