"""pip builds nothing: it is handed verified wheels only, and told to take nothing else.

An sdist the policy lets build is built by safeinstall itself, in the build sandbox, from the
lock's build set (``build/wheel.py``; tested in tests/build). pip once built sdists without
isolation, in the target, behind a weaker sandbox (the network cut only): that second path is
gone, and these tests keep it gone, with real pip in a real venv for the last line of defence.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.environment import pip as pipenv
from safeinstall.environment.probe import Scheme
from safeinstall.errors import PolicyError, TargetEnvironmentError
from safeinstall.index.fetch import Artifact
from tests.support.builders import build_wheel
from tests.support.installdata import make_venv, site_packages
from tests.support.sdists import pkg_info, tar_gz

# a backend that leaves a mark wherever it runs (its build directory is the unpacked sdist)
MARKING_BACKEND = """\
import os, pathlib
MARK = pathlib.Path(os.environ.get("SAFEINSTALL_TEST_MARK", "/nonexistent/mark"))

def get_requires_for_build_wheel(config_settings=None):
    MARK.write_text("the backend ran")
    return []

def build_wheel(directory, config_settings=None, metadata_directory=None):
    MARK.write_text("the backend ran")
    raise SystemExit("built")
"""


def _artifact(path: Path) -> tuple[Artifact, Path]:
    name, version = path.name.split("-")[:2]
    version = version.removesuffix(".tar.gz")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Artifact(canonicalize_name(name), Version(version), path.name, digest), path


def _files(tmp_path: Path) -> list[tuple[Artifact, Path]]:
    """A locked backend (a wheel) and an sdist that builds with it."""
    code = {"markbackend.py": MARKING_BACKEND.encode()}
    backend = build_wheel(tmp_path, "markbackend", "1.0", files=code)
    pyproject = b'[build-system]\nrequires = ["markbackend"]\nbuild-backend = "markbackend"\n'
    sdist = tmp_path / "marked-1.0.tar.gz"
    sdist.write_bytes(
        tar_gz(
            {
                "marked-1.0/PKG-INFO": pkg_info("marked", "1.0"),
                "marked-1.0/pyproject.toml": pyproject,
            }
        )
    )
    return [_artifact(backend), _artifact(sdist)]


@pytest.mark.parametrize("scheme", ["default", "user", "target"])
def test_pip_is_never_handed_an_sdist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: Scheme
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(pipenv, "run_pip", lambda args, what, **_: ran.append(args))
    options = pipenv.PipOptions(scheme=scheme, where=str(tmp_path / "t"))
    with pytest.raises(PolicyError, match=r"refusing to let pip build marked-1\.0\.tar\.gz"):
        pipenv.pip_install("python", _files(tmp_path), options, stage_in=tmp_path)
    assert ran == []  # not even the wheel: nothing is installed


def test_pip_installs_wheels_in_one_run_taking_binaries_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[list[str], str]] = []
    monkeypatch.setattr(pipenv, "run_pip", lambda args, what, **_: calls.append((args, what)))
    wheels = _files(tmp_path)[:1]
    pipenv.pip_install("python", wheels, pipenv.PipOptions(), stage_in=tmp_path)
    [(args, what), (_, compiled)] = calls
    assert what == "install"
    assert args[args.index("--only-binary") + 1] == ":all:"
    assert "--no-build-isolation" not in args
    assert "--no-compile" in args
    assert compiled == "compile the installed files"  # on every core, after pip ran


@pytest.mark.slow
def test_real_pip_given_an_sdist_anyway_runs_no_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The arguments pip gets are the last line of defence: with its backend installed and
    staged next to it, the sdist is not built (the backend never runs), pip fails and installs
    nothing."""
    mark = tmp_path / "mark"
    monkeypatch.setenv("SAFEINSTALL_TEST_MARK", str(mark))
    python = make_venv(tmp_path / "venv")
    files = _files(tmp_path / "dists")
    pipenv.pip_install(str(python), files[:1], pipenv.PipOptions(), stage_in=tmp_path)
    assert list(site_packages(python).glob("markbackend*"))
    with pipenv.staged(files, tmp_path) as reqs, pytest.raises(TargetEnvironmentError):
        pipenv.run_pip(pipenv.install_args(str(python), reqs, pipenv.PipOptions()), "install")
    assert not mark.exists()
    assert not list(site_packages(python).glob("marked*"))
