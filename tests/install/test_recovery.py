"""`safeinstall install` when pip fails part-way: real pip, a real venv, a loopback index.

The new lock pins ``lib 2.0``, ``new-dep 1.0`` and ``bad 1.0``. ``bad``'s wheel passes every
check safeinstall makes (its hash is locked, it is a well-formed wheel), but pip fails while
installing it: its console script entry point names no callable (``bad = bad``), which pip only
notices after it wrote the root files (package and ``.dist-info``). pip installs equal-weight
requirements in reverse name order, so ``new-dep`` is installed and ``lib`` replaced (both
committed) when ``bad`` fails.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.lock.model import LockedPackage
from tests.support.builders import PTH_CONTENT, build_wheel
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
BAD_ENTRY_POINT = b"[console_scripts]\nbad = bad\n"  # no ":function", which pip requires


@pytest.fixture
def upgrade(index_server: IndexServer, tmp_path: Path) -> tuple[Path, LockedPackage, Path]:
    """(policy, the locked ``lib 1.0``, a lock of ``lib 2.0``, ``new-dep 1.0`` and ``bad 1.0``)."""
    dists = tmp_path / "dists"
    old = locked(index_server, build_wheel(dists, "lib", "1.0"))
    new = locked(index_server, build_wheel(dists, "lib", "2.0"))
    files = {"bad/__init__.py": b"", "bad-1.0.dist-info/entry_points.txt": BAD_ENTRY_POINT}
    bad = locked(index_server, build_wheel(dists, "bad", "1.0", files=files))
    new_dep = locked(index_server, build_wheel(dists, "new-dep", "1.0"))  # pip installs it first
    txt, _ = write_locks(tmp_path / "new", [bad, new, new_dep])
    return write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a")), old, txt


@pytest.mark.slow
def test_replaced_version_is_restored_from_the_store(
    cli: Cli,
    index_server: IndexServer,
    upgrade: tuple[Path, LockedPackage, Path],
    tmp_path: Path,
) -> None:
    policy, old, new_lock = upgrade
    python = make_venv(tmp_path / "venv")
    old_lock, _ = write_locks(tmp_path / "old", [old])
    assert cli("install", "--policy", policy, "-r", old_lock, "--python", python).code == 0
    old_file = "/a/files/lib-1.0-py3-none-any.whl"
    assert len(index_server.requests_for(old_file)) == 1

    result = cli("install", "--policy", policy, "-r", new_lock, "--python", python)
    assert result.code != 0, result.out
    assert "Traceback" not in result.err
    assert "Invalid script entry point" in result.err  # pip's own reason
    assert "replaced lib 1.0 with 2.0;" in result.err
    for added in ("bad 1.0", "new-dep 1.0"):  # the half-written one and the finished one
        assert re.search(f"; pip added [^;]*{added}", result.err)
        assert re.search(f"; uninstalled [^;]*{added}[^;]* again;", result.err)
    assert "; restored lib 1.0\nhint:" in result.err
    assert "fix what pip reports, then install again" in result.err
    assert "ensurepip" not in result.err  # pip works: it changed the environment
    assert "could not restore" not in result.err
    assert installed(python) == {"lib==1.0"}
    assert not (site_packages(python) / "bad").exists()
    out = subprocess.run(
        [str(python), "-c", "import lib; print(lib.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        env=pip_env(),
    ).stdout
    assert out.strip() == "1.0"
    assert len(index_server.requests_for(old_file)) == 1  # restored from the store, offline


@pytest.mark.slow
def test_version_installed_by_plain_pip_cannot_be_restored(
    cli: Cli, upgrade: tuple[Path, LockedPackage, Path], tmp_path: Path
) -> None:
    policy, _, new_lock = upgrade
    python = make_venv(tmp_path / "venv")
    plain = build_wheel(tmp_path / "plain", "lib", "1.0")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(plain)],
        check=True,
        env=pip_env(),
    )
    assert not list((Path(os.environ["XDG_CACHE_HOME"])).rglob("*.name"))

    result = cli("install", "--policy", policy, "-r", new_lock, "--python", python)
    assert result.code != 0
    assert "Traceback" not in result.err
    assert "replaced lib 1.0 with 2.0;" in result.err
    assert "could not restore lib 1.0 (no wheel in the cache)" in result.err
    assert "reinstall what could not be restored" in result.err
    assert installed(python) == {"lib==2.0"}  # as the message says
    assert not (site_packages(python) / "bad").exists()


@pytest.mark.slow
def test_what_pip_added_under_a_prefix_is_reported_as_left(
    cli: Cli, upgrade: tuple[Path, LockedPackage, Path], tmp_path: Path
) -> None:
    policy, _, new_lock = upgrade
    python = make_venv(tmp_path / "venv")
    prefix = tmp_path / "prefix"
    args = ("install", "--policy", policy, "-r", new_lock, "--python", python)
    result = cli(*args, "--prefix", prefix)
    assert result.code != 0
    # pip uninstall cannot reach a --prefix: nothing is claimed undone that was not
    assert re.search("; left [^;]*bad 1.0[^;]* installed", result.err)
    assert "uninstalled" not in result.err
    assert "uninstall what was left installed" in result.err
    assert list(prefix.glob("lib/python3*/site-packages/bad-1.0.dist-info"))


@pytest.mark.slow
def test_files_pip_wrote_before_any_dist_info_are_reported_and_removed(
    cli: Cli, index_server: IndexServer, tmp_path: Path
) -> None:
    """pip writes ``leaky_init.pth`` (a working one), then fails on the next member because a
    directory is in its way: no ``.dist-info`` exists yet, so no installed package shows it."""
    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    obstacle = site / "blocked" / "__init__.py"
    obstacle.mkdir(parents=True)  # left there by something else; pip cannot write the file
    files = {"leaky_init.pth": PTH_CONTENT, "blocked/__init__.py": b""}
    leaky = locked(index_server, build_wheel(tmp_path / "dists", "leaky", "1.0", files=files))
    txt, _ = write_locks(tmp_path / "lock", [leaky])
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    scanned = cli("install", "--policy", policy, "-r", txt, "--python", python)
    assert scanned.code == 1 and "[startup-pth]" in scanned.err  # the scanner stops it first
    # this test is about what pip leaves behind: let the .pth through the scanner
    with policy.open("a") as fh:
        fh.write('inspect = { warn = ["startup-pth"] }\n')

    result = cli("install", "--policy", policy, "-r", txt, "--python", python)
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "unchanged" not in result.err
    assert re.search(
        r"; deleted the files pip wrote: [^;]*site-packages/leaky_init\.pth", result.err
    )
    assert not (site / "leaky_init.pth").exists()
    assert obstacle.is_dir()  # it was there before: never removed
    out = subprocess.run(
        [str(python), "-c", "import os; print(os.environ.get('SAFEINSTALL_PWNED'))"],
        capture_output=True,
        text=True,
        check=True,
        env=pip_env(),
    ).stdout
    assert out.strip() == "None"
    assert installed(python) == set()
