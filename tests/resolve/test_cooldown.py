"""min-release-age counts each file from its own upload: a file added to an old release is fresh.

The pattern of the ultralytics and litellm incidents: a new wheel added to an existing version.
The release's earliest upload is old, so a rule that dates releases would pin the new wheel.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from safeinstall.errors import PolicyError, ResolutionError
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.resolver import Resolution, resolve
from safeinstall.targets import target_for
from tests.support.builders import file_sha256
from tests.support.fakeindex import NOW, OLD, FakeFinder
from tests.support.indexserver import IndexServer
from tests.support.lockproject import demo_project

LINUX = target_for("3.12", "linux")
WEEK = Policy(min_release_age=timedelta(days=7))
MANYLINUX = "cp312-cp312-manylinux_2_17_x86_64"


def run(finder: FakeFinder, req: str, policy: Policy = WEEK) -> Resolution:
    return resolve([Root(Requirement(req), "requirements.in:1")], policy, finder, LINUX, now=NOW)


def files_of(res: Resolution) -> list[str]:
    return [f.filename for p in res.packages for f in p.files]


def test_a_wheel_added_last_hour_to_a_year_old_release_is_not_pinned() -> None:
    f = FakeFinder()
    f.add("lib", "1.0", tags=["py3-none-any"], uploaded=OLD)
    f.add("lib", "1.0", tags=[MANYLINUX], uploaded=NOW - timedelta(hours=1))
    assert files_of(run(f, "lib")) == ["lib-1.0-py3-none-any.whl"]
    # without the policy, both files are pinned (the fresh one ranks first on linux)
    assert files_of(run(f, "lib", Policy()))[0].startswith("lib-1.0-cp312")


def test_a_release_whose_only_fitting_files_are_fresh_is_refused() -> None:
    f = FakeFinder()
    f.add("lib", "1.0", tags=["cp312-cp312-win_amd64"], uploaded=OLD)
    f.add("lib", "1.0", tags=[MANYLINUX], uploaded=NOW - timedelta(hours=1))
    with pytest.raises(ResolutionError, match=r"lib 1\.0: uploaded 2026-05-31 23:00.*min-release"):
        run(f, "lib")


def test_an_old_release_with_a_fresh_wheel_falls_back_to_an_older_version() -> None:
    f = FakeFinder()
    f.add("lib", "1.0", uploaded=OLD)
    f.add("lib", "2.0", tags=["cp312-cp312-win_amd64"], uploaded=OLD)
    f.add("lib", "2.0", tags=[MANYLINUX], uploaded=NOW - timedelta(days=1))
    assert [str(p.version) for p in run(f, "lib").packages] == ["1.0"]


def test_a_file_without_upload_time_beside_old_ones_is_not_pinned() -> None:
    f = FakeFinder()
    f.add("lib", "1.0", uploaded=OLD)
    f.add("lib", "1.0", tags=[MANYLINUX], uploaded=None)
    assert files_of(run(f, "lib")) == ["lib-1.0-py3-none-any.whl"]


def test_a_release_with_fresh_and_untimed_files_only_fails_closed() -> None:
    f = FakeFinder()
    f.add("lib", "1.0", uploaded=NOW)
    f.add("lib", "1.0", tags=[MANYLINUX], uploaded=None)
    with pytest.raises(PolicyError, match="does not say when its files were uploaded"):
        run(f, "lib")


def test_lock_pins_only_the_old_file_of_a_release_that_gained_a_wheel(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = demo_project(tmp_path, index_server, cli, monkeypatch)
    old = proj.dists / "dep-1.0-py3-none-any.whl"  # published long ago by demo_project
    fresh = proj.publish(
        "dep", "1.0", tag="py2.py3-none-any", upload_time=datetime.now(UTC) - timedelta(hours=1)
    )
    proj.write_policy('min-release-age = "7 days"')
    result = proj.lock()
    assert result.code == 0, result.err
    text = (proj.root / "requirements.txt").read_text()
    assert f"dep==1.0 \\\n    --hash=sha256:{file_sha256(old)}\n" in text
    assert file_sha256(fresh) not in text
    proj.write_policy()
    assert proj.lock("--upgrade").code == 0
    assert file_sha256(fresh) in (proj.root / "requirements.txt").read_text()
