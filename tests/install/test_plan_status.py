"""`install` re-reads the index for a pylock.toml as for a requirements.txt lock: a file yanked
(or a project quarantined) after locking is refused the same way, whichever lock format; the
policy's ``yanked`` table allows an ``==`` pin with a reason; min-release-age exemptions and a
lock's ``--allow-fresh`` record hold at install time too."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.errors import IntegrityError, PolicyError
from safeinstall.frozen import replace
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.index.fetch import Artifact
from safeinstall.install.plan import Candidate, choose, from_page, from_pylock
from safeinstall.lock.model import LockedFile, LockedPackage
from safeinstall.policy.model import PackageRule, Policy
from safeinstall.targets import target_for
from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import locked, write_locks, write_policy

Cli = Callable[..., Result]
NAME = canonicalize_name("lib")
V = Version("1.0")
WHEEL = "lib-1.0-py3-none-any.whl"
SHA = "a" * 64
URL = f"https://files.example.com/{WHEEL}"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
FRESH = NOW - timedelta(hours=1)
LINUX = target_for("3.12", "linux")
WEEK = Policy(min_release_age=timedelta(days=7))
PKG = LockedPackage(NAME, V, (LockedFile(SHA, WHEEL, URL),), index_name="corp")


def page(
    status: str = "active", reason: str | None = None, yanked: str | None = None
) -> ProjectPage:
    file = DistFile(NAME, V, WHEEL, URL, "corp", "wheel", {"sha256": SHA}, yanked=yanked)
    listing = ProjectPage(NAME, "corp", [file])
    listing.status, listing.status_reason = status, reason
    return listing


def test_a_quarantined_project_is_refused_at_install() -> None:
    with pytest.raises(PolicyError, match="index 'corp' marks lib quarantined: malware"):
        from_page(PKG, page("quarantined", "malware"), Policy())
    allowing = Policy(project_status=(("quarantined", "allow"),))
    assert from_page(PKG, page("quarantined"), allowing)[0].warning is None


def test_an_archived_project_installs_with_a_warning() -> None:
    (cand,) = from_page(PKG, page("archived", "moved"), Policy())
    assert (
        cand.warning
        == "index 'corp' marks lib archived: moved (the policy's project-status warns on it)"
    )


def test_a_pylock_entry_is_judged_by_the_listing_too() -> None:
    allowed = {URL}.__contains__
    (cand,) = from_pylock(PKG, Policy(), allowed, page(yanked="broken"))
    assert (cand.yanked, cand.artifact.url, cand.index) == ("broken", URL, "corp")
    with pytest.raises(PolicyError, match="yanked on its index: broken"):
        choose(PKG, [cand], LINUX, Policy())
    pinned = Policy(yanked=((PackageRule("lib==1.0", "lib"), "we need it"),))
    assert choose(PKG, [cand], LINUX, pinned).sha256 == SHA
    with pytest.raises(PolicyError, match="marks lib quarantined"):
        from_pylock(PKG, Policy(), allowed, page("quarantined"))
    gone = replace(PKG, files=(LockedFile("b" * 64, WHEEL, URL),))
    with pytest.raises(IntegrityError, match="lists no file with the locked hash"):
        from_pylock(gone, Policy(), allowed, page())


def fresh(index: str | None = None) -> list[Candidate]:
    return [Candidate(Artifact(NAME, V, WHEEL, SHA), upload_time=FRESH, index=index)]


def test_min_release_age_exemptions_hold_at_install() -> None:
    with pytest.raises(PolicyError, match="newer than the policy's min-release-age"):
        choose(PKG, fresh(), LINUX, WEEK, now=NOW)
    by_name = replace(WEEK, cooldown_exempt=("lib",))
    assert choose(PKG, fresh(), LINUX, by_name, now=NOW).sha256 == SHA
    by_index = replace(WEEK, cooldown_exempt_indexes=("corp",))
    assert choose(PKG, fresh(), LINUX, by_index, now=NOW).sha256 == SHA  # the lock's index
    with pytest.raises(PolicyError, match="newer than"):
        choose(replace(PKG, index_name=None), fresh("other"), LINUX, by_index, now=NOW)
    assert choose(replace(PKG, index_name=None), fresh("corp"), LINUX, by_index, now=NOW)


def test_a_lock_that_records_allow_fresh_installs_the_fresh_file() -> None:
    let_in = replace(PKG, allow_fresh="CVE-2026-1234 fix (by alice)")
    assert choose(let_in, fresh(), LINUX, WEEK, now=NOW).sha256 == SHA


# -- real locks over the loopback index, real pip into --target ----------------------------------


def install(cli: Cli, policy: Path, lock: Path, target: Path) -> Result:
    args = ("install", "--policy", policy, "-r", lock, "--python", sys.executable)
    return cli(*args, "--target", target)


@pytest.mark.slow
@pytest.mark.parametrize("lock_format", ["requirements.txt", "pylock.toml"])
def test_a_file_yanked_after_locking_is_refused_whichever_the_format(
    cli: Cli, index_server: IndexServer, tmp_path: Path, lock_format: str
) -> None:
    pkg = locked(index_server, build_wheel(tmp_path / "d", "lib", "1.0"))
    policy = write_policy(tmp_path / "policy.toml", index_server.index_url("a"))
    txt, toml = write_locks(tmp_path / "lock", [pkg])
    lock = txt if lock_format == "requirements.txt" else toml
    index_server.yank("a", pkg.files[0].filename, "data loss bug")
    result = install(cli, policy, lock, tmp_path / "t")
    assert result.code == 1, result.err
    assert "lib==1.0 is yanked on its index: data loss bug" in result.err
    assert not list((tmp_path / "t").glob("lib*"))
    policy.write_text(policy.read_text() + '[yanked]\n"lib==1.0" = "only the CLI is affected"\n')
    result = install(cli, policy, lock, tmp_path / "t")
    assert result.code == 0, result.err
    assert list((tmp_path / "t").glob("lib-1.0.dist-info"))


@pytest.mark.slow
@pytest.mark.parametrize("lock_format", ["requirements.txt", "pylock.toml"])
def test_a_project_quarantined_after_locking_is_not_installed(
    cli: Cli, index_server: IndexServer, tmp_path: Path, lock_format: str
) -> None:
    pkg = locked(index_server, build_wheel(tmp_path / "d", "lib", "1.0"))
    policy = write_policy(tmp_path / "policy.toml", index_server.index_url("a"))
    txt, toml = write_locks(tmp_path / "lock", [pkg])
    index_server.set_status("a", "lib", "quarantined", "\x1b[31mmalware\x1b[0m")
    result = install(
        cli, policy, txt if lock_format == "requirements.txt" else toml, tmp_path / "t"
    )
    assert result.code == 1, result.err
    assert "index 'a' marks lib quarantined: [31mmalware[0m, which the policy denies" in result.err
    assert "\x1b[31m" not in result.err
    assert not list((tmp_path / "t").glob("lib*"))
