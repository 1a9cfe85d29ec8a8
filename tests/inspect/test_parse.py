"""The scanner's parse: CPython 3.11's AST constructor can report its recursion counter out of
step (gh-106905), at random; a file's content must never turn that into an internal error."""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeinstall.inspect import archive
from safeinstall.inspect.code import inspect_source

DECODED_EXEC = b"import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"
MISMATCH = "AST constructor recursion depth mismatch (before=30, after=60)"


def test_a_parse_that_trips_the_counter_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    real, calls = ast.parse, []

    def once_out_of_step(text: str, file: str) -> ast.Module:
        calls.append(file)
        if len(calls) == 1:
            raise SystemError(MISMATCH)
        return real(text, file)

    monkeypatch.setattr(ast, "parse", once_out_of_step)
    hits = inspect_source(DECODED_EXEC, "pkg/m.py")
    assert [rule for rule, _, _ in hits] == ["code-exec-decoded"]
    assert calls == ["pkg/m.py", "pkg/m.py"]


def test_a_parse_that_always_trips_it_is_uninspectable_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def out_of_step(text: str, file: str) -> ast.Module:
        raise SystemError(MISMATCH)

    monkeypatch.setattr(ast, "parse", out_of_step)
    assert inspect_source(DECODED_EXEC, "pkg/m.py") == [
        ("code-uninspectable", None, f"pkg/m.py could not be parsed here ({MISMATCH})")
    ]


@pytest.mark.parametrize(
    "source",
    [
        b"from base64 import b64decode\nexec(b64decode('cHJpbnQoMSk='))\n",
        b"from base64 import b64decode as d\nexec(d('cHJpbnQoMSk='))\n",
        b"from zlib import decompress\neval(decompress(b'x'))\n",
        b"from base64 import b64decode\nx = b64decode('cHJpbnQoMSk=')\nexec(x)\n",
    ],
)
def test_a_decoder_imported_by_name_is_still_a_decoder(source: bytes) -> None:
    assert [rule for rule, _, _ in inspect_source(source, "pkg/m.py")] == ["code-exec-decoded"]


@given(st.text(alphabet="ab./\\\\ \u00e9", max_size=12))
def test_a_member_name_is_normalised_as_a_posix_path_would_be(name: str) -> None:
    """The quick path for plain names gives what PurePosixPath gives for every name."""
    assert archive._normal(name) == "/".join(PurePosixPath(name).parts)
