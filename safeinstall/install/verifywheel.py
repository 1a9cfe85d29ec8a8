"""Installed files against the wheels the lock pins, taken from the local artifact store.

A RECORD hash only shows that a file matches the RECORD beside it: whoever changes a file can
change its RECORD line too. Where the store holds a wheel the lock pins for an installed package
(``safeinstall install`` keeps every wheel it installs there, and the store re-hashes an entry on
every read), each file that wheel puts into site-packages is compared with the wheel's own bytes,
and files that the installed RECORD lists there but the wheel never had are reported. Nothing is
fetched: a package whose wheel is not in the store is checked against its RECORD only.

A wheelhouse made by ``safeinstall download`` (``--find-links``) serves the same purpose where the
environment was installed elsewhere, as in a Docker image: its wheels count only when their
sha256 is one the lock pins.

Problems (``verify.Problem`` kinds):

- ``not-as-locked``: an installed file differs from the same file in the locked wheel;
- ``missing-file``: a file of the locked wheel is not installed;
- ``not-in-wheel``: the installed RECORD lists a file in site-packages that the locked wheel does
  not have (outside the ``.dist-info`` directory, which installers write into, and ``.pyc`` caches);
- ``malformed-record``: the installed RECORD writes hashes in hex (as the locked wheel's own
  RECORD did: some build backends wrote them), not urlsafe base64; its files were compared with
  the locked wheel's bytes, so this names the wheel (and replaces ``verify``'s report of it);
- ``metadata-not-as-locked`` (``verify``, which passes the environment's markers): the locked
  wheel's METADATA does not match the dependencies the lock records for it, or the metadata this
  machine locked it from (``index/reconcile.py``, the check ``install`` makes before pip runs).
"""

from __future__ import annotations

import csv
import hashlib
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.markers import Marker
from packaging.version import Version

from safeinstall.environment.unpack import site_path
from safeinstall.errors import SafeinstallError
from safeinstall.index.fetch import Store, file_sha256, parse_filename
from safeinstall.index.reconcile import reconcile_wheel
from safeinstall.install.verify import (
    Installed,
    Problem,
    as_version,
    is_hex_digest,
    record_path,
    record_text,
)
from safeinstall.lock.model import Lock, LockedPackage

_CHUNK = 1024 * 1024
_SIGNATURES = ("RECORD", "RECORD.jws", "RECORD.p7s")


@dataclass(frozen=True, slots=True)
class WheelCheck:
    problems: tuple[Problem, ...]
    packages: int  # installed packages compared with their locked wheel
    files: int  # files compared
    compared: frozenset[str] = frozenset()  # the names of those packages


def against_wheels(
    lock: Lock,
    dists: Sequence[Installed],
    cache: Path,
    find_links: Sequence[Path] = (),
    *,
    environment: Mapping[str, str] | None = None,
) -> WheelCheck:
    """Compare each installed locked package with its locked wheel, where ``cache``'s store (an
    absent store is not created) or a ``find_links`` folder (a wheelhouse) holds it; with the
    ``environment``'s marker values, that wheel's METADATA with the lock too (``reconcile``)."""
    store = Store(cache) if (cache / "artifacts" / "sha256").is_dir() else None
    pins: dict[tuple[str, Version | None], LockedPackage] = {
        (pkg.name, pkg.version): pkg for pkg in lock.packages
    }
    local = _wheelhouse(find_links, pins)
    problems: list[Problem] = []
    compared: set[str] = set()
    packages = files = 0
    for dist in dists:
        pkg = pins.get((dist.name, as_version(dist.version)))
        found = _installed_wheel(pkg, dist, store, local) if pkg is not None else None
        if pkg is None or found is None:
            continue
        sha256, wheel, filename = found
        packages += 1
        compared.add(dist.name)
        if environment is not None:
            problems += _reconciled((sha256, wheel, filename), pkg, lock, cache, environment)
        for item in _compare(dist, wheel):
            if isinstance(item, Problem):
                problems.append(item)
            else:
                files += 1
        problems += _malformed(dist, filename)
    return WheelCheck(tuple(problems), packages, files, frozenset(compared))


def _wheelhouse(
    folders: Sequence[Path], pins: Mapping[tuple[str, Version | None], LockedPackage]
) -> dict[str, Path]:
    """sha256 -> path of the wheels in ``folders`` that name a locked version (only those are
    hashed); which of them the lock pins is decided by the hash."""
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.whl")) if folder.is_dir() else ():
            named = parse_filename(path.name)
            if named is not None and named in pins and path.is_file():
                found[file_sha256(path)] = path
    return found


def _installed_wheel(
    pkg: LockedPackage, dist: Installed, store: Store | None, local: Mapping[str, Path]
) -> tuple[str, Path, str] | None:
    """(sha256, path, file name) of the locked wheel this package was installed from: of those
    at hand, the one whose RECORD shares most entries with the installed RECORD (a lock may pin
    a wheel per platform)."""
    wheels = [
        (sha256, local[sha256], local[sha256].name) for sha256 in pkg.hashes if sha256 in local
    ]
    if store is not None:
        wheels += [
            (sha256, path, name)
            for sha256 in pkg.hashes
            if sha256 not in local
            and (name := store.name_of(sha256) or "").endswith(".whl")
            and (path := store.get(sha256))
        ]
    if len(wheels) <= 1:
        return wheels[0] if wheels else None
    installed = set(record_rows(dist.meta_dir / "RECORD"))
    return max(wheels, key=lambda found: len(installed & set(_wheel_record_rows(found[1]))))


def _reconciled(
    found: tuple[str, Path, str],
    pkg: LockedPackage,
    lock: Lock,
    cache: Path,
    environment: Mapping[str, str],
) -> list[Problem]:
    """The locked wheel's METADATA against the lock (and the metadata cached for it), as
    ``install`` checks it before pip runs: installed from it, the package depends on what it
    says, whatever the lock records."""
    here = {
        p.name: p
        for p in lock.packages
        if p.marker is None or Marker(p.marker).evaluate(dict(environment))
    }
    sha256, wheel, filename = found
    try:
        reconcile_wheel(
            wheel,
            filename,
            sha256,
            cache=cache,
            package=pkg,
            locked=here,
            environment=environment,
        )
    except SafeinstallError as exc:
        return [Problem("metadata-not-as-locked", exc.message, pkg.name)]
    return []


def _malformed(dist: Installed, filename: str) -> list[Problem]:
    """A RECORD with hex hashes, as the wheel's RECORD was: reported as the wheel's defect."""
    hexed = sum(is_hex_digest(digest) for _, digest in record_rows(dist.meta_dir / "RECORD"))
    if not hexed:
        return []
    return [
        Problem(
            "malformed-record",
            f"malformed RECORD in {filename}: it writes {hexed} hash{'es' * (hexed != 1)} in "
            f"hex, not urlsafe base64 (the installed files of {dist.name} were compared with "
            "the locked wheel's bytes)",
            dist.name,
            record_path(dist),
        )
    ]


def _compare(dist: Installed, wheel: Path) -> Iterator[Problem | str]:
    """Each problem, and the name of each file that matched."""
    name = dist.name
    placed: set[str] = set()
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            target = _placed(info.filename)
            if info.is_dir() or target is None:
                continue
            placed.add(target)
            installed = dist.site.joinpath(*PurePosixPath(target).parts)
            if not installed.is_file():
                yield Problem(
                    "missing-file",
                    f"{target} of {name} is in the locked wheel {wheel.name} but not installed",
                    name,
                    target,
                )
            elif file_sha256(installed) != _member_sha256(zf, info):
                yield Problem(
                    "not-as-locked",
                    f"{target} of {name} differs from the locked wheel {wheel.name} "
                    "(it was changed, and its RECORD line with it if RECORD agrees)",
                    name,
                    target,
                )
            else:
                yield target
    meta = dist.meta_dir.name
    for entry in record_rows(dist.meta_dir / "RECORD"):
        path = PurePosixPath(entry[0])
        if (
            entry[0] not in placed
            and ".." not in path.parts
            and path.parts[:1] != (meta,)
            and "__pycache__" not in path.parts
        ):
            yield Problem(
                "not-in-wheel",
                f"{entry[0]} of {name} is not in the locked wheel {wheel.name}: "
                "it was added after the lock",
                name,
                entry[0],
            )


def _placed(member: str) -> str | None:
    """Where an installer puts a wheel member inside site-packages; None: elsewhere or never
    (RECORD is rewritten by the installer, unsafe names are skipped)."""
    parts = PurePosixPath(member).parts
    if not parts or ".." in parts or member.startswith("/") or "\\" in member:
        return None
    if parts[0].endswith(".dist-info") and parts[-1] in _SIGNATURES:
        return None
    return site_path(member)


def _member_sha256(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with zf.open(info) as member:  # zipfile checks the CRC and stops at the declared size
        while chunk := member.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def record_rows(path: Path) -> list[tuple[str, str]]:
    text = record_text(path)
    return [] if text is None else _rows(text)


def _wheel_record_rows(wheel: Path) -> list[tuple[str, str]]:
    with zipfile.ZipFile(wheel) as zf:
        records = [
            n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/RECORD")
        ]
        if len(records) != 1:
            return []
        return _rows(zf.read(records[0]).decode("utf-8", errors="replace"))


def _rows(text: str) -> list[tuple[str, str]]:
    return [
        (row[0], row[1] if len(row) > 1 else "") for row in csv.reader(text.splitlines()) if row
    ]
