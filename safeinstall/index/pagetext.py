"""The text of a project page read into PEP 691 file objects, for ``pages.py`` to judge.

PEP 503 HTML anchors are turned into the JSON shape (with PEP 592, 629, 658 and 714 attributes),
so that one validation path judges every file of both formats. PEP 691 JSON is read with the
places of its values (``read_json``): the parsed-page cache keeps where each file object lies in
the page, never the object itself, so what a cached page lists comes from the page's own bytes.
Its file objects are read one at a time and not kept (``FileObjects``): a page keeps the text of
those it uses, and decodes one again when its release is asked for.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import accumulate
from typing import Any
from urllib.parse import unquote, urlsplit

from safeinstall import __version__
from safeinstall.index.filenames import FileFilter
from safeinstall.policy.model import IndexSpec

Span = tuple[int, int]  # text[start:end]
PARSER_VERSION = "1"  # of what the parsed-page cache keeps: change it when that changes

_DECODE = json.JSONDecoder().raw_decode  # json.loads's decoder: the same values, the same errors
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_WHITE = " \t\n\r"  # JSON's whitespace
_SPACE = re.compile(f"[{_WHITE}]*")
_UNSAFE_NAME = re.compile(r"[/\\%\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class JsonText:
    """A JSON object with where its values lie: ``data`` is what ``json.loads`` returns, but
    for a ``files`` list, read as ``FileObjects``; ``spans`` the place of each top-level value
    (of the last one, for a repeated key, as ``json.loads`` keeps the last)."""

    data: dict[str, Any]
    spans: dict[str, Span]


@dataclass(frozen=True, slots=True)
class FileObjects:
    """A page's ``files`` list, read but not kept: the ``filename`` of each element (None
    unless it is an object with one) and where the element lies in ``text``. An element is
    decoded again when asked for (``self[at]``), so a page of 10,000 file objects never holds
    them all at once; ``raw(at)`` is its JSON text, ``only(kept)`` the list of some of them."""

    text: str
    names: tuple[Any, ...]
    spans: tuple[Span, ...]

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, at: int) -> Any:
        return _value(self.text, *self.spans[at])

    def __iter__(self) -> Iterator[Any]:
        return (self[at] for at in range(len(self)))

    def raw(self, at: int) -> str:
        start, end = self.spans[at]
        return self.text[start:end]

    def compact(self) -> bool:
        """Whether its text is its elements' alone (as ``only`` makes it), not a whole page's."""
        return sum(end - start for start, end in self.spans) == len(self.text)

    def only(self, kept: list[int]) -> FileObjects:
        """The elements at ``kept``, with their text alone (what the lock's helper sends)."""
        raws = [self.raw(at) for at in kept]
        ends = list(accumulate(map(len, raws)))
        spans = tuple(zip([0, *ends], ends, strict=False))
        return FileObjects("".join(raws), tuple(self.names[at] for at in kept), spans)


def read_json(text: str) -> JsonText | None:
    """``text`` as one JSON object, or None when it is not one (then ``json.loads`` says why).

    Every value is decoded by ``json.loads``'s own decoder; this walks only the punctuation of
    the outer object and of its ``files`` list, and refuses anything but plain JSON there."""
    data: dict[str, Any] = {}
    spans: dict[str, Span] = {}
    try:
        at = _skip(text, 0)
        if text[at] != "{":
            return None
        at = _skip(text, at + 1)
        while text[at] != "}":
            if text[at] != '"':
                return None
            key, at = _DECODE(text, at)
            at = _skip(text, at)
            if text[at] != ":":
                return None
            start = _skip(text, at + 1)
            if key == "files" and text[start] == "[":
                data[key], at = _files(text, start)
            else:
                data[key], at = _DECODE(text, start)
            spans[key] = (start, at)
            at = _skip(text, at)
            if text[at] == ",":
                at = _skip(text, at + 1)
                if text[at] == "}":
                    return None  # a trailing comma
            elif text[at] != "}":
                return None
        if _skip(text, at + 1) != len(text):
            return None
    except (ValueError, IndexError, RecursionError):
        return None
    return JsonText(data, spans)


def memo_key(
    body: bytes, page_url: str, project: str, index: IndexSpec, fits: FileFilter | None
) -> str:
    """The parsed-page cache's key: names all that what it keeps depends on (the page's bytes,
    where it was, which files are kept); hashed, as URLs may hold passwords."""
    kept = fits.key(project) if fits is not None else "all"
    version = f"{__version__}/{PARSER_VERSION}"  # a release may keep other files
    what = (version, hashlib.sha256(body).hexdigest(), page_url, project, repr(index))
    return hashlib.sha256("\0".join((*what, kept)).encode()).hexdigest()


def remembered(read: JsonText, kept: list[int]) -> dict[str, Any]:
    """What the parsed-page cache keeps of a page: where its ``files`` list and the last element
    of it lie, and where each file object kept lies (``kept``: their places in the list)."""
    files = read.data["files"].spans
    last = files[-1] if files else []
    return {"files": read.spans["files"], "last": last, "kept": [n for i in kept for n in files[i]]}


def read_remembered(text: str, known: object) -> JsonText | None:
    """The page as ``read_json`` gives it, but with only the kept file objects in its ``files``
    list, from the places a cache entry gives (None when they are not the page's own).

    The page without its ``files`` list is read whole, so its name, status and versions are
    the page's; that the list is one value, not one drawn over other keys to hide them, is
    checked at its end: the last file object (one with a ``filename``), then ``]``. The file
    objects are read from the page's bytes, so an entry cannot add or change a file."""
    places = _places(known, len(text))
    if places is None:
        return None
    first, end, last, kept = places
    rest = read_json(f"{text[:first]}[]{text[end:]}")
    if rest is None or rest.spans.get("files") != (first, first + 2) or text[end - 1] != "]":
        return None
    if text[(last[1] if last else first + 1) : end - 1].strip(_WHITE):
        return None
    try:
        tail = _value(text, *last) if last else {"filename": ""}
        names = tuple(name(_value(text, a, b)) for a, b in kept)
    except (ValueError, RecursionError):
        return None
    if not isinstance(name(tail), str):
        return None
    rest.data["files"] = FileObjects(text, names, tuple(kept))
    return rest


def name(value: Any) -> Any:
    """The ``filename`` of a file object (None when it is not an object)."""
    return value.get("filename") if type(value) is dict else None


def name_fault(names: Sequence[Any], entries: Iterable[Any]) -> str | None:
    """Why the ``files`` list whose elements' ``names`` these are is refused: an element that
    is not an object with a bare file name (None when there is none)."""
    try:  # every name checked at once ('>' joins them: it makes no '..' nor unsafe byte)
        joined = ">".join(names)
    except TypeError:
        joined = "/"  # an entry or a name that is not a string: found below
    if ".." not in joined and not _UNSAFE_NAME.search(joined) and "" not in names:
        return None
    try:
        for entry in entries:
            if type(entry) is not dict:
                return "a 'files' entry is not an object"
            filename = entry.get("filename")
            if type(filename) is not str:
                return "a file entry lacks a 'filename' string"
            if not filename or _UNSAFE_NAME.search(filename) or ".." in filename:
                return f"it lists a file named {filename!r}, not a bare file name"
    except (ValueError, RecursionError):  # of ``FileObjects`` that did not come from a page
        return "a 'files' entry is not JSON"
    raise AssertionError("a name was refused at once but none alone")  # pragma: no cover


def file_object(files: FileObjects, at: int) -> dict[str, Any] | None:
    """The element at ``at`` of ``files``, when it is a file object with the name read there."""
    try:
        value = files[at]
    except (ValueError, RecursionError):
        return None
    return value if name(value) == files.names[at] else None


def _value(text: str, start: int, end: int) -> Any:
    """The one JSON value that is ``text[start:end]`` (else ValueError or RecursionError)."""
    try:
        value, stop = _SCAN(text, start)
    except StopIteration:
        raise ValueError("no JSON value starts there") from None
    if stop != end:
        raise ValueError("not one JSON value")
    return value


def _places(known: object, size: int) -> tuple[int, int, Span | None, list[Span]] | None:
    """(list start, list end, last element, kept elements) of a cache entry, when it is
    well-formed and they lie in the list."""
    if not isinstance(known, dict):
        return None
    around, last, kept = known.get("files"), known.get("last"), known.get("kept")
    if not (isinstance(around, list) and isinstance(last, list) and isinstance(kept, list)):
        return None
    numbers = [*around, *last, *kept]
    if len(around) != 2 or len(last) not in (0, 2) or len(kept) % 2:
        return None
    if set(map(type, numbers)) != {int}:
        return None
    first, end = around
    stop = last[1] if last else first + 1
    inside = numbers[2:]  # a span out of order reads as "" or as more than one value: refused
    if not 0 <= first < stop < end <= size or (inside and not first < min(inside) <= stop):
        return None
    if inside and max(inside) > stop:
        return None
    return (
        first,
        end,
        (last[0], last[1]) if last else None,
        list(zip(kept[::2], kept[1::2], strict=True)),
    )


def _files(text: str, at: int) -> tuple[FileObjects, int]:
    """The JSON list at ``text[at] == "["`` as ``FileObjects``, and where it ends. (The hot loop
    of a page: up to 10,000 file objects, most often ", " between them.)"""
    names: list[Any] = []
    spans: list[Span] = []
    scan, named, place = _SCAN, names.append, spans.append
    at = _skip(text, at + 1)
    if text[at] == "]":
        return FileObjects(text, (), ()), at + 1
    while True:
        try:
            value, end = scan(text, at)
        except StopIteration:
            raise ValueError("not a JSON value") from None
        named(value.get("filename") if type(value) is dict else None)  # name(), inlined
        place((at, end))
        if text.startswith(", ", end) and text[end + 2] not in _WHITE:
            at = end + 2
            continue
        end = _skip(text, end)
        if text[end] == "]":
            return FileObjects(text, tuple(names), tuple(spans)), end + 1
        if text[end] != ",":
            raise ValueError("not a JSON list")
        at = _skip(text, end + 1)


def _skip(text: str, at: int) -> int:
    """Where the whitespace at ``text[at]`` ends."""
    space = _SPACE.match(text, at)
    return space.end() if space is not None else at


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
