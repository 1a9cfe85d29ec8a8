"""The listing of the directories pip writes into, and taking back what a failed step added."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safeinstall.install import footprint
from safeinstall.install.footprint import take, undo_added


def test_only_what_was_added_is_removed(tmp_path: Path) -> None:
    site, outside = tmp_path / "site", tmp_path / "outside"
    (site / "old").mkdir(parents=True)
    (site / "old" / "keep.py").write_text("old\n")
    (site / "gone.py").write_text("x\n")
    (site / "edited.py").write_text("1\n")
    outside.mkdir()
    (site / "link").symlink_to(outside)  # a link to a directory outside: never followed
    before = take([site])

    (site / "evil_init.pth").write_text("import os\n")
    (site / "new" / "deep").mkdir(parents=True)
    (site / "new" / "deep" / "mod.py").write_text("")
    (site / "old" / "added.py").write_text("")
    (site / "owned.py").write_text("")  # a file of an installed distribution
    (outside / "planted").write_text("")  # outside the listed directories
    (site / "gone.py").unlink()
    (site / "edited.py").write_text("22\n")

    changes = undo_added(before, lambda path: path.name == "owned.py")
    assert changes.removed_added == tuple(
        site / p for p in ("evil_init.pth", "new", "new/deep", "new/deep/mod.py", "old/added.py")
    )
    assert changes.added == ()
    assert changes.changed == (site / "edited.py",)
    assert changes.gone == (site / "gone.py",)
    assert sorted(p.name for p in site.iterdir()) == ["edited.py", "link", "old", "owned.py"]
    assert (site / "old" / "keep.py").exists() and (outside / "planted").exists()


def test_too_many_paths_remove_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(footprint, "MAX_ENTRIES", 2)
    before = take([tmp_path])
    for name in "abc":
        (tmp_path / name).write_text("")
    changes = undo_added(before, lambda path: False)
    assert not changes.complete and not changes
    assert len(os.listdir(tmp_path)) == 3
