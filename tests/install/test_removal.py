"""Before pip removes a distribution, its installed RECORD must list only its own files.

``hostile 1.0`` is installed by plain pip, then its RECORD is rewritten (as its own code could do
at run time) to list another package's module and ``.dist-info``, the venv's ``bin/activate``
and a file outside the venv. Upgrading it, or syncing it away, would make pip delete them all.
"""

from __future__ import annotations

import subprocess
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
FOREIGN = {
    "victim/__init__.py": "a file of victim",
    "victim-1.0.dist-info/METADATA": "a file of victim",
    "victim-1.0.dist-info/LICENSE": "in victim's victim-1.0.dist-info",
    "../../../bin/activate": "a file of the environment itself",
    "../../../bin/python": "a file of the environment itself",
    "../../../../outside.txt": "outside the environment",
    "victim/../victim/__init__.py": "a '..' inside the path",
    "victim": "a directory, which pip would delete whole",
}


@pytest.fixture
def hostile_env(
    index_server: IndexServer, tmp_path: Path
) -> tuple[Path, Path, list[Path], Callable[..., Path]]:
    """(venv python, policy, the files a hostile RECORD lists, a lock writer)."""
    python = make_venv(tmp_path / "venv")
    plain = tmp_path / "plain"
    wheels = [build_wheel(plain, "victim", "1.0"), build_wheel(plain, "hostile", "1.0")]
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", *map(str, wheels)],
        check=True,
        env=pip_env(),
    )
    site = site_packages(python)
    (site / "victim-1.0.dist-info" / "LICENSE").write_text("not in victim's RECORD\n")
    (tmp_path / "outside.txt").write_text("not in the venv\n")
    record = site / "hostile-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text() + "".join(f"{e},,\n" for e in FOREIGN))
    targets = [site / e for e in FOREIGN]
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))

    def lock(*packages: tuple[str, str]) -> Path:
        entries = [locked(index_server, build_wheel(tmp_path / "d", n, v)) for n, v in packages]
        return write_locks(tmp_path / "-".join(f"{n}{v}" for n, v in packages), entries)[0]

    return python, policy, targets, lock


def refused_with_every_entry(
    result: Result, python: Path, targets: list[Path], before: set[str]
) -> None:
    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    for entry, why in FOREIGN.items():
        assert f"hostile 1.0 lists {entry} ({why})" in result.err
    assert all(t.exists() for t in targets)
    assert installed(python) == before
    subprocess.run([str(python), "-c", "import victim"], check=True)


@pytest.mark.slow
def test_upgrade_is_refused_when_the_installed_record_lists_foreign_files(
    cli: Cli, hostile_env: tuple[Path, Path, list[Path], Callable[..., Path]]
) -> None:
    python, policy, targets, lock = hostile_env
    txt = lock(("hostile", "2.0"), ("victim", "1.0"))
    before = installed(python)
    result = cli("install", "--policy", policy, "-r", txt, "--python", python)
    refused_with_every_entry(result, python, targets, before)
    assert "refusing to let pip replace or remove hostile" in result.err


@pytest.mark.slow
def test_sync_is_refused_when_the_installed_record_lists_foreign_files(
    cli: Cli, hostile_env: tuple[Path, Path, list[Path], Callable[..., Path]]
) -> None:
    python, policy, targets, lock = hostile_env
    txt = lock(("victim", "1.0"))
    before = installed(python)
    result = cli("sync", "--policy", policy, txt, "--python", python)
    refused_with_every_entry(result, python, targets, before)


@pytest.mark.slow
def test_honest_upgrade_with_scripts_and_data_goes_through(
    cli: Cli, index_server: IndexServer, tmp_path: Path
) -> None:
    def honest(version: str) -> Path:
        files = {
            "honest/__init__.py": f"V = {version!r}\ndef main() -> None: print(V)\n".encode(),
            f"honest-{version}.dist-info/entry_points.txt": (
                b"[console_scripts]\nhonest = honest:main\n"
            ),
            f"honest-{version}.data/scripts/honest-tool": b"#!python\nprint('tool')\n",
            f"honest-{version}.data/data/share/honest/readme.txt": version.encode(),
        }
        return build_wheel(tmp_path / "d", "honest", version, files=files)

    python = make_venv(tmp_path / "venv")
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    victim = locked(index_server, build_wheel(tmp_path / "d", "victim", "1.0"))
    for version in ("1.0", "2.0"):
        txt, _ = write_locks(tmp_path / version, [victim, locked(index_server, honest(version))])
        result = cli("install", "--policy", policy, "-r", txt, "--python", python)
        assert result.code == 0, result.err
    assert installed(python) == {"honest==2.0", "victim==1.0"}
    bin_dir = python.parent
    out = subprocess.run([str(bin_dir / "honest")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2.0"
    assert (bin_dir / "honest-tool").exists() and (bin_dir / "activate").exists()
    assert (bin_dir.parent / "share" / "honest" / "readme.txt").read_text() == "2.0"
    subprocess.run([str(python), "-c", "import victim"], check=True)
