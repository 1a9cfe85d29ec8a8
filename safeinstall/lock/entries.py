"""The values a lock is made of: its files, packages, build sets and the lock itself.

Frozen values, not dataclasses (start-up time: `lock --check` reads a lock into these, and a
dataclass costs its import ~4M instructions); ``frozen.replace`` makes a changed copy.
``model.py`` reads and writes them (and is where callers import them from).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safeinstall.frozen import Frozen, _set

if TYPE_CHECKING:
    from datetime import datetime

    from packaging.utils import NormalizedName
    from packaging.version import Version


class LockedFile(Frozen):
    """One artifact. A requirements.txt lock only knows ``sha256``; pylock.toml knows it all."""

    __slots__ = ("filename", "sha256", "size", "upload_time", "url")
    sha256: str
    filename: str
    url: str  # never with credentials
    size: int | None
    upload_time: datetime | None

    def __init__(
        self,
        sha256: str,
        filename: str = "",
        url: str = "",
        size: int | None = None,
        upload_time: datetime | None = None,
    ) -> None:
        _set(self, "sha256", sha256)
        _set(self, "filename", filename)
        _set(self, "url", url)
        _set(self, "size", size)
        _set(self, "upload_time", upload_time)

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


class LockedPackage(Frozen):
    __slots__ = (
        "allow_fresh",
        "dependencies",
        "files",
        "index_name",
        "index_url",
        "license",
        "marker",
        "name",
        "version",
        "via",
        "yanked",
    )
    name: NormalizedName
    version: Version
    files: tuple[LockedFile, ...]
    marker: str | None
    index_name: str | None
    index_url: str | None
    dependencies: tuple[str, ...]
    via: tuple[str, ...]
    yanked: str | None  # the policy's reason for allowing a yanked version
    license: str | None  # SPDX expression recorded at lock time; None: unknown
    # `lock --allow-fresh`: why (and by whom) it may be inside min-release-age; None: it may not
    allow_fresh: str | None

    def __init__(  # noqa: PLR0917 - the fields, in order
        self,
        name: NormalizedName,
        version: Version,
        files: tuple[LockedFile, ...],
        marker: str | None = None,
        index_name: str | None = None,
        index_url: str | None = None,
        dependencies: tuple[str, ...] = (),
        via: tuple[str, ...] = (),
        yanked: str | None = None,
        license: str | None = None,
        allow_fresh: str | None = None,
    ) -> None:
        _set(self, "name", name)
        _set(self, "version", version)
        _set(self, "files", files)
        _set(self, "marker", marker)
        _set(self, "index_name", index_name)
        _set(self, "index_url", index_url)
        _set(self, "dependencies", dependencies)
        _set(self, "via", via)
        _set(self, "yanked", yanked)
        _set(self, "license", license)
        _set(self, "allow_fresh", allow_fresh)

    @property
    def hashes(self) -> tuple[str, ...]:
        return tuple(sorted({f.sha256 for f in self.files}))


class BuildSet(Frozen):
    """What one locked sdist is built with: its build requirements (``[build-system] requires``
    and what its backend asks for), resolved under the policy when the lock was made, each
    pinned with its wheels' hashes. ``install`` builds the sdist from these files only."""

    __slots__ = ("name", "packages", "sdist", "version")
    name: NormalizedName
    version: Version
    sdist: str  # the sha256 of the sdist it builds
    packages: tuple[LockedPackage, ...]  # sorted by name; no markers: resolved for one build

    def __init__(
        self,
        name: NormalizedName,
        version: Version,
        sdist: str,
        packages: tuple[LockedPackage, ...],
    ) -> None:
        _set(self, "name", name)
        _set(self, "version", version)
        _set(self, "sdist", sdist)
        _set(self, "packages", packages)


class Lock(Frozen):
    __slots__ = (
        "builds",
        "digest",
        "environments",
        "notes",
        "packages",
        "recorded_content",
        "requires_python",
    )
    packages: tuple[LockedPackage, ...]
    digest: str  # input_digest() of what the lock was made from
    environments: tuple[str, ...]  # marker expressions of the targets it was made for
    requires_python: str | None
    # what the writer wants a reader to know, e.g. a package locked at different versions on
    # different targets; a comment in requirements.txt, ``[tool.safeinstall] notes`` in pylock.toml
    notes: tuple[str, ...]
    builds: tuple[BuildSet, ...]  # one per sdist that needs building, sorted by sdist
    # the content digest the file records ("": none); not content itself, so not compared
    recorded_content: str

    def __init__(  # noqa: PLR0917 - the fields, in order
        self,
        packages: tuple[LockedPackage, ...],
        digest: str,
        environments: tuple[str, ...] = (),
        requires_python: str | None = None,
        notes: tuple[str, ...] = (),
        builds: tuple[BuildSet, ...] = (),
        recorded_content: str = "",
    ) -> None:
        _set(self, "packages", packages)
        _set(self, "digest", digest)
        _set(self, "environments", environments)
        _set(self, "requires_python", requires_python)
        _set(self, "notes", notes)
        _set(self, "builds", builds)
        _set(self, "recorded_content", recorded_content)

    def __eq__(self, other: object) -> bool:  # every field but recorded_content
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields()[:-1] == other._fields()[:-1]

    def __hash__(self) -> int:
        return hash(self._fields()[:-1])

    def build_only(self) -> dict[tuple[NormalizedName, Version], list[str]]:
        """What only the build sets pin (it runs when `install` builds an sdist), each with the
        sdists it builds (``name==version``)."""
        runtime = {(p.name, p.version) for p in self.packages}
        found: dict[tuple[NormalizedName, Version], list[str]] = {}
        for build in self.builds:
            for pkg in build.packages:
                if (pkg.name, pkg.version) not in runtime:
                    found.setdefault((pkg.name, pkg.version), []).append(
                        f"{build.name}=={build.version}"
                    )
        return found
