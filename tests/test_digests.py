"""One check of hex digests for every reader of hashes; CPython's own SHA-256 for the hooks."""

from __future__ import annotations

import hashlib
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeinstall import digests as module
from safeinstall.digests import HEX_LENGTHS, is_hex, is_hex_digest, is_sha256, sha256


@pytest.mark.parametrize("algorithm", sorted(HEX_LENGTHS))
def test_what_hashlib_writes_passes(algorithm: str) -> None:
    assert is_hex_digest(algorithm, hashlib.new(algorithm, b"x").hexdigest())


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * 63,
        "a" * 65,
        "A" * 64,  # upper case: callers that tolerate it lower it first
        "g" * 64,
        "../" + "a" * 61,  # never a path
        "a" * 63 + "\n",
        "a" * 63 + "\u0660",  # an Arabic-Indic digit: str.isdigit() would say yes
        " " + "a" * 63,
    ],
)
def test_anything_else_is_not_a_sha256(value: str) -> None:
    assert not is_sha256(value)
    assert not is_hex_digest("sha256", value)


def test_an_algorithm_without_a_length_has_no_digest() -> None:
    assert not is_hex_digest("md5", hashlib.md5(b"x").hexdigest())
    assert not is_hex_digest("", "")


def test_is_hex_takes_any_length_but_not_empty() -> None:
    assert is_hex("0")
    assert is_hex(hashlib.md5(b"x").hexdigest())
    assert not is_hex("")
    assert not is_hex("0x1")


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
