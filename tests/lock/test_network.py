"""Lock real requirement sets against the public index (opt-in: --network), then install one.

The index is pip's built-in default: the tests are hermetic, so no pip configuration is read.
A run that fails on a transient network error (not on a resolution or policy error) is retried.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import DATA, ROOT

pytestmark = [pytest.mark.network, pytest.mark.slow]

SETS = DATA / "sets"
TRANSIENT = ("could not fetch", "took longer than", "answered HTTP 5", "HTTP 429")


def with_retries(run: Callable[[], Any], *, attempts: int = 3) -> Any:
    """``run()`` again (after a pause) while it fails on a transient network error only."""
    for attempt in range(1, attempts + 1):
        result = run()
        transient = result.code != 0 and any(t in result.err for t in TRANSIENT)
        if not transient or attempt == attempts:
            return result
        time.sleep(5 * attempt)
    raise AssertionError("unreachable")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def lock_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1].isalnum()]


def test_small_set_locks_and_installs_with_pip(workdir: Path, cli: Any) -> None:
    shutil.copy(SETS / "small.in", workdir / "small.in")
    result = with_retries(lambda: cli("lock", "small.in", "-o", "small.txt"))
    assert result.code == 0, result.err
    pinned = {line.split("==")[0] for line in lock_lines((workdir / "small.txt").read_text())}
    assert {"requests", "click", "rich", "urllib3", "idna"} <= pinned

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "venv"], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    pip = [sys.executable, "-m", "pip", "--python", "venv/bin/python", "install", "--no-cache-dir"]
    pip += ["--require-hashes", "-r", "small.txt"]
    for attempt in range(1, 4):
        done = subprocess.run(pip, env=env, capture_output=True, text=True, check=False)
        if done.returncode == 0 or attempt == 3:
            break
        time.sleep(5 * attempt)
    assert done.returncode == 0, done.stdout + done.stderr
    code = "import requests, click, rich; print('ok')"
    check = subprocess.run(
        ["venv/bin/python", "-c", code], check=False, capture_output=True, text=True
    )
    assert check.stdout.strip() == "ok", check.stderr


def test_treeherder_set_locks_for_python_3_13(workdir: Path, cli: Any) -> None:
    shutil.copy(SETS / "treeherder.in", workdir / "treeherder.in")
    policy = ROOT / "bench" / "policies" / "treeherder.toml"
    args = ("lock", "treeherder.in", "-o", "treeherder.txt", "--python-version", "3.13")
    result = with_retries(lambda: cli(*args, "--policy", policy))
    assert result.code == 0, result.err
    text = (workdir / "treeherder.txt").read_text()
    names = {line.split("==")[0] for line in lock_lines(text)}
    # the set pins its roots, not what they pull in: new releases on the live index change the
    # count (153 until mozfile 3.1.0 brought in redo, in 2026-12)
    assert f"treeherder.txt: wrote, {len(names)} packages" in result.out
    assert 150 <= len(names) <= 170
    assert {"django", "mozlog", "python3-memcached"} <= names
    lines = text.splitlines()
    hashed = [lines[n + 1].startswith("    --hash=sha256:") for n in range(len(lines) - 1)]
    assert all(hashed[n] for n, line in enumerate(lines) if line[:1].isalnum())
    fresh = cli(*args, "--policy", policy, "--check")
    assert fresh.code == 0, fresh.out + fresh.err
