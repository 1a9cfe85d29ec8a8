"""Helpers for the install tests: locks over the loopback index, fresh venvs, snapshots."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.lock.model import Lock, LockedFile, LockedPackage, to_requirements_txt
from safeinstall.lock.pylock import to_pylock_toml
from tests.support.builders import build_wheel
from tests.support.indexserver import IndexServer

NAMES = ("alpha-one", "beta-two", "gamma-three", "delta-four", "epsilon-five")


def publish(
    server: IndexServer,
    dists: Path,
    names: Sequence[str] = NAMES,
    version: str = "1.0",
    index: str = "a",
) -> list[LockedPackage]:
    """Build a wheel for each name, list it on ``index``, and return the locked entries."""
    return [locked(server, build_wheel(dists, name, version), index) for name in names]


def locked(server: IndexServer, wheel: Path, index: str = "a") -> LockedPackage:
    """List ``wheel`` on ``index`` and return its locked entry (its one file, by sha256)."""
    name, version = wheel.name.split("-")[:2]
    server.add(index, wheel)
    data = wheel.read_bytes()
    file = LockedFile(
        hashlib.sha256(data).hexdigest(), wheel.name, server.file_url(index, wheel.name), len(data)
    )
    return LockedPackage(
        canonicalize_name(name),
        Version(version),
        (file,),
        index_name=index,
        index_url=server.index_url(index).rstrip("/"),
    )


def write_locks(directory: Path, packages: Sequence[LockedPackage]) -> tuple[Path, Path]:
    """(requirements.txt, pylock.toml) pinning ``packages``."""
    lock = Lock(tuple(packages), "sha256:" + "0" * 64)
    directory.mkdir(parents=True, exist_ok=True)
    txt = directory / "requirements.txt"
    txt.write_text(to_requirements_txt(lock, "safeinstall lock requirements.in", "0"))
    toml = directory / "pylock.toml"
    toml.write_text(to_pylock_toml(lock))
    return txt, toml


def write_policy(path: Path, *index_urls: str) -> Path:
    entries = ", ".join(
        f'{{ name = "{chr(97 + i)}", url = "{url}" }}' for i, url in enumerate(index_urls)
    )
    path.write_text(f"indexes = [{entries}]\n")
    return path


def make_venv(path: Path) -> Path:
    """A fresh venv (with pip) made by the base interpreter; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True)
    return path / "bin" / "python"


def pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def site_packages(python: Path) -> Path:
    return next((python.parent.parent / "lib").glob("python3*/site-packages"))


def snapshot(python: Path) -> tuple[str, list[str]]:
    """``pip freeze`` and a listing (path, size) of everything under site-packages."""
    freeze = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all"],
        check=True,
        capture_output=True,
        text=True,
        env=pip_env(),
    ).stdout
    site = site_packages(python)
    listing = sorted(
        f"{p.relative_to(site)} {p.stat().st_size if p.is_file() else '-'}" for p in site.rglob("*")
    )
    return freeze, listing


def installed(python: Path) -> set[str]:
    freeze = subprocess.run(
        [str(python), "-m", "pip", "freeze"],
        check=True,
        capture_output=True,
        text=True,
        env=pip_env(),
    ).stdout
    return set(freeze.split())
