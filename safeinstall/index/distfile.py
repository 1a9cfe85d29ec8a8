"""What an index lists: the files of one project, with what the listing says about each.

These values are produced by ``index.py`` (from PEP 691 JSON or PEP 503 HTML) and consumed by the
metadata reader, the resolver and the lock writers. Every field comes from the listing; nothing is
derived from downloading a file.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from safeinstall.index.filenames import version as parse_version

# PEP 792 project status markers; a page that names none is "active"
STATUSES = ("active", "archived", "quarantined", "deprecated")
REASON_LIMIT = 200  # characters of an index's status reason kept for display

_STATUS = re.compile(r"[a-z][a-z0-9-]{0,31}\Z")


def listed_text(raw: str, limit: int = REASON_LIMIT) -> str:
    """Text an index wrote (a status reason), safe to print: one line, no control or format
    characters (no terminal escape sequence survives), at most ``limit`` characters."""
    kept = "".join(
        " " if c.isspace() else c for c in raw if c.isspace() or unicodedata.category(c)[0] != "C"
    )
    text = " ".join(kept.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def project_status(marker: object) -> tuple[str, str | None]:
    """PEP 792: a page's ``project-status`` as (status, printable reason), ``active`` when it
    gives none; ValueError when malformed."""
    raw = marker.get("status") if isinstance(marker, dict) else ""
    reason = marker.get("reason") if isinstance(marker, dict) else None
    status = raw.strip().lower() if isinstance(raw, str) else "active" if raw is None else ""
    if not _STATUS.match(status) or not isinstance(reason, str | None):
        raise ValueError(f"its project-status {listed_text(repr(marker), 80)} is bad")
    return status, (listed_text(reason) or None) if reason else None


def listed_versions(raw: object) -> tuple[Version, ...] | None:
    """PEP 700 ``versions`` (None when the page gives none; legacy versions skipped, no file of
    ours can carry one); ValueError when it is not a list of strings."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ValueError("its 'versions' is not a list of strings")
    versions: list[Version] = []
    for text in raw:
        try:
            versions.append(parse_version(text))  # shared: file names carry the same texts
        except InvalidVersion:
            continue
    return tuple(versions)


@dataclass(frozen=True, slots=True)
class DistFile:
    """One file (wheel or sdist) of one version of a project, as one index lists it."""

    project: NormalizedName
    version: Version
    filename: str  # validated: a bare file name, never a path
    url: str  # absolute, https (or an explicitly trusted URL); credentials stripped
    index: str  # name of the policy index that listed it
    kind: Literal["wheel", "sdist"]
    hashes: Mapping[str, str] = field(default_factory=dict)  # algorithm -> lowercase hex
    tags: frozenset[Tag] = frozenset()  # wheels only
    requires_python: SpecifierSet | None = None
    yanked: str | None = None  # None: not yanked; "" yanked without a reason
    upload_time: datetime | None = None  # PEP 700, timezone-aware
    size: int | None = None  # PEP 700
    # PEP 658/714: None = no metadata file served; otherwise its hashes (may be empty)
    metadata_hashes: Mapping[str, str] | None = None

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")


# the releases whose files are read when asked for, and how: one call for every release
Lazy = tuple[Collection[Version], Callable[[Version], tuple["DistFile", ...]]]


class ProjectPage:
    """All files one index lists for one project (PEP 700 ``versions`` when served).

    Big projects list thousands of files, of which a lock needs one release. A page parsed from
    an index therefore keeps each release's entries raw and turns them into (validated)
    ``DistFile`` values only when that release is asked for: ``releases()`` is cheap,
    ``files_of(version)`` parses one release once, ``files`` parses them all.
    """

    __slots__ = (
        "_done",
        "_guard",
        "_load",
        "_pending",
        "_releases",
        "_told",
        "index",
        "project",
        "status",
        "status_reason",
        "versions",
    )

    def __init__(
        self,
        project: NormalizedName,
        index: str,
        files: Sequence[DistFile] = (),
        versions: tuple[Version, ...] | None = None,
        *,
        lazy: Lazy | None = None,
        status: str = "active",
        status_reason: str | None = None,
    ) -> None:
        self.project = project
        self.index = index
        self.versions = versions
        self.status = status  # PEP 792: lower case, as the index wrote it (may be unknown)
        self.status_reason = status_reason  # already ``listed_text``
        done: dict[Version, tuple[DistFile, ...]] = {}
        for file in files:
            done[file.version] = (*done.get(file.version, ()), file)
        self._done = done
        self._pending: Collection[Version] = lazy[0] if lazy else ()
        self._load = lazy[1] if lazy else None
        # in the page's order (by file name: runs of ascending versions), not a set's: fewer
        # comparisons of versions, each a Python call (~40% fewer on real pages)
        self._releases = tuple(sorted(dict.fromkeys([*done, *self._pending]), reverse=True))
        self._guard = threading.Lock()
        self._told = False

    def tell_once(self) -> bool:
        """True the first time only: a page is read once a run, its status is told once."""
        with self._guard:
            first, self._told = not self._told, True
        return first

    def releases(self) -> tuple[Version, ...]:
        """Every version the page has files for, newest first."""
        return self._releases

    def files_of(self, version: Version) -> tuple[DistFile, ...]:
        done = self._done.get(version)
        if done is None:
            with self._guard:
                done = self._done.get(version)
                if done is None:
                    load = self._load if version in self._pending else None
                    done = self._done[version] = load(version) if load is not None else ()
        return done

    @property
    def files(self) -> tuple[DistFile, ...]:
        return tuple(f for v in sorted(self._releases) for f in self.files_of(v))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProjectPage):
            return NotImplemented
        mine = (self.project, self.index, self.versions, self.status, self.status_reason)
        theirs = (other.project, other.index, other.versions, other.status, other.status_reason)
        files = sorted(self.files, key=_by_name) == sorted(other.files, key=_by_name)
        return mine == theirs and files

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ProjectPage({self.project!r}, {self.index!r}, {len(self._releases)} releases)"


def _by_name(file: DistFile) -> str:
    return file.filename
