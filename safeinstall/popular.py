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

    A listed name is a line of the file as it is written, ``name`` or ``+name``: that set costs
    a fraction of a full parse, which only names it does not hold need.
    """
    lines = _lines()
    return canon in lines or f"+{canon}" in lines or canon in popular_names().known


@functools.cache
def popular_names() -> PopularNames:
    """The shipped popular-name list, read on first use."""
    return parse_popular_names(_text())


@functools.cache
def _lines() -> frozenset[str]:
    return frozenset(_text().splitlines())


def _text() -> str:
    # A path next to this file, not importlib.resources: that import alone costs the hook more
    # than reading the list.
    with open(os.path.join(os.path.dirname(__file__), "data", _DATA_FILE), encoding="utf-8") as fh:
        return fh.read()


def parse_popular_names(text: str) -> PopularNames:
    """Parse ``popular-names.txt``: ``#`` comments, ``+name`` protected, ``name`` known."""
    # map/filter keep the per-line work in C: this runs on every hook call, over 15,000 lines.
    lines = [s for s in filter(None, map(str.strip, text.splitlines())) if s[0] != "#"]
    protected = tuple(line[1:] for line in lines if line[0] == "+")
    return PopularNames(frozenset(map(str.removeprefix, lines, itertools.repeat("+"))), protected)
