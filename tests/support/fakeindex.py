"""An in-memory Finder built from DistFile values and Metadata objects, for resolver tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from packaging.metadata import Metadata
from packaging.specifiers import SpecifierSet
from packaging.tags import parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall.index.distfile import DistFile, ProjectPage

OLD = datetime(2020, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


class FakeFinder:
    def __init__(self, index: str = "public") -> None:
        self.index = index
        self.files: dict[NormalizedName, list[DistFile]] = {}
        self.meta: dict[tuple[str, Version], Metadata] = {}
        self.metadata_read: list[tuple[str, Version]] = []
        self.prefetched: list[DistFile] = []
        self.pages_read: list[str] = []

    def add(
        self,
        name: str,
        version: str,
        deps: Sequence[str] = (),
        *,
        tags: Sequence[str] = ("py3-none-any",),
        sdist: bool = False,
        requires_python: str | None = None,
        yanked: str | None = None,
        uploaded: datetime | None = OLD,
        extras: Sequence[str] = (),
        license: str | None = None,  # License-Expression
    ) -> None:
        project = canonicalize_name(name)
        ver = Version(version)
        stem = f"{project.replace('-', '_')}-{version}"
        names = [(f"{stem}-{tag}.whl", tag) for tag in tags]
        if sdist:
            names.append((f"{stem}.tar.gz", ""))
        for filename, tag in names:
            self.files.setdefault(project, []).append(
                DistFile(
                    project=project,
                    version=ver,
                    filename=filename,
                    url=f"https://files.example.com/{filename}",
                    index=self.index,
                    kind="wheel" if tag else "sdist",
                    hashes={"sha256": hashlib.sha256(filename.encode()).hexdigest()},
                    tags=frozenset(parse_tag(tag)) if tag else frozenset(),
                    requires_python=SpecifierSet(requires_python) if requires_python else None,
                    yanked=yanked,
                    upload_time=uploaded,
                    size=len(filename) * 100,
                )
            )
        raw = {
            "metadata_version": "2.3",
            "name": name,
            "version": version,
            "requires_dist": list(deps),
            "provides_extra": list(extras),
        }
        if requires_python:
            raw["requires_python"] = requires_python
        if license:
            raw["metadata_version"] = "2.4"
            raw["license_expression"] = license
        self.meta[(project, ver)] = Metadata.from_raw(raw)  # type: ignore[arg-type]

    def project(self, name: NormalizedName) -> ProjectPage:
        self.pages_read.append(name)
        return ProjectPage(name, self.index, tuple(self.files.get(name, ())))

    def metadata(self, file: DistFile) -> Metadata:
        self.metadata_read.append((file.project, file.version))
        return self.meta[(file.project, file.version)]

    def prefetch(self, files: Sequence[DistFile], then: Callable[[Metadata], None]) -> None:
        self.prefetched.extend(files)
        for file in files:  # synchronous, like prefetch_projects
            then(self.metadata(file))

    def prefetch_projects(
        self, names: Sequence[NormalizedName], then: Callable[[NormalizedName], None]
    ) -> None:
        for name in names:  # synchronous: deterministic for the tests
            then(name)
