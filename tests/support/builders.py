"""Build real, deterministic distributions for tests: wheels (valid zip, METADATA, WHEEL, RECORD
with real sha256/size lines) and sdists (tar.gz with PKG-INFO and pyproject.toml).

The same arguments always give the same bytes (fixed timestamps, sorted members, no user names),
so a test can compute a hash once and compare it with what the code under test sees.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

FIXED_DATE_TIME = (2020, 2, 2, 0, 0, 0)  # zip entries
FIXED_MTIME = 1580601600  # 2020-02-02T00:00:00Z, tar entries

# A wheel member that climbs out of the install directory, and a .pth file that runs code at every
# interpreter start (the litellm 1.82.8 pattern).
TRAVERSAL_MEMBER = "../evil"
PTH_MEMBER = "evil_init.pth"
PTH_CONTENT = b"import os; os.environ['SAFEINSTALL_PWNED'] = '1'\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    return sha256_hex(path.read_bytes())


def dist_name(name: str) -> str:
    """The name as it appears in file names and directories (``Foo.Bar-baz`` -> ``foo_bar_baz``)."""
    return canonicalize_name(name).replace("-", "_")


def _metadata(
    metadata_version: str,
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    license_expression: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> bytes:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    if license_expression is not None:
        lines.append(f"License-Expression: {license_expression}")
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    lines += [f"{key}: {value}" for key, value in extra]
    return ("\n".join(lines) + "\n\n").encode()


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(
    dest_dir: Path,
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    license_expression: str | None = None,
    tag: str = "py3-none-any",
    files: Mapping[str, bytes] | None = None,
    extra_metadata: Sequence[tuple[str, str]] = (),
    symlinks: Mapping[str, str] | None = None,
    repeated: Sequence[tuple[str, bytes]] = (),
    record: Callable[[list[str]], list[str] | None] | None = None,
    dist_info: str | None = None,
    wheel_version: str = "1.0",
) -> Path:
    """Write ``<name>-<version>-<tag>.whl`` into ``dest_dir`` and return its path.

    ``files`` (archive path -> bytes) replaces the default package module ``<name>/__init__.py``;
    paths are written as given, so hostile names (``../evil``, ``/abs``) are possible on purpose.
    ``extra_metadata`` adds ``Key: value`` lines to METADATA (e.g. ``("Provides-Extra", "x")``).

    Malformed wheels, on purpose: ``symlinks`` (member -> link target) adds symlink entries
    (listed in RECORD); ``repeated`` adds members written after the others, so a name may appear
    twice in the zip (not listed in RECORD again); ``record`` edits RECORD's lines (return None to
    leave RECORD out); ``dist_info`` names the ``.dist-info`` directory; ``wheel_version`` goes
    into WHEEL.
    """
    module = dist_name(name)
    dist_info = dist_info or f"{module}-{version}.dist-info"
    members = dict(files) if files is not None else {f"{module}/__init__.py": _module(version)}
    members[f"{dist_info}/METADATA"] = _metadata(
        "2.4",
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        license_expression=license_expression,
        extra=extra_metadata,
    )
    wheel_lines = [
        f"Wheel-Version: {wheel_version}",
        "Generator: safeinstall-tests",
        "Root-Is-Purelib: true",
    ]
    wheel_lines += [f"Tag: {t}" for t in _expand_tag(tag)]
    members[f"{dist_info}/WHEEL"] = ("\n".join(wheel_lines) + "\n\n").encode()
    links = {m: t.encode() for m, t in (symlinks or {}).items()}
    record_path = f"{dist_info}/RECORD"
    lines = [_record_line(p, data) for p, data in {**members, **links}.items()]
    lines.append(f"{record_path},,")
    edited = record(lines) if record is not None else lines
    if edited is not None:
        members[record_path] = ("\n".join(edited) + "\n").encode()

    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{module}-{version}-{tag}.whl"
    buffer = io.BytesIO()
    entries = [(m, d, 0o100644) for m, d in members.items()]
    entries += [(m, d, 0o120777) for m, d in links.items()]
    entries += [(m, d, 0o100644) for m, d in repeated]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about a repeated name
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data, mode in entries:
                info = zipfile.ZipInfo(member, date_time=FIXED_DATE_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (mode if mode != 0o100644 else 0o644) << 16
                archive.writestr(info, data)
    path.write_bytes(buffer.getvalue())
    return path


def build_hostile_wheel(
    dest_dir: Path,
    name: str = "evil",
    version: str = "1.0",
    *,
    traversal: bool = True,
    pth: bool = True,
) -> Path:
    """A wheel that a safe installer must refuse: a ``../evil`` member and/or an executable .pth.

    RECORD is consistent (the hashes match), so only the contents give it away.
    """
    files = {f"{dist_name(name)}/__init__.py": _module(version)}
    if traversal:
        files[TRAVERSAL_MEMBER] = b"escaped the install directory\n"
    if pth:
        files[PTH_MEMBER] = PTH_CONTENT
    return build_wheel(dest_dir, name, version, files=files)


def build_sdist(
    dest_dir: Path,
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    metadata_version: str = "2.2",
    dynamic: Iterable[str] = (),
    backend: tuple[str, str] = ("flit_core>=3.9,<5", "flit_core.buildapi"),
) -> Path:
    """Write ``<name>-<version>.tar.gz`` (PEP 625 name) with PKG-INFO, pyproject.toml and a module.

    ``dynamic`` lists core-metadata fields declared ``Dynamic:`` in PKG-INFO (Metadata 2.2+), i.e.
    fields a build may change, so PKG-INFO cannot be trusted for them. ``backend``: its
    ``[build-system]`` requirement and build-backend (flit_core's by default).
    """
    module = dist_name(name)
    root = f"{module}-{version}"
    extra = [("Dynamic", field) for field in dynamic]
    requires = list(requires_dist)
    deps = ", ".join(f'"{r}"' for r in requires)
    pyproject = (
        f'[build-system]\nrequires = ["{backend[0]}"]\nbuild-backend = "{backend[1]}"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\ndescription = "test"\n'
        f"dependencies = [{deps}]\n"
    ).encode()
    members = {
        f"{root}/PKG-INFO": _metadata(
            metadata_version, name, version, requires_dist=requires, extra=extra
        ),
        f"{root}/pyproject.toml": pyproject,
        f"{root}/{module}/__init__.py": _module(version, docstring=True),
    }
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member, data in sorted(members.items()):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=0) as gz:
        gz.write(tar_buffer.getvalue())
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{root}.tar.gz"
    path.write_bytes(gz_buffer.getvalue())
    return path


def read_core_metadata(path: Path) -> bytes | None:
    """METADATA of a wheel or PKG-INFO of an sdist (a PEP 658 sidecar's bytes); None if absent."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1]
            found = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
            return archive.read(found) if found else None
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as archive:
            for member in archive.getmembers():
                if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                    stream = archive.extractfile(member)
                    return stream.read() if stream is not None else None
    return None


def _module(version: str, *, docstring: bool = False) -> bytes:
    head = '"""A test package."""\n' if docstring else ""
    return f'{head}__version__ = "{version}"\n'.encode()


def _expand_tag(tag: str) -> list[str]:
    """``py2.py3-none-any`` -> ``["py2-none-any", "py3-none-any"]`` (the WHEEL file lists each)."""
    pythons, abis, platforms = tag.split("-")
    return [
        f"{p}-{a}-{plat}"
        for p in pythons.split(".")
        for a in abis.split(".")
        for plat in platforms.split(".")
    ]
