"""Core metadata of an sdist whose dependencies are dynamic: build it, with pip, in isolation.

Building runs the package's own build code, so it happens only for packages the policy allows
to build from sdists, and it is reported. The sdist's bytes were verified against the index's
sha256 before they get here. pip runs as a subprocess with its configuration isolated: it may
fetch build requirements only from the policy's trusted indexes.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from safeinstall.errors import PolicyError, TargetEnvironmentError
from safeinstall.pipenv import run_pip
from safeinstall.policy import IndexSpec

BUILD_TIMEOUT = 600
MAX_METADATA_BYTES = 4 * 1024 * 1024


def built_metadata(
    sdist: bytes, filename: str, indexes: Sequence[IndexSpec], *, python: str | None = None
) -> bytes:
    """The METADATA of the wheel that ``sdist`` (named ``filename``, a bare file name) builds to."""
    if not indexes:
        raise PolicyError("no trusted index to fetch the build requirements from")
    with tempfile.TemporaryDirectory(prefix="safeinstall-build-") as tmp:
        source = Path(tmp) / Path(filename).name
        source.write_bytes(sdist)
        out = Path(tmp) / "wheel"
        command = [python or sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet"]
        command += ["--wheel-dir", str(out), "--index-url", indexes[0].url]
        for spec in indexes[1:]:
            command += ["--extra-index-url", spec.url]
        command.append(str(source))
        run_pip(command, f"build {filename} to read its metadata", timeout=BUILD_TIMEOUT)
        wheels = sorted(out.glob("*.whl"))
        if len(wheels) != 1:
            raise TargetEnvironmentError(f"building {filename} made no single wheel")
        return _wheel_metadata(wheels[0])


def _wheel_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        names = [
            n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if len(names) != 1:
            raise TargetEnvironmentError(f"the wheel built as {wheel.name} has no single METADATA")
        info = zf.getinfo(names[0])
        if info.file_size > MAX_METADATA_BYTES:
            raise TargetEnvironmentError(f"the METADATA built in {wheel.name} is too large")
        return zf.read(info)
