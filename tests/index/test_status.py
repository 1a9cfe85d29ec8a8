"""PEP 792 project status markers: read from the JSON ``project-status`` object and from the
HTML ``pypi:project-status`` / ``pypi:project-status-reason`` meta tags; the index's reason is
untrusted text, kept printable and bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from safeinstall.errors import IndexServerError
from safeinstall.index.distfile import REASON_LIMIT, listed_text
from safeinstall.index.pages import HTML_TYPES, parse_json_page, parse_page
from safeinstall.policy.model import IndexSpec

INDEX = IndexSpec(name="corp", url="https://pkgs.example.com/simple")
PAGE = "https://pkgs.example.com/simple/demo/"
WHEEL = "demo-1.0-py3-none-any.whl"


def json_page(**extra: Any) -> bytes:
    entry = {"filename": WHEEL, "url": f"/files/{WHEEL}", "hashes": {"sha256": "ab" * 32}}
    doc = {"meta": {"api-version": "1.4"}, "name": "demo", "files": [entry], **extra}
    return json.dumps(doc).encode()


def html_page(*meta: tuple[str, str]) -> bytes:
    tags = "".join(f'<meta name="{n}" content="{c}">' for n, c in meta)
    head = f'<html><head><meta name="pypi:repository-version" content="1.4">{tags}</head>'
    return f'{head}<body><a href="/files/{WHEEL}">{WHEEL}</a></body></html>'.encode()


def parse_json(body: bytes) -> Any:
    return parse_json_page(body, page_url=PAGE, project="demo", index=INDEX)


def parse_html(body: bytes) -> Any:
    return parse_page(body, HTML_TYPES[0], page_url=PAGE, project="demo", index=INDEX)


def test_a_page_without_a_marker_is_active() -> None:
    assert (parse_json(json_page()).status, parse_json(json_page()).status_reason) == (
        "active",
        None,
    )
    assert parse_html(html_page()).status == "active"


@pytest.mark.parametrize("status", ["archived", "quarantined", "deprecated", "active"])
def test_the_json_status_and_reason_are_read(status: str) -> None:
    page = parse_json(json_page(**{"project-status": {"status": status, "reason": "malware"}}))
    assert (page.status, page.status_reason) == (status, "malware")
    assert [f.filename for f in page.files] == [WHEEL]


def test_the_html_meta_tags_are_read() -> None:
    page = parse_html(
        html_page(("pypi:project-status", "quarantined"), ("pypi:project-status-reason", "bad"))
    )
    assert (page.status, page.status_reason) == ("quarantined", "bad")


def test_a_status_reason_cannot_carry_terminal_escapes_and_is_bounded() -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2Jok\u202e\nnext line" + "x" * 5000
    page = parse_json(json_page(**{"project-status": {"status": "archived", "reason": hostile}}))
    reason = page.status_reason
    assert "\x1b" not in reason and "\x07" not in reason and "\n" not in reason
    assert "\u202e" not in reason  # no bidirectional override either
    assert reason.startswith("]0;pwned[2Jok next line")
    assert len(reason) == REASON_LIMIT
    assert listed_text("  a\t b  ") == "a b"


@pytest.mark.parametrize(
    "marker",
    [
        "quarantined",  # not an object
        {"status": 1},
        {"status": "Quar antined"},
        {"status": "\x1b[31mred"},
        {"status": "archived", "reason": ["a list"]},
    ],
)
def test_a_malformed_json_marker_fails_the_page(marker: object) -> None:
    with pytest.raises(IndexServerError, match="project-status"):
        parse_json(json_page(**{"project-status": marker}))


def test_an_empty_html_status_fails_the_page() -> None:
    with pytest.raises(IndexServerError, match="project-status"):
        parse_html(html_page(("pypi:project-status", "")))


def test_the_status_is_lower_cased() -> None:
    page = parse_json(json_page(**{"project-status": {"status": "Archived"}}))
    assert page.status == "archived"
