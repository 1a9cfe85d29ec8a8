"""Reading either lock format from disk, and the default lock of a directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.errors import InputError, UsageError
from safeinstall.lock.model import Lock, LockedFile, LockedPackage
from safeinstall.lock.pylock import to_pylock_toml
from safeinstall.lock.read import default_lock, read_lock_file

FILE = LockedFile(
    "a" * 64, "demo-1.0-py3-none-any.whl", "https://example.org/demo-1.0-py3-none-any.whl"
)
LOCK = Lock((LockedPackage(canonicalize_name("demo"), Version("1.0"), (FILE,)),), "sha256:x")


def test_both_formats(tmp_path: Path) -> None:
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(to_pylock_toml(LOCK), encoding="utf-8")
    txt = tmp_path / "requirements.txt"
    txt.write_text(f"demo==1.0 --hash=sha256:{'a' * 64}\n", encoding="utf-8")
    assert [(p.name, p.version) for p in read_lock_file(pylock).packages] == [
        ("demo", Version("1.0"))
    ]
    assert [(p.name, p.version) for p in read_lock_file(txt).packages] == [("demo", Version("1.0"))]


def test_default_prefers_pylock(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no lock found"):
        default_lock(tmp_path)
    (tmp_path / "requirements.txt").write_text("", encoding="utf-8")
    assert default_lock(tmp_path) == tmp_path / "requirements.txt"
    (tmp_path / "pylock.toml").write_text("", encoding="utf-8")
    assert default_lock(tmp_path) == tmp_path / "pylock.toml"


@pytest.mark.parametrize(
    ("content", "message"), [(None, "cannot read the lock"), (b"\xff\xfe", "not UTF-8")]
)
def test_unreadable(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "requirements.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_lock_file(path)
