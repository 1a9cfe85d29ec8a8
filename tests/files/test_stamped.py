"""The stamped data files: read back only when made from this source and not edited since."""

from __future__ import annotations

from safeinstall.files.stamped import stamped, stamped_body

HEADER = "# made by a script. Do not edit by hand\n"


def test_a_stamped_file_gives_its_body_for_its_own_source() -> None:
    text = stamped(HEADER, b"source v1", "a\nb\n")
    assert text.startswith(HEADER)
    assert stamped_body(text.encode(), b"source v1") == b"a\nb\n"


def test_a_file_made_from_another_source_is_not_used() -> None:
    text = stamped(HEADER, b"source v1", "a\nb\n")
    assert stamped_body(text.encode(), b"source v2") is None


def test_an_edited_body_or_a_missing_stamp_is_not_used() -> None:
    text = stamped(HEADER, b"source v1", "a\nb\n")
    assert stamped_body(text.replace("b\n", "c\n").encode(), b"source v1") is None
    assert stamped_body((text + "extra\n").encode(), b"source v1") is None
    assert stamped_body(b"a\nb\n", b"source v1") is None
    assert stamped_body(HEADER.encode() + b"# stamp: 0", b"source v1") is None
