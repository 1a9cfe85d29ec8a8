"""No code of the target environment runs when safeinstall starts its interpreter (G2).

The environment holds a wheel whose ``.pth`` file has an ``import`` line (as litellm 1.82.8's
``litellm_init.pth`` had) that writes a marker file, and modules planted under names that the
probe or pip would import if they could (``packaging``, ``_manylinux``, ``socks``...). Every
command that starts the target interpreter (the probe, pip, the bytecode compilation) runs with
``-I -S``: the marker must never appear.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name

from safeinstall.environment.pip import run_pip
from safeinstall.environment.probe import probe
from safeinstall.lock.model import LockedPackage
from tests.support.builders import build_hostile_wheel, build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import (
    locked,
    make_venv,
    pip_env,
    publish,
    site_packages,
    write_locks,
    write_policy,
)

Cli = Callable[..., Result]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the venv layout here is POSIX")


def planted(marker: Path) -> bytes:
    """Code that leaves ``marker`` behind when it runs."""
    return f"import os; open({str(marker)!r}, 'w').close()\n".encode()


def hostile_wheel(dists: Path, marker: Path, name: str = "hostile") -> Path:
    files = {f"{name}/__init__.py": b"", f"{name}_init.pth": planted(marker)}
    return build_wheel(dists, name, "1.0", files=files)


def plain_pip(python: Path, *args: str | Path) -> None:
    """The hostile environment is set up with the target's own pip, as a victim would."""
    command = [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
    subprocess.run([*command, *map(str, args)], check=True, capture_output=True, env=pip_env())


def runs_at_startup(python: Path, marker: Path) -> bool:
    """Whether a plain start of ``python`` (with site) runs the planted code; clears the marker."""
    subprocess.run([str(python), "-c", "pass"], check=True, env=pip_env())
    ran = marker.exists()
    marker.unlink(missing_ok=True)
    return ran


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(venv with pip and the hostile wheel installed, the marker path its .pth writes)."""
    base = tmp_path_factory.mktemp("g2")
    marker = base / "marker"
    python = make_venv(base / "venv")
    plain_pip(python, hostile_wheel(base / "dists", marker))
    assert runs_at_startup(python, marker)  # the environment really is hostile
    return base / "venv", marker


@pytest.fixture
def hostile(template: tuple[Path, Path], tmp_path: Path) -> Iterator[Path]:
    """A copy of the hostile venv (its python); the marker must not exist after the test."""
    root, marker = template
    marker.unlink(missing_ok=True)
    shutil.copytree(root, tmp_path / "venv", symlinks=True)
    yield tmp_path / "venv" / "bin" / "python"
    assert not marker.exists(), "code from the target environment ran"


@pytest.fixture
def marker(template: tuple[Path, Path]) -> Path:
    return template[1]


@pytest.fixture
def served(index_server: IndexServer, tmp_path: Path) -> tuple[Path, list[LockedPackage]]:
    packages = publish(index_server, tmp_path / "dists", ["alpha-one", "beta-two"])
    return write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a")), packages


@pytest.mark.slow
def test_read_only_commands_run_no_code_of_the_environment(
    cli: Cli, hostile: Path, served: tuple[Path, list[LockedPackage]], tmp_path: Path
) -> None:
    policy, packages = served
    txt, toml = write_locks(tmp_path / "lock", packages[:1])
    dry = cli("install", "--policy", policy, "-r", txt, "--python", hostile, "--dry-run")
    assert dry.code == 0, dry.err
    check = cli("sync", "--policy", policy, toml, "--python", hostile, "--check")
    assert check.code == 1, check.err
    assert "remove hostile==1.0" in check.out
    verify = cli("verify", txt, "--python", hostile)
    assert verify.code == 1
    assert "hostile_init.pth runs code at every interpreter start-up" in verify.out


@pytest.mark.slow
def test_install_and_sync_run_no_code_of_the_environment(
    cli: Cli, hostile: Path, served: tuple[Path, list[LockedPackage]], tmp_path: Path
) -> None:
    policy, packages = served
    site = site_packages(hostile)
    txt, toml = write_locks(tmp_path / "lock", packages)
    result = cli("install", "--policy", policy, "-r", txt, "--python", hostile)
    assert result.code == 0, result.err
    assert (site / "alpha_one-1.0.dist-info").is_dir()
    assert list((site / "alpha_one" / "__pycache__").glob("__init__.*.pyc"))  # compiled
    synced = cli("sync", "--policy", policy, toml, "--python", hostile)
    assert synced.code == 0, synced.err
    assert not list(site.glob("hostile*"))  # pip uninstalled it, running none of its code


@pytest.mark.slow
def test_modules_planted_for_pip_to_import_do_not_run(
    cli: Cli,
    hostile: Path,
    marker: Path,
    served: tuple[Path, list[LockedPackage]],
    tmp_path: Path,
) -> None:
    """pip's vendored libraries try optional imports (``socks``, ``brotli``...): under safeinstall
    only the standard library and pip itself are importable in pip's process."""
    site = site_packages(hostile)
    for name in ("socks", "brotli", "brotlicffi", "_manylinux", "keyring", "attr", "cPickle"):
        (site / f"{name}.py").write_bytes(planted(marker))
    subprocess.run([str(hostile), "-c", "import socks"], check=True, env=pip_env())
    assert marker.exists()  # importable from the environment's normal sys.path
    marker.unlink()
    policy, packages = served
    txt, _ = write_locks(tmp_path / "lock", packages)
    result = cli("install", "--policy", policy, "-r", txt, "--python", hostile)
    assert result.code == 0, result.err


@pytest.mark.slow
def test_pip_named_as_python_m_pip_runs_isolated_too(hostile: Path) -> None:
    """The form the sdist build fallback uses, ``[python, "-m", "pip", ...]``, runs as
    ``pip_command`` runs pip."""
    run_pip([str(hostile), "-m", "pip", "list"], "list the installed packages")


@pytest.mark.slow
def test_a_locked_wheel_with_an_executable_pth_never_runs_during_the_install(
    cli: Cli, index_server: IndexServer, marker: Path, tmp_path: Path
) -> None:
    """Installed (the lock pins it) or refused, its .pth runs in no step of the install: not
    in the bytecode compilation, not in the probes and the clean-up after pip fails."""
    marker.unlink(missing_ok=True)
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    python = make_venv(tmp_path / "venv")
    site = site_packages(python)
    pth = locked(index_server, hostile_wheel(tmp_path / "dists", marker, "aaa_pth"))
    txt, _ = write_locks(tmp_path / "one", [pth])
    result = cli("install", "--policy", policy, "-r", txt, "--python", python)
    assert result.code in (0, 1), result.err
    assert not marker.exists(), "the locked .pth ran during the install"
    # the same wheel with one pip cannot install (a member escaping site-packages): pip has
    # installed the first when it fails on the second, and what it added is undone again
    shutil.rmtree(tmp_path / "venv")
    python = make_venv(tmp_path / "venv")
    broken = locked(index_server, build_hostile_wheel(tmp_path / "dists", "zzz-broken", pth=False))
    txt, _ = write_locks(tmp_path / "two", [pth, broken])
    refused = cli("install", "--policy", policy, "-r", txt, "--python", python)
    assert refused.code == 1, refused.err
    assert not marker.exists(), "the .pth of a refused install ran"
    assert not list(site.glob("aaa_pth*.dist-info"))


def test_a_packaging_planted_in_the_target_cannot_lie_to_the_probe(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    python = tmp_path / "v" / "bin" / "python"
    site = site_packages(python)
    marker = tmp_path / "marker"
    (site / "packaging").mkdir()
    (site / "packaging" / "__init__.py").write_bytes(planted(marker) + b"raise SystemExit(0)\n")
    (site / "packaging" / "tags.py").write_text("def sys_tags():\n    return iter(())\n")
    (site / "packaging" / "markers.py").write_text("def default_environment():\n    return {}\n")
    (site / "_manylinux.py").write_bytes(planted(marker) + b"manylinux_compatible = None\n")
    (site / "lying.pth").write_bytes(planted(marker))
    env = probe(str(python))
    assert not marker.exists(), "the probe ran code from the target environment"
    assert env.target.tags == tuple(sys_tags())  # the venv's base is the running interpreter
    assert dict(env.target.environment) == default_environment()
    assert env.prefix == tmp_path / "v"
    assert "packaging" not in env.installed  # planted files without metadata are no package


def test_the_venv_prefix_and_its_system_site_packages_come_from_pyvenv_cfg(
    tmp_path: Path,
) -> None:
    """``-S`` leaves ``sys.prefix`` at the base interpreter (site.py reads pyvenv.cfg, not the
    interpreter): the probe reads it itself, with include-system-site-packages."""
    root = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    build_wheel(tmp_path / "w", "inside", "1.0")
    shutil.unpack_archive(
        tmp_path / "w" / "inside-1.0-py3-none-any.whl", site_packages(python), "zip"
    )
    alone = probe(str(python))
    assert alone.prefix == root
    assert list(alone.installed) == ["inside"]
    cfg = root / "pyvenv.cfg"
    cfg.write_text(cfg.read_text().replace("= false", "= true"))
    shared = probe(str(python))
    assert shared.prefix == root
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    base = Path(sys.base_prefix) / "lib" / version / "site-packages"
    system = {canonicalize_name(p.name.split("-")[0]) for p in base.glob("*.dist-info")}
    assert system, "the base interpreter has no package to see"
    assert {"inside"} | system <= set(shared.installed)
