"""Real corporate-network parts on loopback: a throwaway CA, an https front for the index
server, a recording proxy, a stand-in keyring command on PATH."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from safeinstall.net import tls
from safeinstall.net.settings import NetSettings
from tests.support.indexserver import IndexServer
from tests.support.keyringstub import stub_keyring
from tests.support.proxy import RecordingProxy
from tests.support.tlsindex import Issued, TestCA, TlsFront, make_ca

PROXY_SECRET = "pr0xy-pa55"
INDEX_SECRET = "k3yring-t0ken"


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def server_cert(test_ca: TestCA) -> Issued:
    return test_ca.issue("server")


@pytest.fixture
def https_index(index_server: IndexServer, server_cert: Issued) -> Iterator[TlsFront]:
    """The index server, over https with a certificate of ``test_ca``."""
    with TlsFront(index_server.port, server_cert) as front:
        yield front


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    """A proxy that wants ``px:PROXY_SECRET``."""
    with RecordingProxy(credentials=f"px:{PROXY_SECRET}") as running:
        yield running


def proxy_url(proxy: RecordingProxy) -> str:
    return proxy.url.replace("//", f"//px:{PROXY_SECRET}@")


@pytest.fixture
def keyring_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``keyring_on_path({(service, user): password}, **knobs)``: the stub first on PATH;
    returns its directory (``keyringstub.calls(dir)`` lists the calls)."""

    def install(passwords: dict[tuple[str, str], str], **knobs: bool) -> Path:
        bin_dir = tmp_path / "keyring-bin"
        stub_keyring(bin_dir, passwords, **knobs)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        return bin_dir

    return install


def tls_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, no TLS context is built yet in this run; returns the name of the thread of
    each one built, as they are."""
    monkeypatch.setattr(tls, "_TLS", {})
    built: list[str] = []
    real = tls._new_context

    def counted(settings: NetSettings) -> object:
        built.append(threading.current_thread().name)
        return real(settings)

    monkeypatch.setattr(tls, "_new_context", counted)
    return built
