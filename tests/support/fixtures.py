"""Pytest fixtures shared by the suite: the in-process CLI, distributions, a loopback index
(loaded from tests/conftest.py).

- ``index_server``: a started ``IndexServer`` on 127.0.0.1, stopped after the test.
- ``make_index_server``: call it for more servers (a second host for redirect tests).
- ``cli("check", "x.txt")``: run ``safeinstall`` in-process -> ``Result(code, out, err)``.
- ``wheel_factory(name, version, **kw)`` / ``sdist_factory(...)``: build real files under tmp_path
  (same arguments as ``builders.build_wheel`` / ``build_sdist``, without ``dest_dir``).
- ``arena_and_threads``: "arena" for each ``workers.one_malloc_arena()`` (not run) and "thread"
  for each thread started, in their order.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from safeinstall.cli import main
from tests.support.builders import build_sdist, build_wheel
from tests.support.indexserver import IndexServer


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``safeinstall`` in-process: ``cli("check", "x.txt")`` -> Result(code, out, err)."""

    def run(*argv: str | Path) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def make_index_server() -> Iterator[Callable[[], IndexServer]]:
    servers: list[IndexServer] = []

    def make() -> IndexServer:
        server = IndexServer().start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def index_server(make_index_server: Callable[[], IndexServer]) -> IndexServer:
    return make_index_server()


@pytest.fixture
def wheel_factory(tmp_path: Path) -> Callable[..., Path]:
    def build(name: str, version: str, **kwargs: Any) -> Path:
        return build_wheel(tmp_path / "dists", name, version, **kwargs)

    return build


@pytest.fixture
def sdist_factory(tmp_path: Path) -> Callable[..., Path]:
    def build(name: str, version: str, **kwargs: Any) -> Path:
        return build_sdist(tmp_path / "dists", name, version, **kwargs)

    return build


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server listening on loopback that accepts nothing by itself: a build, a hook or a
    backend that reaches it leaves a connection to ``accept()``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture
def arena_and_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from safeinstall import workers

    order: list[str] = []

    class Spy(threading.Thread):
        def start(self) -> None:
            order.append("thread")
            super().start()

    def arena() -> bool:
        order.append("arena")
        return True

    monkeypatch.setattr(workers, "one_malloc_arena", arena)
    monkeypatch.setattr(threading, "Thread", Spy)
    return order
