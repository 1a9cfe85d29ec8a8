"""The resolver's view of the indexes: process-wide settings made before its threads start."""

from __future__ import annotations

import os

import pytest

from safeinstall.resolve import finder


def test_malloc_arenas_are_limited_on_glibc() -> None:
    if not os.confstr("CS_GNU_LIBC_VERSION"):
        pytest.skip("not glibc")  # the skip is only for other C libraries
    assert finder.few_malloc_arenas() is True


def test_other_c_libraries_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_name(name: str) -> str:
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(os, "confstr", no_such_name)
    assert finder.few_malloc_arenas() is False
