"""Lock, download, install and audit where companies work: a private https index signed by the
company's CA, reached through an authenticating proxy, its password in the keyring, and the OSV
API behind the same proxy and CA. Configured only as pip is (PIP_* variables, HTTPS_PROXY).

Every secret (the proxy's and the index's) must be absent from the output, the locks, the cache
(names and contents) and the downloaded directory.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from safeinstall.files.cachedir import url_key
from tests.net.conftest import INDEX_SECRET, PROXY_SECRET, proxy_url
from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.keyringstub import calls
from tests.support.osvdata import synthetic
from tests.support.osvserver import OsvServer
from tests.support.proxy import RecordingProxy
from tests.support.tlsindex import Issued, TestCA, TlsFront

Cli = Callable[..., Result]
SECRETS = (INDEX_SECRET, PROXY_SECRET, base64.b64encode(f"deploy:{INDEX_SECRET}".encode()).decode())


@dataclass(frozen=True)
class Corp:
    project: Path
    cache: Path
    index: str  # the https index URL, without credentials
    front: TlsFront
    osv: TlsFront
    keyring: Path


@pytest.fixture
def osv_front(server_cert: Issued) -> Iterator[TlsFront]:
    vuln = synthetic("PYSEC-0000-1", "shared", [{"introduced": "0"}, {"fixed": "3.0"}])
    server = OsvServer([vuln]).start()
    try:
        with TlsFront(int(server.url.rsplit(":", 1)[1]), server_cert) as front:
            yield front
    finally:
        server.stop()


@pytest.fixture
def corp(  # noqa: PLR0917 - each part is a fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index_server: IndexServer,
    https_index: TlsFront,
    osv_front: TlsFront,
    proxy: RecordingProxy,
    test_ca: TestCA,
    keyring_on_path: Callable[..., Path],
) -> Corp:
    dists = tmp_path / "dists"
    index_server.add("a", build_wheel(dists, "private-app", "1.0", requires_dist=["shared"]))
    index_server.add("a", build_wheel(dists, "shared", "2.0"))
    index = https_index.url("/a/simple/")
    for name in list(os.environ):
        if name.upper() in {"NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"} or name in {
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
            "PIP_EXTRA_INDEX_URL",
        }:
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", index.replace("//", "//deploy@"))
    monkeypatch.setenv("PIP_KEYRING_PROVIDER", "subprocess")
    monkeypatch.setenv("PIP_CERT", str(test_ca.pem))
    monkeypatch.setenv("HTTPS_PROXY", proxy_url(proxy))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    keyring = keyring_on_path({(index, "deploy"): INDEX_SECRET})
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "requirements.in").write_text("private-app\n")
    monkeypatch.chdir(project)
    return Corp(project, tmp_path / "cache", index, https_index, osv_front, keyring)


def assert_no_secret(*texts: str, under: Path | None = None) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    if under is None or not under.exists():
        return
    for path in under.rglob("*"):
        for secret in SECRETS:
            assert secret not in str(path)
            if path.is_file() and not path.is_symlink():
                assert secret.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_lock_download_install_and_audit_through_proxy_ca_and_keyring(
    corp: Corp, cli: Cli, index_server: IndexServer, proxy: RecordingProxy, tmp_path: Path
) -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    locked = cli("lock", "requirements.in", "-v", "--python-version", here, "--platform", "linux")
    assert locked.code == 0, locked.err
    lock = corp.project / "requirements.txt"
    assert "private-app==1.0" in lock.read_text() and "shared==2.0" in lock.read_text()

    wheels = tmp_path / "wheels"
    downloaded = cli("download", lock, "-d", wheels, "--python", sys.executable)
    assert downloaded.code == 0, downloaded.err
    assert sorted(p.name for p in wheels.glob("*.whl")) == [
        "private_app-1.0-py3-none-any.whl",
        "shared-2.0-py3-none-any.whl",
    ]
    target = tmp_path / "target"
    installed = cli(
        "install", "-r", lock, "--python", sys.executable, "--target", target, "--reinstall"
    )
    assert installed.code == 0, installed.err
    assert list(target.glob("shared-2.0.dist-info"))

    audited = cli("audit", lock, "--osv-url", corp.osv.url(""), "--format", "json")
    assert audited.code == 1, audited.err  # shared 2.0 has a (test) advisory
    assert "PYSEC-0000-1" in audited.out

    # everything went through the proxy, to the real destinations only, tunnelled
    assert {s.method for s in proxy.seen} == {"CONNECT"}
    assert {s.target for s in proxy.seen} == {
        f"127.0.0.1:{corp.front.port}",
        f"127.0.0.1:{corp.osv.port}",
    }
    # the index got the keyring's password; the keyring was asked as pip asks it
    auth = "Basic " + base64.b64encode(f"deploy:{INDEX_SECRET}".encode()).decode()
    assert index_server.requests
    assert all(r.headers.get("authorization") == auth for r in index_server.requests)
    assert all(c == ["get", corp.index, "deploy"] for c in calls(corp.keyring))
    # no secret anywhere a user or a file could show it
    results = (locked, downloaded, installed, audited)
    assert_no_secret(*(r.out + r.err for r in results), lock.read_text())
    assert len(list(corp.cache.rglob("*"))) > 5  # pages, metadata and files were cached
    assert_no_secret(under=corp.cache)
    assert_no_secret(under=wheels)
    assert_no_secret(under=corp.project)
    with_secret = corp.index.replace("//", f"//deploy:{INDEX_SECRET}@") + "private-app/"
    assert not list(corp.cache.rglob(url_key(with_secret) + "*"))


def test_an_index_behind_an_unknown_ca_says_which_setting_to_use(
    corp: Corp, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIP_CERT")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    result = cli("lock", "requirements.in", "--python-version", "3.12", "--platform", "linux")
    assert result.code == 1
    assert f"the TLS certificate of 127.0.0.1:{corp.front.port} cannot be verified" in result.err
    assert "PIP_CERT" in result.err
    assert_no_secret(result.out, result.err)


def test_credentials_in_pip_conf_index_url_are_used_for_lock_and_download(
    tmp_path: Path, cli: Cli, index_server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 4: pip.conf's own index-url with user:password (no PIP_INDEX_URL), plain loopback."""
    dists = tmp_path / "dists"
    index_server.add("a", build_wheel(dists, "private-app", "1.0"))
    index = index_server.index_url("a")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {index.replace('//', f'//deploy:{INDEX_SECRET}@')}\n")
    for name in list(os.environ):
        if name.startswith("PIP_") or name.upper().endswith("_PROXY"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "requirements.in").write_text("private-app\n")
    monkeypatch.chdir(project)
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    locked = cli("lock", "requirements.in", "--python-version", here, "--platform", "linux")
    assert locked.code == 0, locked.err
    wheels = tmp_path / "wheels"
    lock = project / "requirements.txt"
    downloaded = cli("download", lock, "-d", wheels, "--python", sys.executable)
    assert downloaded.code == 0, downloaded.err
    auth = "Basic " + base64.b64encode(f"deploy:{INDEX_SECRET}".encode()).decode()
    assert any(r.path.startswith("/a/files/") for r in index_server.requests)
    assert all(r.headers.get("authorization") == auth for r in index_server.requests)
    assert_no_secret(locked.out + locked.err, downloaded.out + downloaded.err, lock.read_text())
    assert_no_secret(under=tmp_path / "cache")
    assert_no_secret(under=wheels)
