"""What an index lists: the files of one project, with what the listing says about each.

These values are produced by ``index.py`` (from PEP 691 JSON or PEP 503 HTML) and consumed by the
metadata reader, the resolver and the lock writers. Every field comes from the listing; nothing is
derived from downloading a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName
from packaging.version import Version


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


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """All files one index lists for one project (PEP 700 ``versions`` when served)."""

    project: NormalizedName
    index: str
    files: tuple[DistFile, ...]
    versions: tuple[Version, ...] | None = None
