"""`install` and `sync` refuse a lock whose recorded content digest no longer matches its
entries: a hash edited by hand (in a pull request, say) to match a file a hostile index now
serves. Until now only `lock --check` and the diff hook caught it, at commit time.

Real locks made by the CLI against the loopback index. Then a hostile wheel of dep 1.0 with a
build tag appears on the index (a taken-over account may add one to a release), and the lock is
edited to it: its hash (and in pylock.toml its name, URL and size). A lock that records no content
digest (pip-compile's, one written by hand) installs as before.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import build_wheel
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    return demo_project(tmp_path, index_server, cli, monkeypatch)


def make_lock(proj: LockProject, output: str) -> None:
    made = proj.lock("-o", output)
    assert made.code == 0, made.err


HONEST, EVIL = "dep-1.0-py3-none-any.whl", "dep-1.0-1-py3-none-any.whl"


def edit_to_hostile_dep(proj: LockProject, tmp_path: Path, output: str) -> None:
    """Serve a hostile dep 1.0 (build tag 1) too, and point the lock's dep entry at it."""
    honest = proj.dists / HONEST
    evil = build_wheel(tmp_path / "evil", "dep", "1.0", files={"dep/evil.py": b"import os\n"})
    proj.server.add("a", evil, filename=EVIL)
    path = proj.root / output
    text = path.read_text()
    old, new = (hashlib.sha256(p.read_bytes()).hexdigest() for p in (honest, evil))
    assert text.count(old) == 1
    text = text.replace(old, new)
    if output == "pylock.toml":  # it also names the file and records its size
        old_size, new_size = (f"size = {p.stat().st_size}" for p in (honest, evil))
        text = text.replace(HONEST, EVIL).replace(old_size, new_size)
    path.write_text(text)


def install(proj: LockProject, command: str, output: str, target: Path) -> Any:
    lock = ("-r" if output == "requirements.txt" else "--lock") if command == "install" else ""
    where = ("--target", target) if command == "install" else ("--dry-run",)
    return proj.run(
        command,
        *filter(None, [lock, output]),
        "--policy",
        proj.policy_path,
        "--python",
        sys.executable,
        *where,
    )


@pytest.mark.parametrize("output", ["requirements.txt", "pylock.toml"])
@pytest.mark.parametrize("command", ["install", "sync"])
def test_a_hash_edited_to_match_a_hostile_file_is_refused_and_nothing_installed(
    proj: LockProject, tmp_path: Path, output: str, command: str
) -> None:
    make_lock(proj, output)
    edit_to_hostile_dep(proj, tmp_path, output)
    served = len(proj.server.requests)
    target = tmp_path / "target"
    result = install(proj, command, output, target)
    assert result.code == 1, result.err
    assert f"{output} was edited by hand after it was made" in result.err
    assert "safeinstall diff" in result.err and "Traceback" not in result.err
    assert not target.exists()  # without the check: dep/evil.py is installed
    assert len(proj.server.requests) == served  # refused before any index was asked


@pytest.mark.slow
def test_a_lock_with_no_content_digest_installs_as_before(
    proj: LockProject, tmp_path: Path
) -> None:
    """pip-compile's lock, or one written by hand: no digest, nothing to hold it to."""
    make_lock(proj, "requirements.txt")
    path = proj.root / "requirements.txt"
    path.write_text(re.sub(r"(?m)^# safeinstall-content: .*\n", "", path.read_text()))
    target = tmp_path / "target"
    result = install(proj, "install", "requirements.txt", target)
    assert result.code == 0, result.err
    assert (target / "dep").is_dir() and "edited" not in result.err
