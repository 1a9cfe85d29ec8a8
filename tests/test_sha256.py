"""safeinstall.sha256: CPython's own SHA-256 for the hooks' digests, hashlib's where it has none."""

from __future__ import annotations

import hashlib
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeinstall import sha256 as module
from safeinstall.sha256 import sha256


@given(st.lists(st.binary(max_size=300), max_size=5))
def test_the_digest_is_hashlibs(parts: list[bytes]) -> None:
    ours, theirs = sha256(), hashlib.sha256()
    for part in parts:
        ours.update(part)
        theirs.update(part)
    assert ours.hexdigest() == theirs.hexdigest()
    assert sha256(b"".join(parts)).hexdigest() == theirs.hexdigest()


def test_it_is_cpythons_own_not_openssls() -> None:
    assert type(sha256()).__module__ in ("_sha256", "_sha2")


def test_an_interpreter_without_its_own_hashes_gets_hashlibs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "_sha256", None)  # None in sys.modules: ImportError
    monkeypatch.setitem(sys.modules, "_sha2", None)
    constructor = module._constructor()
    assert constructor is hashlib.sha256
    assert constructor(b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()
