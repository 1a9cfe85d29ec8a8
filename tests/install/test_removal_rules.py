"""The RECORD rules of ``removal`` on a hand-made environment (no interpreter, no pip)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from safeinstall.environment.probe import SchemeDirs
from safeinstall.errors import IntegrityError
from safeinstall.install.removal import check_removals


def environment(tmp_path: Path, *record: str) -> SchemeDirs:
    root = tmp_path / "env"
    site = root / "lib" / "site-packages"
    meta = site / "pkg-1.0.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Name: pkg\nVersion: 1.0\n")
    (meta / "RECORD").write_text("".join(f"{line},,\n" for line in record))
    (site / "pkg.py").write_text("")
    return SchemeDirs(root, (site,), root / "bin", (root / "lib",))


def test_own_files_and_scripts_pass(tmp_path: Path) -> None:
    dirs = environment(tmp_path, "pkg.py", "pkg-1.0.dist-info/RECORD", "../../bin/pkg")
    check_removals(sys.executable, dirs, ["pkg"], "remove pkg")


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("/etc/passwd", "an absolute path"),
        ("../os.py", "part of the standard library"),
        ("../../pyvenv.cfg", "a file of the environment itself"),
        ("../../bin/python3.11", "a file of the environment itself"),
        ("escape/x", "it resolves outside the environment"),
        ("", "an empty path, which pip reads as the whole directory"),
        ("./", "an empty path, which pip reads as the whole directory"),
        ("pkg-1.0.dist-info/..", "a '..' inside the path"),
    ],
)
def test_foreign_entries_are_refused(tmp_path: Path, entry: str, why: str) -> None:
    dirs = environment(tmp_path, "pkg.py", entry)
    (dirs.site[0] / "escape").symlink_to(tmp_path)
    with pytest.raises(IntegrityError) as caught:
        check_removals(sys.executable, dirs, ["pkg"], "remove pkg")
    assert caught.value.message == (
        "refusing to remove pkg: pip would delete what an installed RECORD lists, and it lists "
        f"files that are not its own: pkg 1.0 lists {entry} ({why})"
    )
