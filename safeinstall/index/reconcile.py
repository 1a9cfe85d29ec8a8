"""A whole wheel against the core metadata a lock was resolved from.

Core metadata comes from a PEP 658 metadata file or from ranged reads of the wheel; neither is
covered by the wheel's sha256, so a proxy or mirror can add a dependency there (or hide one) and
leave the wheel's hash intact. Whenever the whole wheel is at hand and verified, its METADATA is
compared with what was resolved from:

- the metadata this machine cached under the wheel's sha256, byte for byte (``fetch_all`` does
  this for every wheel it delivers: installs, ``download``, build environments while locking;
  and while locking, the metadata reader compares what the index serves with a wheel the
  artifact store already holds);
- the lock itself, for a lock made elsewhere (the cache is empty there): every dependency the
  lock records for the package must be named by a ``Requires-Dist`` of the wheel, and every
  ``Requires-Dist`` that applies to the environment (no extra) must name a package the lock
  installs there, at a version its specifier admits.

Any mismatch is an IntegrityError naming both sources, raised before anything is installed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from safeinstall.errors import IndexServerError, IntegrityError
from safeinstall.index.distfile import DistFile
from safeinstall.index.fetch import Artifact, Store, parse_filename
from safeinstall.index.metadata import (
    cached_metadata,
    forget_metadata,
    parse_metadata,
    wheel_metadata,
)
from safeinstall.index.remotezip import RemoteBytes

if TYPE_CHECKING:
    from safeinstall.lock.model import LockedPackage

_SHA256 = re.compile(r"[0-9a-f]{64}")
_HINT = (
    "the index or a mirror serves metadata (its PEP 658 file or ranged reads) that differs from "
    "the wheel; nothing was installed: tell the index's operator, then relock"
)


def reconcile_wheels(
    artifacts: Sequence[Artifact],
    paths: Mapping[str, Path],
    packages: Sequence[LockedPackage],
    environment: Mapping[str, str],
) -> None:
    """The install pipeline's check: each wheel of ``artifacts`` (sha256 -> verified local path
    in ``paths``, as ``fetch_all`` returned them, the cached metadata already compared there)
    against the lock; ``packages``: the locked packages that apply to ``environment``."""
    locked = {p.name: p for p in packages}
    for artifact in artifacts:
        package = locked.get(artifact.name)
        if artifact.is_wheel and package is not None and package.version == artifact.version:
            reconcile_wheel(
                paths[artifact.sha256],
                artifact.filename,
                artifact.sha256,
                cache=None,
                package=package,
                locked=locked,
                environment=environment,
            )


def reconcile_wheel(
    wheel: Path,
    filename: str,
    sha256: str,
    *,
    cache: Path | None,
    package: LockedPackage | None = None,
    locked: Mapping[NormalizedName, LockedPackage] | None = None,
    environment: Mapping[str, str] | None = None,
) -> None:
    """The METADATA of the verified ``wheel`` against the metadata cached for ``sha256`` and,
    with ``package``, against the lock (``locked``: the packages it installs in ``environment``)."""
    file = _wheel_file(filename)
    inside = _inside(file, wheel)
    recorded = cached_metadata(cache, sha256) if cache is not None else None
    if cache is not None and recorded is not None:
        try:
            _same(file, recorded, inside)
        except IntegrityError:
            forget_metadata(cache, sha256)  # the next lock reads the index again
            raise
    if package is not None and environment is not None:
        meta = parse_metadata(file, inside)
        _against_lock(meta, filename, package, locked or {}, environment)


def check_against_store(cache: Path, file: DistFile, served: bytes) -> None:
    """While locking: when the artifact store under ``cache`` already holds the (re-verified)
    wheel, the metadata ``served`` for it must equal its METADATA."""
    digest = file.sha256
    if digest is None or not _SHA256.fullmatch(digest):
        return  # not a name the store could hold (and never a path)
    if not (cache / "artifacts" / "sha256" / digest).is_file():
        return  # nothing stored: no store is created for this check
    path = Store(cache).get(digest)
    if path is not None:
        _same(file, served, _inside(file, path))


def same_metadata(recorded: bytes, wheel: Path, filename: str) -> None:
    """``recorded`` (what the index served) must equal the METADATA inside ``wheel``."""
    file = _wheel_file(filename)
    _same(file, recorded, _inside(file, wheel))


def _same(file: DistFile, recorded: bytes, inside: bytes) -> None:
    if recorded == inside:
        return
    what = ""
    try:
        served = _requires(parse_metadata(file, recorded))
        real = _requires(parse_metadata(file, inside))
        changes = [f"adds Requires-Dist {r}" for r in sorted(served - real)]
        changes += [f"drops Requires-Dist {r}" for r in sorted(real - served)]
        what = f" ({'; '.join(changes)})" if changes else ""
    except IndexServerError:
        pass  # say that they differ, not how
    raise IntegrityError(
        f"the metadata the index served for {file.filename} (its PEP 658 file or a ranged read, "
        f"cached under its sha256) differs from the METADATA inside the wheel file{what}",
        hint=_HINT,
    )


def _wheel_file(filename: str) -> DistFile:
    parsed = parse_filename(filename)
    if parsed is None or not filename.endswith(".whl"):
        raise IntegrityError(f"{filename} is not a wheel file name")
    return DistFile(parsed[0], parsed[1], filename, url="", index="", kind="wheel")


def _inside(file: DistFile, wheel: Path) -> bytes:
    """The METADATA member of a local wheel, whose .dist-info must name its release."""
    with open(wheel, "rb") as fh:

        def pread(start: int, end: int) -> bytes:
            fh.seek(start)
            return fh.read(end - start)

        return wheel_metadata(file, RemoteBytes(fh.seek(0, io.SEEK_END), pread))


def _against_lock(
    meta: Metadata,
    filename: str,
    package: LockedPackage,
    locked: Mapping[NormalizedName, LockedPackage],
    environment: Mapping[str, str],
) -> None:
    requires = list(meta.requires_dist or ())
    named = {canonicalize_name(r.name) for r in requires}
    # the edges the lock records: pylock's dependencies, and every package's "via" its parents
    edges = {canonicalize_name(d) for d in package.dependencies if d}
    edges |= {p.name for p in locked.values() if package.name in p.via}
    problems = [
        f"the lock records {name} as its dependency, which its METADATA does not name"
        for name in sorted(edges - named - {package.name})
    ]
    for req in requires:
        name = canonicalize_name(req.name)
        if name == package.name or not _applies(req, environment):
            continue
        have = locked.get(name)
        if have is None:
            problems.append(f"it requires {req}, which the lock does not install here")
        elif not req.specifier.contains(have.version, prereleases=True):
            problems.append(f"it requires {req}, but the lock pins {name} {have.version}")
    if problems:
        raise IntegrityError(
            f"the METADATA inside the wheel file {filename} differs from the metadata "
            f"{package.name} {package.version} was locked with: {'; '.join(problems)}",
            hint=_HINT,
        )


def _applies(req: Requirement, environment: Mapping[str, str]) -> bool:
    return req.marker is None or req.marker.evaluate({**environment, "extra": ""})


def _requires(meta: Metadata) -> set[str]:
    return {str(r) for r in meta.requires_dist or ()}
