"""A real pypiserver on loopback for the tests that need a third-party index server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    """Any HTTP answer, a refusal included (a server behind a password answers 401)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_pypiserver(packages: Path, *options: str, timeout: float = 30) -> Iterator[str]:
    """pypiserver over ``packages`` with ``options``: its simple URL (``.../simple/``)."""
    for _attempt in range(3):  # the port may be taken between choosing and binding it
        port = _free_port()
        command = [sys.executable, "-m", "pypiserver", "run", "-p", str(port), "-i", "127.0.0.1"]
        command += [*options, "--disable-fallback", "--hash-algo", "sha256"]
        command += ["--log-stream", "none", str(packages)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/simple/"
        stop_at = time.monotonic() + timeout
        while not _answers(url) and process.poll() is None and time.monotonic() < stop_at:
            time.sleep(0.1)
        if process.poll() is None and _answers(url):
            break
        process.kill()
        process.wait()
    else:
        pytest.fail("pypiserver did not start")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
