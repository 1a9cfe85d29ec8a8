"""PEP 503 HTML project pages read into the PEP 691 JSON shape (with PEP 592, 629, 658 and 714
attributes), so that one validation path (``pages.py``) judges every file of both formats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class Anchors:
    """What an HTML page says: its file links as PEP 691 entries, ``<base href>``, the
    ``pypi:repository-version`` meta value (None when absent) and the PEP 792 status as the
    JSON ``project-status`` object (``pypi:project-status`` and ``-reason`` meta tags)."""

    entries: list[dict[str, Any]]
    base: str | None
    repository_version: str | None
    project_status: dict[str, str | None]


def read_anchors(text: str) -> Anchors:
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    entries = [entry for attrs, label in parser.anchors if (entry := _entry(attrs, label))]
    status = {"status": parser.meta.get("pypi:project-status")}
    status["reason"] = parser.meta.get("pypi:project-status-reason")
    return Anchors(entries, parser.base, parser.repository_version, status)


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.base: str | None = None
        self.repository_version: str | None = None
        self.meta: dict[str, str] = {}  # the first of each PEP 792 meta tag
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self._close_anchor()
            self._open, self._text = values, []
        elif tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "meta" and values.get("name") == "pypi:repository-version":
            self.repository_version = values.get("content") or ""
        elif tag == "meta" and (name := values.get("name") or "").startswith("pypi:project-status"):
            self.meta.setdefault(name, values.get("content") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close_anchor()

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._close_anchor()

    def _close_anchor(self) -> None:
        if self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def _entry(attrs: Mapping[str, str | None], text: str) -> dict[str, Any] | None:
    """A PEP 503 anchor as the PEP 691 file object it stands for (None: not a file link)."""
    href = attrs.get("href")
    if not href:
        return None
    if not text:  # PEP 503 wants the name as the text; tolerate an empty one
        text = unquote(urlsplit(href).path.rsplit("/", 1)[-1])
    algorithm, equals, digest = urlsplit(href).fragment.partition("=")
    entry: dict[str, Any] = {
        "filename": text,
        "url": href,
        "hashes": {algorithm: digest} if equals else {},
        "requires-python": attrs.get("data-requires-python"),
        "yanked": (attrs["data-yanked"] or True) if "data-yanked" in attrs else False,
    }
    metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
    if metadata is not None and metadata.strip().lower() == "true":
        entry["core-metadata"] = True
    elif metadata is not None and "=" in metadata:
        algorithm, _, digest = metadata.partition("=")
        entry["core-metadata"] = {algorithm: digest}
    return entry
