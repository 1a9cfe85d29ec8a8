"""`lock --check` tells a lock safeinstall wrote from one edited since, and from another tool's.

The lock records the digest of its own resolved content (``# safeinstall-content:`` in
requirements.txt, ``content-digest`` in pylock.toml's tool table), computed from the parsed lock:
a hand or bot edit of a pin, a hash or a URL no longer matches it, safeinstall's layout does not
count. Real locks made by the CLI against the loopback index; the index is stopped before every
check (it runs offline).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from safeinstall.lock.content import content_digest
from safeinstall.lock.read import read_lock_file
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project

RELOCK = "safeinstall lock requirements.in -o"
EDITED = (
    "edited since safeinstall wrote it (its packages, versions, markers, hashes or URLs are "
    "not what safeinstall recorded)"
)


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    for output in ("requirements.txt", "pylock.toml"):
        made = project.lock("-o", output)
        assert made.code == 0, made.err
    project.server.stop()
    return project


def check(proj: LockProject, output: str, *args: str) -> Any:
    return proj.lock("requirements.in", "-o", output, "--check", *args)


def edit(path: Path, *pairs: tuple[str, str]) -> None:
    text = path.read_text()
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text)


def one_hash(text: str) -> str:
    found = re.search(r'(?:--hash=sha256:|sha256 = ")([0-9a-f]{64})', text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("output", ["requirements.txt", "pylock.toml"])
def test_a_fresh_lock_records_its_content_and_passes(proj: LockProject, output: str) -> None:
    lock = read_lock_file(proj.root / output)
    assert lock.recorded_content == content_digest(lock)
    assert lock.recorded_content.startswith("sha256:")
    result = check(proj, output)
    assert (result.code, result.out.strip()) == (0, f"{output}: up to date"), result.err


@pytest.mark.parametrize("output", ["requirements.txt", "pylock.toml"])
def test_one_digit_of_a_hash_changed_by_hand_is_caught(proj: LockProject, output: str) -> None:
    path = proj.root / output
    digest = one_hash(path.read_text())
    swapped = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    edit(path, (digest, swapped))
    result = check(proj, output)
    assert result.code == 1
    assert result.out.strip() == f"{output}: {EDITED}"  # outside git: no names
    assert f"{RELOCK} {output}" in result.err  # the command that relocks it
    assert f"safeinstall diff HEAD:{output} {output}" in result.err  # how to see the edit


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.mark.parametrize("output", ["requirements.txt", "pylock.toml"])
def test_the_edited_package_is_named_against_heads_lock(proj: LockProject, output: str) -> None:
    """In git, the lock as committed (still what safeinstall wrote) names what the edit
    touched: dep's hash, not demo's."""
    git(proj.root, "init", "-q")
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-qm", "locks")
    path = proj.root / output
    dep = r"dep==1.0 \\\n    --hash=sha256:" if output.endswith(".txt") else r'sha256 = "'
    digest = re.findall(dep + "([0-9a-f]{64})", path.read_text())[-1]  # dep sorts after demo
    edit(path, (digest, digest[::-1]))
    result = check(proj, output)
    assert result.code == 1
    assert result.out.splitlines() == [
        f"{output}: {EDITED}",
        f"{output}: edited entries (against HEAD's lock): dep",
    ]


@pytest.mark.parametrize(
    ("output", "pairs"),
    [
        ("requirements.txt", [("dep==1.0 ", "dep==1.1 ")]),
        # the version, and the wheel's name and URL with it (packaging refuses a mismatch)
        (
            "pylock.toml",
            [('\nversion = "1.0"', '\nversion = "1.1"'), *[("demo-1.0", "demo-1.1")] * 2],
        ),
        ("requirements.txt", [("demo==1.0 ", 'demo==1.0 ; python_version >= "3" ')]),
        ("pylock.toml", [("http://127.0.0.1", "http://localhost")]),  # a file's host
    ],
    ids=["txt-version", "pylock-version", "txt-marker", "pylock-url"],
)
def test_a_changed_pin_marker_or_url_is_caught(
    proj: LockProject, output: str, pairs: list[tuple[str, str]]
) -> None:
    edit(proj.root / output, *pairs)
    result = check(proj, output, "--format", "json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert (data["fresh"], data["state"]) == (False, "edited")


@pytest.mark.parametrize("output", ["requirements.txt", "pylock.toml"])
def test_removing_the_content_record_fails_with_the_relock_command(
    proj: LockProject, output: str
) -> None:
    """Old locks (written before the content digest) and locks whose record was removed fail:
    the freshness digest covers the safeinstall version, so an upgrade made them stale anyway,
    and a lock that claims this version without the record had it taken out."""
    path = proj.root / output
    text = path.read_text()
    path.write_text(re.sub(r"(# safeinstall-content|content-digest)[^\n]*\n", "", text))
    result = check(proj, output)
    assert result.code == 1
    assert f"{output}: records no content digest (made by an older safeinstall" in result.out
    assert f"hint: run `{RELOCK} {output}` to update it" in result.err


def test_safeinstalls_own_layout_does_not_count(proj: LockProject) -> None:
    """Blank lines, comments, the order of packages and of hashes: not content."""
    path = proj.root / "requirements.txt"
    text = path.read_text()
    header, _, body = text.partition("\ndemo==")
    blocks = ("demo==" + body).split("\ndep==")
    path.write_text(f"{header}\n\ndep=={blocks[1]}\n# a note\n{blocks[0]}\n")
    assert path.read_text() != text
    result = check(proj, "requirements.txt")
    assert (result.code, result.out.strip()) == (0, "requirements.txt: up to date"), result.err


@pytest.mark.parametrize(
    ("output", "text"),
    [
        (
            "requirements.txt",
            "#\n# This file is autogenerated by pip-compile with Python 3.12\n"
            "#    pip-compile --generate-hashes requirements.in\n#\n"
            f"demo==1.0 \\\n    --hash=sha256:{'a' * 64}\n    # via -r requirements.in\n",
        ),
        ("requirements.txt", "demo==1.0\n    # via -r requirements.in\n"),  # no hash at all
        (
            "pylock.toml",
            'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "demo"\n'
            'version = "1.0"\n',
        ),
    ],
    ids=["pip-compile", "pip-compile-unhashed", "other-pylock"],
)
def test_another_tools_lock_is_not_made_by_safeinstall(
    proj: LockProject, output: str, text: str
) -> None:
    (proj.root / output).write_text(text)
    result = check(proj, output)
    assert result.code == 1, result.err
    assert (
        result.out.strip()
        == f"{output}: not made by safeinstall (it records no safeinstall digest)"
    )
    assert "stale" not in result.out + result.err
    assert f"make this one with `{RELOCK} {output}`" in result.err
