"""An allowed sdist that pip builds at install time builds in the sandbox: real pip, real venv.

The sdist's backend (a locked wheel, installed first) writes what its build could see into the
wheel it builds, so the installed package tells what the build had: no token, no real home, no
network.
"""

from __future__ import annotations

import errno
import hashlib
import json
import socket
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.environment import pip as pipenv
from safeinstall.environment import sandbox
from safeinstall.errors import PolicyError
from safeinstall.index.fetch import Artifact
from tests.support.builders import build_wheel
from tests.support.installdata import make_venv, site_packages
from tests.support.sdists import pkg_info, tar_gz

SPY_BACKEND = """\
import json, os, pathlib, socket, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(directory, config_settings=None, metadata_directory=None):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", int(pathlib.Path("port.txt").read_text())))
        connect = "connected"
    except OSError as exc:
        connect = exc.errno
    finally:
        s.close()
    netrc = pathlib.Path(os.path.expanduser("~/.netrc"))
    seen = {"env": dict(os.environ), "connect": connect, "netrc": netrc.exists(),
            "home": os.path.expanduser("~")}
    wheel = "spied-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as zf:
        zf.writestr("spied/observed.json", json.dumps(seen))
        zf.writestr("spied-1.0.dist-info/METADATA",
                    "Metadata-Version: 2.1\\nName: spied\\nVersion: 1.0\\n\\n")
        zf.writestr("spied-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nTag: py3-none-any\\n")
        zf.writestr("spied-1.0.dist-info/RECORD", "")
    return wheel
"""


def _artifact(path: Path) -> tuple[Artifact, Path]:
    name, version = path.name.split("-")[:2]
    version = version.removesuffix(".tar.gz")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Artifact(canonicalize_name(name), Version(version), path.name, digest), path


def _files(tmp_path: Path, port: int) -> list[tuple[Artifact, Path]]:
    code = {"spybackend.py": SPY_BACKEND.encode()}
    backend = build_wheel(tmp_path, "spybackend", "1.0", files=code)
    pyproject = b'[build-system]\nrequires = ["spybackend"]\nbuild-backend = "spybackend"\n'
    sdist = tmp_path / "spied-1.0.tar.gz"
    sdist.write_bytes(
        tar_gz(
            {
                "spied-1.0/PKG-INFO": pkg_info("spied", "1.0"),
                "spied-1.0/pyproject.toml": pyproject,
                "spied-1.0/port.txt": str(port).encode(),
            }
        )
    )
    return [_artifact(backend), _artifact(sdist)]


@pytest.mark.slow
@pytest.mark.skipif(
    sandbox.network_cut_prefix() is None,
    reason=f"this machine cannot cut a build's network: {sandbox.network_cut_unavailable()}",
)
def test_pip_builds_an_allowed_sdist_in_the_sandbox(
    tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "real-home"
    home.mkdir()
    (home / ".netrc").write_text("machine 127.0.0.1 login me password netrc-secret\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_notreal")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-notreal")
    python = make_venv(tmp_path / "venv")
    files = _files(tmp_path / "dists", listener.getsockname()[1])

    pipenv.pip_install(str(python), files, pipenv.PipOptions(), stage_in=tmp_path)

    seen = json.loads((site_packages(python) / "spied" / "observed.json").read_text())
    assert seen["connect"] == errno.ENETUNREACH
    assert seen["netrc"] is False
    assert not {"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY"} & set(seen["env"])
    assert seen["env"]["PIP_NO_INDEX"] == "1"
    assert not Path(seen["home"]).is_relative_to(home)
    try:
        listener.accept()
        reached = True
    except BlockingIOError:
        reached = False
    assert not reached


def test_an_sdist_is_not_built_into_the_user_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(pipenv, "run_pip", lambda args, what, **_: ran.append(args))
    files = _files(tmp_path, 9)
    with pytest.raises(PolicyError, match=r"cannot build spied-1\.0\.tar\.gz into the user site"):
        pipenv.pip_install("python", files, pipenv.PipOptions(scheme="user"), stage_in=tmp_path)
    assert ran == []  # not even the wheels: nothing is installed
