"""The shipped popular-name list, ``data/popular-names.txt`` (made by
``bench/derive_popular_names.py``): one canonical name per line, ``+`` marking the protected ones.

``names`` builds typosquat detection on it. This module is apart so that the hook path, whose
names are almost always listed, can answer ``is_listed`` without importing that machinery. It
answers from ``data/popular-sorted.txt``, the same names sorted (made by the same script, stamped
with the list's CRC-32): a bisection per name instead of a set of 15,000 lines; a copy that is
not the list's own is not used.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import os

from safeinstall.files.stamped import stamped, stamped_body
from safeinstall.frozen import Frozen, _set

_DATA_FILE = "popular-names.txt"
_SORTED_FILE = "popular-sorted.txt"


class PopularNames(Frozen):
    """The shipped list: ``known`` holds every listed name, ``protected`` the targets, most
    downloaded first."""

    __slots__ = ("known", "protected")
    known: frozenset[str]
    protected: tuple[str, ...]

    def __init__(self, known: frozenset[str], protected: tuple[str, ...]) -> None:
        _set(self, "known", known)
        _set(self, "protected", protected)


def is_listed(canon: str) -> bool:
    """Whether the canonical name ``canon`` is on the shipped list (in ``popular_names().known``).

    A listed name is a line of the file as it is written, ``name`` or ``+name``: those lines,
    read from the top (most downloaded first) only as far as needed, answer most names for a
    fraction of a full parse, which only names they do not hold need.
    """
    listed = _sorted()
    return listed.find(canon + "\n") is not None if listed is not None else _lines().has(canon)


class _Lines:
    """The file's lines as a set, grown a chunk at a time until it holds the name asked for: a
    lock's names are mostly near the top, and hashing all 15,000 lines costs a hook ~3 ms."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.read_to = 0  # every line before this offset is in ``seen``
        self.seen: set[str] = set()

    def has(self, canon: str) -> bool:
        protected = f"+{canon}"
        while canon not in self.seen and protected not in self.seen:
            if self.read_to >= len(self.text):
                return False
            end = self.text.find("\n", self.read_to + _CHUNK)
            end = len(self.text) if end < 0 else end + 1
            self.seen.update(self.text[self.read_to : end].splitlines())
            self.read_to = end
        return True


_CHUNK = 8192  # characters, ~500 lines


@functools.cache
def popular_names() -> PopularNames:
    """The shipped popular-name list, read on first use."""
    return parse_popular_names(_text())


@functools.cache
def _lines() -> _Lines:
    return _Lines(_text())


@functools.cache
def protected_names() -> tuple[str, ...]:
    """``popular_names().protected``, read from the top of the file alone (the ``+`` lines come
    first) for a fraction of the full parse: the look-alike index needs only these."""
    text = _lines().text  # read already: is_listed asked first
    start = 0 if text.startswith("+") else text.find("\n+") + 1
    if start == 0 and not text.startswith("+"):
        return ()
    end = text.find("\n", text.rfind("\n+") + 1)
    return tuple(text[start + 1 : len(text) if end < 0 else end].split("\n+"))


def _text() -> str:
    return _data().decode("utf-8")


@functools.cache
def _data() -> bytes:
    return read_data(_DATA_FILE)


def sorted_text(data: bytes) -> str:
    """data/popular-sorted.txt for the popular-name list whose bytes are ``data``: a header, a
    stamp line (CRC-32 of ``data`` and of the lines below it) and every listed name, sorted."""
    body = "".join(name + "\n" for name in sorted(parse_popular_names(data.decode()).known))
    header = (
        "# The names of popular-names.txt, sorted (is_listed bisects it), made from it by\n"
        "# bench/derive_popular_names.py. Do not edit by hand: re-run the script.\n"
    )
    return stamped(header, data, body)


@functools.cache
def _sorted() -> SortedLines | None:
    """The shipped sorted list, or None unless its stamp says it is exactly
    :func:`sorted_text` of the shipped list (then ``is_listed`` reads the list itself: a
    stale or edited copy is never used)."""
    body = stamped_body(read_data(_SORTED_FILE), _data())
    return None if body is None else SortedLines(body.decode("ascii"))


def read_data(name: str) -> bytes:
    """The bytes of the shipped data file ``name``."""
    # A path next to this file, not importlib.resources: that import alone costs the hook more
    # than reading the list.
    with open(os.path.join(os.path.dirname(__file__), "data", name), "rb") as fh:
        return fh.read()


def parse_popular_names(text: str) -> PopularNames:
    """Parse ``popular-names.txt``: ``#`` comments, ``+name`` protected, ``name`` known."""
    # map/filter keep the per-line work in C: this runs on every hook call, over 15,000 lines.
    lines = [s for s in filter(None, map(str.strip, text.splitlines())) if s[0] != "#"]
    protected = tuple(line[1:] for line in lines if line[0] == "+")
    return PopularNames(frozenset(map(str.removeprefix, lines, itertools.repeat("+"))), protected)


class SortedLines(Frozen):
    """The lines of a sorted text (each ending ``\\n``), found by their start without splitting the
    text: splitting the 20,000 lines of the look-alike index cost a hook more than all its
    lookups. A bisection over sample lines, one every ``_STEP`` characters, narrows a lookup to
    a window that ``str.find`` scans."""

    __slots__ = ("samples", "starts", "text")
    text: str  # "\n" + the lines: every line follows a "\n"
    starts: tuple[int, ...]  # where the sample lines start, the first line first
    samples: tuple[str, ...]  # the sample lines, without their "\n"

    def __init__(self, lines: str) -> None:
        text = "\n" + lines if lines.endswith("\n") or not lines else f"\n{lines}\n"
        starts: list[int] = []
        at = 1
        while at < len(text):
            starts.append(at)
            end = text.find("\n", at + _STEP)
            at = len(text) if end < 0 else end + 1
        _set(self, "text", text)
        _set(self, "starts", tuple(starts))
        _set(self, "samples", tuple(text[at : text.find("\n", at)] for at in starts))

    def find(self, start: str) -> str | None:
        """The first line that begins with ``start`` (without its ``\\n``), None if none does.

        The lines before sample ``i - 1`` are below ``start`` and those after sample ``i`` above
        every line beginning with it (``i``: where ``start`` would go among the samples)."""
        i = bisect.bisect_left(self.samples, start)
        low = self.starts[i - 1] if i else 1
        high = self.starts[i] if i < len(self.starts) else len(self.text)
        at = self.text.find("\n" + start, low - 1, high + len(start))
        if at < 0:
            return None
        return self.text[at + 1 : self.text.find("\n", at + 1)]


_STEP = 1024  # characters between sample lines: a window is ~1 KiB, the samples a few hundred
