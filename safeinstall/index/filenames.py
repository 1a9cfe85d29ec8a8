"""Wheel and sdist file names parsed as ``packaging.utils`` does, with shared caches.

A project page lists thousands of files whose versions and tag sets repeat (every wheel of a
release shares its version; most wheels share a handful of tag strings and requires-python
values). Parsing each anew dominated locking time and memory, so versions, tag sets and
requires-python specifiers are parsed once per distinct string and the parsed objects are
shared. ``tests/test_distname.py`` holds this to
``packaging.utils.parse_wheel_filename``/``parse_sdist_filename`` as the oracle.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Literal

from packaging.specifiers import SpecifierSet
from packaging.tags import InvalidTag, Tag, UnsortedTagsError, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
)
from packaging.version import InvalidVersion, Version

DistKind = Literal["wheel", "sdist"]
_WHEEL_NAME = re.compile(r"^[\w._]+\Z", re.UNICODE)
_BUILD = re.compile(r"(\d+)(.*)")


@lru_cache(maxsize=1 << 16)
def version(text: str) -> Version:
    return Version(text)


@lru_cache(maxsize=1 << 12)
def tags(text: str) -> frozenset[Tag]:
    return parse_tag(text)


@lru_cache(maxsize=1 << 10)
def specifier(text: str) -> SpecifierSet:
    """A requires-python value (a page has a few distinct ones)."""
    return SpecifierSet(text)


@lru_cache(maxsize=1 << 12)
def _name(text: str) -> NormalizedName:
    return canonicalize_name(text)


def parse_wheel(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag]]:
    if not filename.endswith(".whl"):
        raise InvalidWheelFilename(f"not a wheel: {filename!r}")
    stem = filename[:-4]
    dashes = stem.count("-")
    if dashes not in (4, 5):
        raise InvalidWheelFilename(f"wrong number of parts: {filename!r}")
    parts = stem.split("-", dashes - 2)
    if "__" in parts[0] or _WHEEL_NAME.match(parts[0]) is None:
        raise InvalidWheelFilename(f"invalid project name: {filename!r}")
    try:
        parsed_version = version(parts[1])
    except InvalidVersion:
        raise InvalidWheelFilename(f"invalid version: {filename!r}") from None
    if dashes == 5 and _BUILD.match(parts[2]) is None:
        raise InvalidWheelFilename(f"invalid build number: {filename!r}")
    try:
        return _name(parts[0]), parsed_version, tags(parts[-1])
    except (InvalidTag, UnsortedTagsError):
        raise InvalidWheelFilename(f"invalid tag: {filename!r}") from None


def parse_sdist(filename: str) -> tuple[NormalizedName, Version]:
    if filename.endswith(".tar.gz"):
        stem = filename[: -len(".tar.gz")]
    elif filename.endswith(".zip"):
        stem = filename[: -len(".zip")]
    else:
        raise InvalidSdistFilename(f"not an sdist: {filename!r}")
    name, sep, text = stem.rpartition("-")
    if not sep or not name:
        raise InvalidSdistFilename(f"invalid sdist name: {filename!r}")
    try:
        return _name(name), version(text)
    except InvalidVersion:
        raise InvalidSdistFilename(f"invalid version: {filename!r}") from None


def parse_dist(filename: str) -> tuple[NormalizedName, Version, DistKind, frozenset[Tag]] | None:
    """(name, version, kind, tags) of a wheel or sdist file name; None for anything else."""
    try:
        if filename.endswith(".whl"):
            name, parsed, tag_set = parse_wheel(filename)
            return name, parsed, "wheel", tag_set
        if filename.endswith((".tar.gz", ".zip")):
            name, parsed = parse_sdist(filename)
            return name, parsed, "sdist", frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


class FileFilter:
    """Which files a lock for some targets can use: wheels with one of the targets' tags (decided
    once per tag string), sdists of the projects the policy lets build. Wheel names that do not
    parse are kept: the full validation of their release reports them."""

    def __init__(self, tags: Iterable[Tag], sdists: Callable[[str], bool]) -> None:
        self._tags = frozenset(tags)
        self.sdist = sdists  # project name -> whether its sdists are kept
        self._seen: dict[str, bool] = {}
        names = "\0".join(sorted(map(str, self._tags)))
        self._tags_key = hashlib.sha256(names.encode()).hexdigest()

    def key(self, project: str) -> str:
        """Names what this filter keeps of ``project``'s files (for the parsed-page cache)."""
        return f"{self._tags_key}:{int(self.sdist(_name(project)))}"

    def wheel(self, tail: str) -> bool:
        """``tail``: a wheel's file name after the version, ``[build-]py-abi-platform.whl``."""
        fits = self._seen.get(tail)
        if fits is None:
            parts = tail[: -len(".whl")].split("-")
            try:
                fits = len(parts) not in (3, 4) or not self._tags.isdisjoint(
                    tags("-".join(parts[-3:]))
                )
            except (InvalidTag, UnsortedTagsError):
                fits = True
            self._seen[tail] = fits
        return fits
