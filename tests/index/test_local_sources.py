"""Lock, install, sync, download and verify through a ``file://`` index and a find-links folder,
configured as pip is (a pip.conf the test writes, as this machine's own is written) or listed in
the policy; into a venv without pip. And what a folder changed after the lock can do: nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.installdata import pip_env, site_packages

Cli = Callable[..., Result]
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class Local:
    project: Path
    tree: Path  # ROOT/simple/NAME/index.html -> ROOT/files/...
    folder: Path  # a find-links folder


def lock(cli: Cli, *args: str | Path) -> Result:
    return cli("lock", *args, "--python-version", HERE, "--platform", "linux")


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Local:
    root = tmp_path / "pypi"
    alpha = build_wheel(root / "files", "alpha", "1.0", requires_dist=["beta"])
    (root / "simple" / "alpha").mkdir(parents=True)
    (root / "simple" / "alpha" / "index.html").write_text(
        f'<a href="../../files/{alpha.name}">{alpha.name}</a>\n'
    )
    (tmp_path / "empty" / "simple").mkdir(parents=True)
    folder = tmp_path / "wheels"
    build_wheel(folder, "beta", "1.0")
    build_wheel(folder, "gamma", "1.0")
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\n"
        f"index-url = {(tmp_path / 'empty' / 'simple').as_uri()}\n"
        f"extra-index-url = {(root / 'simple').as_uri()}\n"
        f"find-links = {folder}\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "requirements.in").write_text("alpha\ngamma\n")
    (project / "one.in").write_text("alpha\n")
    monkeypatch.chdir(project)
    return Local(project, root, folder)


def without_pip(path: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, env=pip_env()
    )
    return path / "bin" / "python"


def test_pips_file_index_and_find_links_are_the_default_trust(cli: Cli, local: Local) -> None:
    result = lock(cli, "requirements.in", "-o", "pylock.toml")
    assert result.code == 0, result.err
    text = (local.project / "pylock.toml").read_text()
    assert f'url = "{(local.tree / "files" / "alpha-1.0-py3-none-any.whl").as_uri()}"' in text
    assert f'url = "{(local.folder / "beta-1.0-py3-none-any.whl").as_uri()}"' in text
    assert 'index-name = "pip-extra-1"' in text
    assert 'index-name = "pip-find-links-1"' in text
    checked = cli("check", "pylock.toml")  # the hook trusts the same files, offline
    assert checked.code == 0, checked.out


def test_the_policy_lists_a_file_index_and_a_folder(
    cli: Cli, local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # pip knows nothing of them now
    (local.project / "safeinstall.toml").write_text(
        f'find-links = ["{local.folder}"]\n'
        f'indexes = [{{ name = "local", url = "{(local.tree / "simple").as_uri()}" }}]\n'
    )
    result = lock(cli, "requirements.in")
    assert result.code == 0, result.err
    assert "alpha==1.0" in (local.project / "requirements.txt").read_text()


def test_a_folder_outside_the_trust_is_not_read(
    cli: Cli, local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    (local.project / "safeinstall.toml").write_text(
        f'indexes = [{{ name = "local", url = "{(local.tree / "simple").as_uri()}" }}]\n'
    )
    result = lock(cli, "requirements.in")  # the policy's indexes: pip's find-links are not
    assert result.code == 1
    assert "was not found on any index that may serve it (asked: 'local')" in result.err


@pytest.mark.slow
def test_install_sync_download_verify_through_local_sources(
    cli: Cli, local: Local, tmp_path: Path
) -> None:
    assert lock(cli, "requirements.in").code == 0
    assert lock(cli, "one.in", "-o", "one.txt").code == 0
    python = without_pip(tmp_path / "venv")
    site = site_packages(python)
    installed = cli("install", "-r", "requirements.txt", "--python", python)
    assert installed.code == 0, installed.err
    assert {p.name for p in site.glob("*.dist-info")} == {
        "alpha-1.0.dist-info",
        "beta-1.0.dist-info",
        "gamma-1.0.dist-info",
    }
    verified = cli("verify", "requirements.txt", "--python", python)
    assert verified.code == 0, verified.out + verified.err
    synced = cli("sync", "one.txt", "--python", python)
    assert synced.code == 0, synced.err
    assert not (site / "gamma-1.0.dist-info").exists()
    downloaded = cli("download", "one.txt", "-d", tmp_path / "dl", "--python", python)
    assert downloaded.code == 0, downloaded.err
    assert sorted(p.name for p in (tmp_path / "dl").glob("*.whl")) == [
        "alpha-1.0-py3-none-any.whl",
        "beta-1.0-py3-none-any.whl",
    ]


@pytest.mark.slow
def test_a_folder_changed_after_the_lock_installs_the_locked_bytes_or_nothing(
    cli: Cli, local: Local, tmp_path: Path
) -> None:
    assert lock(cli, "requirements.in", "-o", "pylock.toml").code == 0
    build_wheel(local.folder, "beta", "2.0")  # a newer file appears: the lock still pins 1.0
    python = without_pip(tmp_path / "venv")
    site = site_packages(python)
    installed = cli("install", "-r", "pylock.toml", "--python", python)
    assert installed.code == 0, installed.err
    assert (site / "beta-1.0.dist-info").is_dir()
    # the locked file replaced by other bytes under the same name: nothing is installed
    original = local.folder / "beta-1.0-py3-none-any.whl"
    size = original.stat().st_size
    shutil.move(original, tmp_path / "kept.whl")
    build_wheel(local.folder, "beta", "1.0", files={"beta/extra.py": b"x = 1\n"})
    shutil.rmtree(tmp_path / "cache")
    fresh = without_pip(tmp_path / "fresh")
    refused = cli("install", "-r", "pylock.toml", "--python", fresh)
    assert refused.code != 0
    # the folder is re-read before anything is fetched (as any listing is): the new bytes' hash
    # is not the locked one
    assert "beta==1.0: index 'pip-find-links-1' lists no file with the locked hash" in refused.err
    original.write_bytes(bytes(size))  # the same size, so the bytes themselves must tell
    refused = cli("install", "-r", "pylock.toml", "--python", fresh)
    assert refused.code != 0
    assert "sha256" in refused.err, refused.err
    assert not list(site_packages(fresh).glob("*.dist-info"))
