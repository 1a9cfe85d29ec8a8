"""The shipped popular-name list, ``data/popular-names.txt`` (made by
``bench/derive_popular_names.py``): one canonical name per line, ``+`` marking the protected ones.

``names`` builds typosquat detection on it. This module is apart so that the hook path, whose
names are almost always listed, can answer ``is_listed`` without importing that machinery.
"""

from __future__ import annotations

import functools
import itertools
import os

from safeinstall.frozen import Frozen, _set

_DATA_FILE = "popular-names.txt"


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
    return _lines().has(canon)


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
    return read_data(_DATA_FILE).decode("utf-8")


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
