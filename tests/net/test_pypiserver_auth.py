"""An authenticated third-party index server: pypiserver on loopback behind an htpasswd file,
its password only in the keyring (the policy's ``keyring = "subprocess"``), the user in
PIP_INDEX_URL. Lock and install go through it; the secret shows up nowhere: not in the output,
the lock, the cache (names and contents) nor the installed files.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.net.conftest import INDEX_SECRET
from tests.support.builders import build_wheel, file_sha256
from tests.support.fixtures import Result
from tests.support.keyringstub import calls
from tests.support.pypiserver import running_pypiserver

pytestmark = pytest.mark.slow
SECRETS = (INDEX_SECRET, base64.b64encode(f"deploy:{INDEX_SECRET}".encode()).decode())


def _status(url: str) -> int | None:
    """The HTTP status of an anonymous GET, None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code
    except (urllib.error.URLError, OSError):
        return None


@pytest.fixture
def private_pypiserver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """pypiserver that lets only deploy:INDEX_SECRET list and download (its htpasswd support,
    through passlib): (index URL, its package directory)."""
    packages = tmp_path / "packages"
    packages.mkdir()
    digest = base64.b64encode(hashlib.sha1(INDEX_SECRET.encode()).digest()).decode()
    (tmp_path / "htpasswd").write_text(f"deploy:{{SHA}}{digest}\n")  # Apache's SHA-1 form
    htpasswd = ["-P", str(tmp_path / "htpasswd"), "-a", "update,download,list"]
    with running_pypiserver(packages, *htpasswd) as url:
        yield url, packages


def test_lock_and_install_through_an_authenticated_pypiserver_with_the_keyring(
    private_pypiserver: tuple[str, Path],
    tmp_path: Path,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    keyring_on_path: Callable[..., Path],
) -> None:
    url, packages = private_pypiserver
    app = build_wheel(packages, "private-app", "1.0", requires_dist=["shared>=2"])
    shared = build_wheel(packages, "shared", "2.0")
    assert _status(url + "private-app/") == 401  # the server really wants the password
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    (project / "requirements.in").write_text("private-app\n")
    (project / "safeinstall.toml").write_text(
        f'indexes = [{{ name = "private", url = "{url}" }}]\nkeyring = "subprocess"\n'
    )
    monkeypatch.chdir(project)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(cache))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", url.replace("//", "//deploy@"))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_KEYRING_PROVIDER", raising=False)
    stub = keyring_on_path({(url, "deploy"): INDEX_SECRET})
    here = f"{sys.version_info.major}.{sys.version_info.minor}"

    locked = cli("lock", "requirements.in", "--python-version", here, "--platform", "linux")
    assert locked.code == 0, locked.err
    lock = (project / "requirements.txt").read_text()
    assert f"private-app==1.0 \\\n    --hash=sha256:{file_sha256(app)}\n" in lock
    assert f"shared==2.0 \\\n    --hash=sha256:{file_sha256(shared)}\n" in lock

    target = tmp_path / "target"
    install = ("install", "-r", "requirements.txt", "--python", sys.executable)
    installed = cli(*install, "--target", target)
    assert installed.code == 0, installed.err
    assert sorted(p.name for p in target.glob("*.dist-info")) == [
        "private_app-1.0.dist-info",
        "shared-2.0.dist-info",
    ]
    assert calls(stub) == [["get", url, "deploy"]] * 2  # once per run: lock, install

    for text in (locked.out, locked.err, installed.out, installed.err, lock):
        assert not any(secret in text for secret in SECRETS)
    for path in (*cache.rglob("*"), *target.rglob("*"), *project.rglob("*")):
        assert not any(secret in str(path) for secret in SECRETS)
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert not any(secret.encode() in data for secret in SECRETS), path
