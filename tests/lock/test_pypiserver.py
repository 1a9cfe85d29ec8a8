"""`safeinstall lock` against a real third-party index server: pypiserver on loopback.

pypiserver serves PEP 503 HTML only (no JSON, no PEP 658 metadata files, no upload times), so
this also covers the ranged-read path and a policy that needs what the server cannot give.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import build_sdist, build_wheel, file_sha256
from tests.support.pypiserver import running_pypiserver

pytestmark = pytest.mark.slow


@pytest.fixture
def pypiserver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A pypiserver over an (initially empty) package directory: (index URL, directory)."""
    packages = tmp_path / "packages"
    packages.mkdir()
    with running_pypiserver(packages) as url:
        yield url.rstrip("/"), packages


def test_lock_against_pypiserver(
    pypiserver: tuple[str, Path],
    tmp_path: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, packages = pypiserver
    demo = build_wheel(packages, "demo", "1.0", requires_dist=["dep>=1", "extra-dep; extra=='x'"])
    build_wheel(packages, "dep", "1.0")
    dep = build_wheel(packages, "dep", "2.0")
    build_sdist(packages, "dep", "2.0")
    build_wheel(packages, "extra-dep", "1.0")
    build_wheel(packages, "dep", "3.0", requires_python=">=4")  # fits no interpreter here
    project = tmp_path / "proj"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    policy = tmp_path / "policy.toml"
    policy.write_text(f'indexes = [{{ name = "pypiserver", url = "{url}" }}]\n')
    (project / "requirements.in").write_text("demo[x]\n")

    result = cli("lock", "-o", "requirements.txt", "--policy", policy)
    assert result.code == 0, result.err
    text = (project / "requirements.txt").read_text()
    assert f"demo==1.0 \\\n    --hash=sha256:{file_sha256(demo)}\n" in text
    assert f"dep==2.0 \\\n    --hash=sha256:{file_sha256(dep)}\n    # via demo\n" in text
    assert "extra-dep==1.0" in text
    assert ".tar.gz" not in text and "sdist" not in text  # the policy allows no sdists

    again = cli("lock", "-o", "pylock.toml", "--policy", policy)
    assert again.code == 0, again.err
    pylock = (project / "pylock.toml").read_text()
    assert f'index = "{url}"' in pylock
    assert "upload-time" not in pylock  # pypiserver does not serve PEP 700 upload times

    policy.write_text(policy.read_text() + 'min-release-age = "1 day"\n')
    before = (project / "requirements.txt").read_bytes()
    refused = cli("lock", "-o", "requirements.txt", "--policy", policy, "--upgrade")
    assert refused.code == 1, refused.err
    assert "upload times" in refused.err
    assert (project / "requirements.txt").read_bytes() == before


def test_an_exempt_pypiserver_index_locks_under_min_release_age(
    pypiserver: tuple[str, Path],
    tmp_path: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An internal index that serves no upload times, declared exempt, no longer fails the
    lock; an exempt package name does the same for that package only."""
    url, packages = pypiserver
    internal = build_wheel(packages, "internal-tool", "1.0")
    project = tmp_path / "proj"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    policy = tmp_path / "policy.toml"
    index = f'indexes = [{{ name = "internal", url = "{url}" }}]\n'
    (project / "requirements.in").write_text("internal-tool\n")

    policy.write_text(index + 'min-release-age = "7 days"\n')
    refused = cli("lock", "--policy", policy)
    assert refused.code == 1
    assert "index 'internal' does not say when its files were uploaded" in refused.err
    assert not (project / "requirements.txt").exists()

    policy.write_text(
        index + 'min-release-age = { age = "7 days", exempt-indexes = ["internal"] }\n'
    )
    result = cli("lock", "--policy", policy)
    assert result.code == 0, result.err
    lock = (project / "requirements.txt").read_text()
    assert f"internal-tool==1.0 \\\n    --hash=sha256:{file_sha256(internal)}\n" in lock
    # the install applies min-release-age again, with the same exemption
    install = ("install", "--policy", policy, "-r", "requirements.txt", "--python", sys.executable)
    installed = cli(*install, "--target", tmp_path / "t")
    assert installed.code == 0, installed.err
    assert list((tmp_path / "t").glob("internal_tool-1.0.dist-info"))
    policy.write_text(index + 'min-release-age = "7 days"\n')
    refused = cli(*install, "--target", tmp_path / "t2")
    assert refused.code == 1
    assert "cannot apply min-release-age to internal-tool==1.0" in refused.err
    policy.write_text(
        index + 'min-release-age = { age = "7 days", exempt-indexes = ["internal"] }\n'
    )

    policy.write_text(index + 'min-release-age = { age = "7 days", exempt = ["internal-*"] }\n')
    again = cli("lock", "--policy", policy, "-o", "pylock.toml")
    assert again.code == 0, again.err
