"""A project whose lock holds an sdist built by a small PEP 517 backend, over two indexes.

``askreq`` (a real wheel, on the ``private`` index that binds it) builds any source tree from its
``PKG-INFO``; its ``get_requires_for_build_wheel`` asks for the lines of the tree's
``build-asks.txt`` (none when absent), and a tree holding ``noise`` gets random bytes in its wheel
(a build that is not reproducible). It copies ``PKG-INFO``'s Name, Version and Requires-Dist into
the wheel; a tree's ``built.txt`` (``Key: value`` lines) makes it build something else (a hostile
build): ``Name`` and ``Version`` for METADATA, ``File-Name`` for the wheel's file and
``.dist-info`` names, ``Tag`` for its file name and WHEEL (``Wheel-Tag``: WHEEL only), each
``Requires-Dist`` added to METADATA, and ``Drop-Requires`` one left out. The ``public`` index
is listed first: the attacker's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import build_wheel
from tests.support.indexserver import IndexServer
from tests.support.lockproject import OLD, LockProject
from tests.support.sdists import tar_gz

BOUND = ("askreq", "helper", "app")

ASKREQ = """\
import os, zipfile

def _pairs(path):
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [line.split(": ", 1) for line in fh.read().splitlines() if ": " in line]

def _fields():
    fields = dict(_pairs("PKG-INFO"))
    return fields["Name"], fields["Version"]

def get_requires_for_build_wheel(config_settings=None):
    if not os.path.exists("build-asks.txt"):
        return []
    return open("build-asks.txt").read().split()

def build_wheel(directory, config_settings=None, metadata_directory=None):
    name, version = _fields()
    built = _pairs("built.txt")
    over = dict(built)
    requires = [v for k, v in _pairs("PKG-INFO") + built if k == "Requires-Dist"]
    requires = [r for r in requires if r != over.get("Drop-Requires")]
    stem = f"{over.get('File-Name', name)}-{version}"
    tag = over.get("Tag", "py3-none-any")
    info = f"{stem}.dist-info"
    wheel = f"{stem}-{tag}.whl"
    noise = os.urandom(8).hex() if os.path.exists("noise") else ""
    meta = f"Name: {over.get('Name', name)}\\nVersion: {over.get('Version', version)}\\n"
    meta += "".join(f"Requires-Dist: {r}\\n" for r in requires)
    files = {
        f"{name}/__init__.py": f"BUILT_BY = 'askreq'  # {noise}\\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\\n{meta}\\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: askreq\\nRoot-Is-Purelib: true\\n"
        f"Tag: {over.get('Wheel-Tag', tag)}\\n",
    }
    import base64, hashlib
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as zf:
        for path, text in files.items():
            zf.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), text)
        zf.writestr(zipfile.ZipInfo(f"{info}/RECORD", (2020, 1, 1, 0, 0, 0)),
                    "\\n".join(record) + "\\n")
    return wheel
"""


def askreq_wheel(dest: Path, version: str = "1.0") -> Path:
    return build_wheel(dest, "askreq", version, files={"askreq/__init__.py": ASKREQ.encode()})


def app_sdist(
    asks: str = "",
    *,
    noise: bool = False,
    name: str = "app",
    requires: tuple[str, ...] = (),
    built: str = "",
    dynamic: bool = False,
) -> bytes:
    """``name`` 1.0, built by askreq; ``asks``: what its backend asks for on top; ``requires``:
    its Requires-Dist (static, what the lock is made from, unless ``dynamic``: then the lock
    builds it to read them); ``built``: its ``built.txt``."""
    pyproject = b'[build-system]\nrequires = ["askreq"]\nbuild-backend = "askreq"\n'
    deps = "".join(f"Requires-Dist: {r}\n" for r in requires)
    version = "2.1" if dynamic else "2.2"  # before 2.2, nothing in PKG-INFO is known static
    info = f"Metadata-Version: {version}\nName: {name}\nVersion: 1.0\n{deps}\n".encode()
    members = {
        f"{name}-1.0/PKG-INFO": info,
        f"{name}-1.0/pyproject.toml": pyproject,
    }
    if asks:
        members[f"{name}-1.0/build-asks.txt"] = asks.encode()
    if built:
        members[f"{name}-1.0/built.txt"] = built.encode()
    if noise:
        members[f"{name}-1.0/noise"] = b""
    return tar_gz(members)


def publish(server: IndexServer, dest: Path, index: str, path: Path) -> Path:
    server.add(index, path, metadata=path.suffix == ".whl", upload_time=OLD)
    return path


def build_project(
    tmp_path: Path,
    server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    sdist: bytes,
    extra: str = 'sdists = ["app"]',
) -> LockProject:
    """The current directory: requirements.in asks for ``app`` (``sdist``, the only file of
    it), askreq 1.0 is on the private index, the policy binds BOUND to it."""
    root = tmp_path / "proj"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    proj = LockProject(root, server, tmp_path / "dists", cli, tmp_path / "policy.toml")
    proj.dists.mkdir()
    publish(server, proj.dists, "private", askreq_wheel(proj.dists))
    (proj.dists / "app-1.0.tar.gz").write_bytes(sdist)
    publish(server, proj.dists, "private", proj.dists / "app-1.0.tar.gz")
    (root / "requirements.in").write_text("app\n")
    bound = ", ".join(f'"{n}"' for n in BOUND)
    proj.write_policy(
        extra,
        indexes=[
            ("public", server.index_url("public"), ""),
            ("private", server.index_url("private"), f"packages = [{bound}]"),
        ],
    )
    return proj
