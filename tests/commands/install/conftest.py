"""The project every `install PKG` test runs in: a git-rooted directory over the loopback index."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.builders import build_wheel
from tests.support.indexserver import IndexServer
from tests.support.installdata import write_policy


@pytest.fixture
def project(index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git-rooted directory, the working directory, with a policy trusting index "a" only:
    alpha-one 1.0 (needs beta-two), beta-two 1.0, gamma-three 1.0."""
    dists = tmp_path / "dists"
    index_server.add("a", build_wheel(dists, "alpha-one", "1.0", requires_dist=["beta-two>=1"]))
    index_server.add("a", build_wheel(dists, "beta-two", "1.0"))
    index_server.add("a", build_wheel(dists, "gamma-three", "1.0"))
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    write_policy(root / "safeinstall.toml", index_server.index_url("a"))
    monkeypatch.chdir(root)
    return root


def files(root: Path) -> dict[str, bytes]:
    """Every file directly in ``root``, by name: what a test compares byte for byte."""
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}
