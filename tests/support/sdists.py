"""Sdists and build backends for the build tests, made in memory from inline sources.

``tar_gz``/``zip_bytes`` pack members as given (hostile ones included). ``backend_wheel`` is a
real wheel holding a small PEP 517 backend named ``buildreq`` that builds any source tree from its
``PKG-INFO`` and says in the Summary which version of it built; with ``marker`` it is the
attacker's: importing it writes that file (a build that used it leaves the proof behind).
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from tests.support.builders import build_wheel

BACKEND = """\
import os, zipfile

def _fields():
    with open("PKG-INFO") as fh:
        pairs = [line.split(": ", 1) for line in fh.read().splitlines() if ": " in line]
    fields = dict(pairs)
    return fields["Name"], fields["Version"]

def _metadata(name, version):
    return (f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
            f"Summary: built by buildreq VERSION\\n\\n")

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    name, version = _fields()
    info = f"{name}-{version}.dist-info"
    os.makedirs(os.path.join(directory, info))
    with open(os.path.join(directory, info, "METADATA"), "w") as fh:
        fh.write(_metadata(name, version))
    return info

def build_wheel(directory, config_settings=None, metadata_directory=None):
    name, version = _fields()
    info = f"{name}-{version}.dist-info"
    wheel = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as zf:
        zf.writestr(f"{info}/METADATA", _metadata(name, version))
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\\nTag: py3-none-any\\n")
        zf.writestr(f"{info}/RECORD", "")
    return wheel
"""


def backend_wheel(dest: Path, version: str, *, marker: Path | None = None) -> Path:
    """``buildreq-<version>-py3-none-any.whl``; with ``marker``, importing it writes that file."""
    source = BACKEND.replace("VERSION", version)
    if marker is not None:
        source = f"open({str(marker)!r}, 'w').write('buildreq {version} ran')\n" + source
    return build_wheel(dest, "buildreq", version, files={"buildreq/__init__.py": source.encode()})


def pkg_info(name: str, version: str) -> bytes:
    """Metadata 2.1: nothing in it can be trusted without a build."""
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()


def sdist_built_by(
    name: str, version: str, requires: list[str], backend: str = "buildreq"
) -> bytes:
    """An sdist whose ``[build-system]`` needs ``requires`` and is built by ``backend``."""
    pyproject = f'[build-system]\nrequires = {requires!r}\nbuild-backend = "{backend}"\n'
    root = f"{name}-{version}"
    return tar_gz(
        {f"{root}/PKG-INFO": pkg_info(name, version), f"{root}/pyproject.toml": pyproject.encode()}
    )


def tar_gz(members: Mapping[str, bytes | tarfile.TarInfo]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            if isinstance(data, tarfile.TarInfo):
                tar.addfile(data)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()
