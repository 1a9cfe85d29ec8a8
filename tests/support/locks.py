"""Small Lock values for the inventory tests (diff, sbom, why/tree) and the real writers."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.lock.model import Lock, LockedFile, LockedPackage, to_requirements_txt
from safeinstall.lock.pylock import to_pylock_toml

INDEX = "https://pkgs.example.com/simple"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def package(
    name: str,
    version: str,
    *,
    deps: Sequence[str] = (),
    via: Sequence[str] = (),
    files: Sequence[str] | None = None,
    salt: str = "",
    license: str | None = "MIT",
    index: str | None = INDEX,
) -> LockedPackage:
    stem = f"{name.replace('-', '_')}-{version}"
    names = files if files is not None else [f"{stem}-py3-none-any.whl"]
    return LockedPackage(
        NormalizedName(name),
        Version(version),
        tuple(
            LockedFile(sha(f + salt), f, f"https://files.example.com/{f}", 100 + i)
            for i, f in enumerate(sorted(names))
        ),
        index_name="internal" if index else None,
        index_url=index,
        dependencies=tuple(deps),
        via=tuple(via),
        license=license,
    )


def lock(*packages: LockedPackage) -> Lock:
    return Lock(tuple(sorted(packages, key=lambda p: (p.name, p.version))), "sha256:" + "0" * 64)


def write(path: Path, value: Lock) -> Path:
    if path.name.startswith("pylock") and path.suffix == ".toml":
        path.write_text(to_pylock_toml(value), encoding="utf-8")
    else:
        path.write_text(to_requirements_txt(value, "safeinstall lock", "0.1.0"), encoding="utf-8")
    return path
