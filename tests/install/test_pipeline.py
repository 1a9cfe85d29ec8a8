"""`safeinstall install` / `sync`: real pip into fresh venvs, against a misbehaving loopback index.

Every refusal leaves the target venv byte-identical: `pip freeze` and the site-packages listing
are compared before and after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.frozen import replace
from safeinstall.lock.model import LockedPackage
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import (
    installed,
    make_venv,
    pip_env,
    publish,
    snapshot,
    write_locks,
    write_policy,
)
from tests.support.paths import ROOT

Cli = Callable[..., Result]


@pytest.fixture
def served(index_server: IndexServer, tmp_path: Path) -> tuple[Path, list[LockedPackage]]:
    """(policy trusting index "a", five locked packages served by it)."""
    packages = publish(index_server, tmp_path / "dists")
    return write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a")), packages


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One venv for every refusal test: each must leave it exactly as it was."""
    return make_venv(tmp_path_factory.mktemp("clean") / "venv")


# --- refusals before anything is fetched (no venv needed) -------------------------------------
def test_trusted_host_is_refused(cli: Cli, served: tuple[Path, list[LockedPackage]]) -> None:
    result = cli("install", "--policy", served[0], "--trusted-host", "x.example.com", "-r", "x")
    assert result.code == 1
    assert "would turn off TLS verification" in result.err


def test_untrusted_index_url_is_refused(cli: Cli, served: tuple[Path, list[LockedPackage]]) -> None:
    args = ("install", "--policy", served[0], "-r", "x.txt")
    result = cli(*args, "--extra-index-url", "https://evil.example.org/simple")
    assert result.code == 1
    assert "https://evil.example.org/simple is not a trusted index" in result.err


def test_no_deps_without_a_lock_is_refused(
    cli: Cli, served: tuple[Path, list[LockedPackage]]
) -> None:
    result = cli("install", "--policy", served[0], "--no-deps", "somepkg")
    assert result.code == 1
    assert "--no-deps without a lock" in result.err


def test_unknown_option_is_a_usage_error(cli: Cli) -> None:
    assert cli("install", "--no-verify-everything", "-r", "x.txt").code == 2


def test_unpinned_file_names_the_lock_command(
    cli: Cli, served: tuple[Path, list[LockedPackage]], tmp_path: Path
) -> None:
    loose = tmp_path / "deps.txt"
    loose.write_text("alpha-one>=1\n")
    result = cli("install", "--policy", served[0], "-r", loose, "--python", sys.executable)
    assert result.code == 2
    assert "is not a lock" in result.err
    assert f"safeinstall lock {loose} -o requirements.txt" in result.err


# --- failures leave the venv byte-identical --------------------------------------------------
def refused(cli: Cli, python: Path, *args: str | Path) -> Result:
    before = snapshot(python)
    result = cli("install", *args, "--python", python)
    assert result.code != 0, result.err
    assert snapshot(python) == before
    return result


@pytest.mark.slow
def test_tampered_artifact(
    cli: Cli,
    clean_venv: Path,
    index_server: IndexServer,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
) -> None:
    policy, packages = served
    txt, _ = write_locks(tmp_path / "lock", packages)
    index_server.misbehave("/a/files/gamma_three*", tamper=True)
    result = refused(cli, clean_venv, "--policy", policy, "-r", txt)
    assert result.code == 1
    assert "gamma_three-1.0-py3-none-any.whl does not match its locked hash" in result.err


@pytest.mark.slow
def test_truncated_download(
    cli: Cli,
    clean_venv: Path,
    index_server: IndexServer,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
) -> None:
    policy, packages = served
    _, toml = write_locks(tmp_path / "lock", packages)
    index_server.misbehave("/a/files/beta_two*", truncate_at=40)
    result = refused(cli, clean_venv, "--policy", policy, "--lock", toml)
    assert "the download is incomplete" in result.err


@pytest.mark.slow
def test_reset_after_three_of_five(
    cli: Cli,
    clean_venv: Path,
    index_server: IndexServer,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
) -> None:
    policy, packages = served
    txt, _ = write_locks(tmp_path / "lock", packages)
    index_server.misbehave("/a/files/delta_four*", reset_after=10)
    index_server.misbehave("/a/files/epsilon_five*", reset_after=10)
    result = refused(cli, clean_venv, "--policy", policy, "-r", txt)
    assert "connection was reset" in result.err
    assert "1 other file also failed" in result.err
    store = Path(os.environ["XDG_CACHE_HOME"]) / "safeinstall" / "artifacts" / "sha256"
    assert len(list(store.glob("*.name"))) == 3  # fetched and verified, but never installed


@pytest.mark.slow
def test_redirect_to_untrusted_host(
    cli: Cli,
    clean_venv: Path,
    index_server: IndexServer,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
) -> None:
    policy, packages = served
    txt, _ = write_locks(tmp_path / "lock", packages)
    elsewhere = index_server.file_url("a", "alpha_one-1.0-py3-none-any.whl", host="localhost")
    index_server.misbehave("/a/files/alpha_one*", redirect_to=elsewhere)
    result = refused(cli, clean_venv, "--policy", policy, "-r", txt)
    assert "a location the policy does not trust" in result.err


@pytest.mark.slow
def test_lock_entry_from_untrusted_index(
    cli: Cli,
    clean_venv: Path,
    index_server: IndexServer,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
) -> None:
    policy, packages = served
    rogue = publish(index_server, tmp_path / "rogue", ["zeta-six"], index="b")
    _, toml = write_locks(tmp_path / "lock", [*packages, *rogue])
    result = refused(cli, clean_venv, "--policy", policy, "--lock", toml)
    assert result.code == 1
    assert "zeta-six comes from" in result.err
    assert "not a trusted index" in result.err
    assert not index_server.requests_for("/a/files/alpha_one-1.0-py3-none-any.whl")


@pytest.mark.slow
def test_missing_hash(
    cli: Cli, clean_venv: Path, served: tuple[Path, list[LockedPackage]], tmp_path: Path
) -> None:
    policy, packages = served
    txt, _ = write_locks(tmp_path / "lock", packages)
    txt.write_text(txt.read_text() + "zeta-six==1.0\n")
    result = refused(cli, clean_venv, "--policy", policy, "-r", txt)
    assert result.code == 2
    assert "zeta-six has no sha256 hash" in result.err


@pytest.mark.slow
def test_hash_no_longer_listed_by_the_index(
    cli: Cli,
    clean_venv: Path,
    index_server: IndexServer,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
) -> None:
    policy, packages = served
    first = packages[0]  # a lock made when the index listed a file it no longer lists
    gone = replace(first, files=tuple(replace(f, sha256="e" * 64) for f in first.files))
    txt, _ = write_locks(tmp_path / "lock", [gone, *packages[1:]])
    result = refused(cli, clean_venv, "--policy", policy, "-r", txt)
    assert f"lists no file with the locked hash sha256:{'e' * 64}" in result.err


# --- working installs -------------------------------------------------------------------------
@pytest.mark.slow
def test_install_both_formats_then_sync(
    cli: Cli, index_server: IndexServer, served: tuple[Path, list[LockedPackage]], tmp_path: Path
) -> None:
    policy, packages = served
    python = make_venv(tmp_path / "venv")
    txt, _ = write_locks(tmp_path / "one", packages[:3])
    assert cli("install", "--policy", policy, "-r", txt, "--python", python).code == 0
    assert installed(python) == {"alpha-one==1.0", "beta-two==1.0", "gamma-three==1.0"}
    out = subprocess.run(
        [str(python), "-c", "import alpha_one; print(alpha_one.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "1.0"

    again = cli("install", "--policy", policy, "-r", txt, "--python", python, "--format", "json")
    report = json.loads(again.out)
    assert (report["installed"], len(report["skipped"])) == ([], 3)

    upgrade = publish(index_server, tmp_path / "v2", ["alpha-one"], version="2.0")
    _, toml = write_locks(tmp_path / "two", [*upgrade, packages[1], packages[3]])
    assert cli("install", "--policy", policy, "--lock", toml, "--python", python).code == 0
    assert installed(python) == {
        "alpha-one==2.0",
        "beta-two==1.0",
        "gamma-three==1.0",
        "delta-four==1.0",
    }

    check = cli("sync", "--policy", policy, toml, "--python", python, "--check")
    assert check.code == 1
    assert "remove gamma-three==1.0" in check.out
    had_setuptools = "setuptools" in snapshot(python)[0]  # 3.11 venvs have it, 3.12+ do not
    synced = cli("sync", "--policy", policy, toml, "--python", python, "--format", "json")
    assert synced.code == 0, synced.err
    removed = [r["name"] for r in json.loads(synced.out)["removed"]]
    assert removed == ["gamma-three", *(["setuptools"] if had_setuptools else [])]
    assert installed(python) == {"alpha-one==2.0", "beta-two==1.0", "delta-four==1.0"}
    freeze_all, _ = snapshot(python)
    assert "pip==" in freeze_all  # never removed by sync
    assert cli("sync", "--policy", policy, toml, "--python", python, "--check").code == 0


@pytest.mark.slow
def test_two_concurrent_installs_into_one_venv(
    served: tuple[Path, list[LockedPackage]], tmp_path: Path
) -> None:
    policy, packages = served
    python = make_venv(tmp_path / "venv")
    txt, _ = write_locks(tmp_path / "lock", packages)
    argv = [
        sys.executable,
        "-m",
        "safeinstall",
        "install",
        "--policy",
        str(policy),
        "-r",
        str(txt),
        "--python",
        str(python),
    ]
    env = {**pip_env(), "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert installed(python) == {f"{p.name}==1.0" for p in packages}
    check = subprocess.run(
        [str(python), "-m", "pip", "check"],
        capture_output=True,
        text=True,
        env=pip_env(),
        check=False,
    )
    assert check.returncode == 0, check.stdout
    _, listing = snapshot(python)
    assert not [line for line in listing if ".tmp " in line or line.startswith("~")]


@pytest.mark.slow
def test_offline_from_a_wheelhouse_with_the_index_down(
    cli: Cli,
    index_server: IndexServer,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy, packages = served
    txt, _ = write_locks(tmp_path / "lock", packages)
    wheels = tmp_path / "wheels"
    down = cli("download", "--policy", policy, txt, "-d", wheels, "--python", sys.executable)
    assert down.code == 0, down.err
    assert len(list(wheels.glob("*.whl"))) == 5
    index_server.stop()  # the policy's index URL now refuses connections
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    target = tmp_path / "target"
    args = (
        "install",
        "--policy",
        policy,
        "-r",
        txt,
        "--python",
        sys.executable,
        "--target",
        target,
    )
    result = cli(*args, "--offline", "--find-links", wheels)
    assert result.code == 0, result.err
    assert sorted(p.name for p in target.glob("*.dist-info")) == sorted(
        f"{p.name.replace('-', '_')}-1.0.dist-info" for p in packages
    )
    # a wheelhouse file swapped for other bytes is not matched, so nothing is found offline
    victim = next(wheels.glob("alpha_one*"))
    victim.write_bytes(victim.read_bytes() + b"\0")
    again = cli(*args[:-1], tmp_path / "t2", "--offline", "--find-links", wheels)
    assert again.code == 1
    assert "no local file of alpha-one==1.0 matches its locked hashes" in again.err


@pytest.mark.slow
def test_cached_artifact_changed_on_disk_is_fetched_again(
    cli: Cli,
    index_server: IndexServer,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
) -> None:
    policy, packages = served
    txt, _ = write_locks(tmp_path / "lock", packages[:1])
    args = ("install", "--policy", policy, "-r", txt, "--python", sys.executable, "--target")
    assert cli(*args, tmp_path / "t1").code == 0
    store = Path(os.environ["XDG_CACHE_HOME"]) / "safeinstall" / "artifacts" / "sha256"
    entry = store / packages[0].hashes[0]
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 1
    entry.write_bytes(bytes(data))

    offline = cli(*args, tmp_path / "t2", "--offline")
    assert offline.code == 1  # refused: the damaged entry is dropped, never installed
    assert not (tmp_path / "t2" / "alpha_one").exists()
    assert cli(*args, tmp_path / "t3").code == 0
    assert len(index_server.requests_for("/a/files/alpha_one-1.0-py3-none-any.whl")) == 2
