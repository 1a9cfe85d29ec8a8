""" "At the locked version" means the locked wheel's files, and sync removes whatever is unlocked.

An impostor ``victim 1.0`` (same name and version, other bytes) put there by plain pip is not the
locked ``victim 1.0``: install and sync reinstall the locked wheel. A distribution that calls
itself editable (its ``direct_url.json`` says so) but is not in the lock is removed by sync.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import (
    installed,
    locked,
    make_venv,
    pip_env,
    site_packages,
    write_locks,
    write_policy,
)

Cli = Callable[..., Result]
IMPOSTOR = {"victim/__init__.py": b"__version__ = 'impostor'\n"}


@pytest.fixture
def served(index_server: IndexServer, tmp_path: Path) -> tuple[Path, Path]:
    """(policy, a lock of the honest ``victim 1.0``)."""
    honest = locked(index_server, build_wheel(tmp_path / "dists", "victim", "1.0"))
    txt, _ = write_locks(tmp_path / "lock", [honest])
    return write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a")), txt


def plain_pip(python: Path, wheel: Path, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", *args, str(wheel)],
        check=True,
        env=pip_env(),
    )


def version_of_victim(python: Path) -> str:
    code = "import victim; print(victim.__version__)"
    run = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return run.stdout.strip()


@pytest.mark.slow
def test_an_impostor_at_the_locked_version_is_reinstalled(
    cli: Cli, served: tuple[Path, Path], tmp_path: Path
) -> None:
    policy, txt = served
    python = make_venv(tmp_path / "venv")
    plain_pip(python, build_wheel(tmp_path / "other", "victim", "1.0", files=IMPOSTOR))
    assert version_of_victim(python) == "impostor"

    result = cli("install", "--policy", policy, "-r", txt, "--python", python, "--format", "json")
    assert result.code == 0, result.err
    assert [i["name"] for i in json.loads(result.out)["installed"]] == ["victim"]
    assert version_of_victim(python) == "1.0"
    again = cli("install", "--policy", policy, "-r", txt, "--python", python, "--format", "json")
    assert json.loads(again.out)["skipped"] == [{"name": "victim", "version": "1.0"}]


@pytest.mark.slow
def test_sync_check_reports_an_impostor_and_sync_reinstalls_it(
    cli: Cli, served: tuple[Path, Path], tmp_path: Path
) -> None:
    policy, txt = served
    python = make_venv(tmp_path / "venv")
    args = ("--policy", policy, txt, "--python", python)
    assert cli("sync", *args).code == 0
    assert cli("sync", *args, "--check").code == 0
    impostor = build_wheel(tmp_path / "other", "victim", "1.0", files=IMPOSTOR)
    plain_pip(python, impostor, "--force-reinstall")

    check = cli("sync", *args, "--check")
    assert check.code == 1
    assert "would install victim==1.0" in check.out
    assert cli("sync", *args).code == 0
    assert version_of_victim(python) == "1.0"
    assert cli("sync", *args, "--check").code == 0


@pytest.mark.slow
def test_sync_removes_a_self_declared_editable(
    cli: Cli, served: tuple[Path, Path], tmp_path: Path
) -> None:
    policy, txt = served
    python = make_venv(tmp_path / "venv")
    args = ("--policy", policy, txt, "--python", python)
    assert cli("sync", *args).code == 0
    plain_pip(python, build_wheel(tmp_path / "other", "sneaky", "1.0"))
    claim = {"url": (tmp_path / "nowhere").as_uri(), "dir_info": {"editable": True}}
    direct_url = site_packages(python) / "sneaky-1.0.dist-info" / "direct_url.json"
    direct_url.write_text(json.dumps(claim))

    check = cli("sync", *args, "--check")
    assert check.code == 1
    assert "would remove sneaky==1.0" in check.out
    assert cli("sync", *args).code == 0
    assert installed(python) == {"victim==1.0"}


@pytest.mark.slow
def test_a_target_install_with_scripts_is_at_the_locked_version_the_second_time(
    cli: Cli, index_server: IndexServer, tmp_path: Path
) -> None:
    files = {
        "runner/__init__.py": b"def main() -> None: pass\n",
        "runner-1.0.dist-info/entry_points.txt": b"[console_scripts]\nrunner = runner:main\n",
        "runner-1.0.data/scripts/runner-extra": b"#!python\n",
    }
    runner = locked(index_server, build_wheel(tmp_path / "dists", "runner", "1.0", files=files))
    txt, _ = write_locks(tmp_path / "lock", [runner])
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    args = ("install", "--policy", policy, "-r", txt, "--python", sys.executable, "--format")
    first = cli(*args, "json", "--target", tmp_path / "t")
    assert first.code == 0, first.err
    assert (tmp_path / "t" / "bin" / "runner").exists()
    second = json.loads(cli(*args, "json", "--target", tmp_path / "t").out)
    assert (second["installed"], second["skipped"]) == ([], [{"name": "runner", "version": "1.0"}])
