"""Build sets in the lock: what each locked sdist is built with, pinned with hashes.

requirements.txt carries them as a marked comment block that plain pip ignores (real pip reads
the file as it reads the same file without the block); pylock.toml under
``[[tool.safeinstall.builds]]``. Both read back through the one reader, and the content digest
covers them: a hand edit of a build hash is an edit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.errors import InputError
from safeinstall.lock.content import changed_names, content_digest
from safeinstall.lock.model import (
    BuildSet,
    Lock,
    LockedFile,
    LockedPackage,
    to_requirements_txt,
)
from safeinstall.lock.pylock import to_pylock_toml
from safeinstall.lock.read import parse_lock, read_lock_file
from tests.support.builders import build_wheel, file_sha256
from tests.support.installdata import pip_env
from tests.support.paths import ROOT

URL = "http://127.0.0.1:9/files"
SDIST = "a" * 64


def pin(name: str, version: str, sha256: str, filename: str = "") -> LockedPackage:
    filename = filename or f"{name}-{version}-py3-none-any.whl"
    file = LockedFile(sha256, filename, f"{URL}/{filename}", 10)
    return LockedPackage(canonicalize_name(name), Version(version), (file,), index_url=URL)


def a_lock(build_hash: str = "b" * 64) -> Lock:
    app = pin("app", "1.0", SDIST, "app-1.0.tar.gz")
    builds = (
        BuildSet(app.name, app.version, SDIST, (pin("setuptools", "70.0", build_hash),)),
        BuildSet(canonicalize_name("other"), Version("2.0"), "c" * 64, ()),  # builds from nothing
    )
    return Lock((app,), "sha256:" + "0" * 64, builds=builds)


def write(lock: Lock, name: str) -> str:
    return to_pylock_toml(lock) if name == "pylock.toml" else to_requirements_txt(lock, "x", "0")


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_build_sets_are_written_and_read_back_by_the_one_reader(name: str) -> None:
    lock = a_lock()
    text = write(lock, name)
    back = parse_lock(text.encode(), name, name)
    if name == "requirements.txt":  # it records hashes only
        assert [(b.name, b.version, b.sdist) for b in back.builds] == [
            (b.name, b.version, b.sdist) for b in lock.builds
        ]
        assert back.builds[0].packages[0].hashes == ("b" * 64,)
        assert back.builds[1].packages == ()
    else:
        assert back.builds == lock.builds
    assert back.recorded_content == content_digest(back)
    assert write(back, name) == text  # deterministic


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_a_hand_edited_build_hash_no_longer_matches_the_content_digest(name: str) -> None:
    text = write(a_lock(), name)
    edited = parse_lock(text.replace("b" * 64, "d" * 64).encode(), name, name)
    assert edited.recorded_content != content_digest(edited)
    assert changed_names(parse_lock(text.encode(), name, name), edited) == [
        "app (its build environment)"
    ]


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_a_lock_written_before_build_sets_keeps_its_content_digest(name: str) -> None:
    """safeinstall's own locks were written before build sets existed: still not "edited"."""
    lock = read_lock_file(ROOT / name)
    assert lock.builds == ()
    assert lock.recorded_content == content_digest(lock)
    assert "safeinstall-build" not in to_requirements_txt(lock, "x", "0")


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('sdist-sha256 = "' + SDIST, 'sdist-sha256 = "xyz', "builds[0].sdist-sha256 must be"),
        ('version = "70.0"', 'version = "not a version"', "builds[0].packages[0].version"),
        ("[[tool.safeinstall.builds.packages.wheels]]", "[tool.x]", "packages[0].wheels must be"),
    ],
)
def test_a_malformed_build_table_is_an_input_error_naming_its_key(
    old: str, new: str, says: str
) -> None:
    text = write(a_lock(), "pylock.toml")
    assert old in text
    with pytest.raises(InputError) as caught:
        parse_lock(text.replace(old, new, 1).encode(), "pylock.toml", "pylock.toml")
    assert says in caught.value.message


def test_a_build_heading_without_an_sdist_hash_is_refused() -> None:
    text = write(a_lock(), "requirements.txt").replace(f" --hash=sha256:{SDIST}\n#   b", "\n#   b")
    with pytest.raises(InputError) as caught:
        parse_lock(text.encode(), "requirements.txt", "requirements.txt")
    assert caught.value.message == "app has no hash"


@pytest.mark.slow
def test_real_pip_reads_the_lock_as_it_reads_it_without_the_build_block(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "house", "app", "1.0")
    app = LockedPackage(
        canonicalize_name("app"), Version("1.0"), (LockedFile(file_sha256(wheel), wheel.name),)
    )
    build = BuildSet(app.name, app.version, SDIST, (pin("setuptools", "70.0", "b" * 64),))
    reports = []
    for builds in ((), (build,)):
        lock = tmp_path / f"requirements-{len(builds)}.txt"
        lock.write_text(to_requirements_txt(Lock((app,), "sha256:x", builds=builds), "x", "0"))
        args = ["install", "--dry-run", "--no-index", "--find-links", str(wheel.parent)]
        args += ["--require-hashes", "--report", "-", "-q", "-r", str(lock)]
        done = subprocess.run(
            [sys.executable, "-m", "pip", *args],
            capture_output=True,
            text=True,
            env=pip_env(),
            check=False,
        )
        assert done.returncode == 0, done.stderr
        reports.append([i["metadata"]["name"] for i in json.loads(done.stdout)["install"]])
    assert reports == [["app"], ["app"]]
    assert "safeinstall-build: app==1.0" in lock.read_text()
