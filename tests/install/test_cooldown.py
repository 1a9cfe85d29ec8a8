"""``install`` applies min-release-age again, per file, with the resolver's own rule.

A lock made by an older safeinstall, or without the policy, or edited, can pin a file uploaded
an hour ago (a new wheel added to an old release, as in the ultralytics and litellm incidents).
The upload time comes from the lock (pylock.toml), else from the index page, else from the record
``safeinstall download`` keeps in its wheelhouse; a file whose upload time nothing tells is
refused while the policy sets min-release-age.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.errors import PolicyError
from safeinstall.index.fetch import Artifact
from safeinstall.install import plan
from safeinstall.install.plan import UPLOAD_TIMES, Candidate, choose
from safeinstall.lock.model import LockedFile, LockedPackage
from safeinstall.policy.model import Policy
from safeinstall.resolve import candidates
from safeinstall.targets import target_for
from tests.support.builders import build_wheel, sha256_hex
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import write_locks, write_policy

Cli = Callable[..., Result]
Served = tuple[LockedPackage, LockedPackage, Path]
HOUR, YEAR = timedelta(hours=1), timedelta(days=365)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
FRESH = NOW - timedelta(hours=1)
WEEK = Policy(min_release_age=timedelta(days=7))
LINUX = target_for("3.12", "linux")
NAME = canonicalize_name("lib")
PKG = LockedPackage(NAME, Version("1.0"), ())
ANY = "lib-1.0-py3-none-any.whl"
MANYLINUX = "lib-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"


def cand(filename: str, sha: str, uploaded: datetime | None) -> Candidate:
    return Candidate(Artifact(NAME, Version("1.0"), filename, sha * 64), upload_time=uploaded)


def test_the_install_uses_the_resolvers_rule_itself() -> None:
    # plan imports these names without re-exporting them: read them from its namespace
    assert vars(plan)["old_enough"] is candidates.old_enough
    assert vars(plan)["release_cutoff"] is candidates.release_cutoff


def test_a_fresh_file_is_never_chosen_an_old_one_of_the_release_is() -> None:
    files = [cand(MANYLINUX, "a", FRESH), cand(ANY, "b", OLD)]
    assert choose(PKG, files, LINUX, WEEK, now=NOW).filename == ANY
    assert choose(PKG, files, LINUX, Policy(), now=NOW).filename == MANYLINUX  # no window


def test_a_release_whose_fitting_file_is_fresh_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"uploaded 2026-05-31 23:00 UTC, newer than .* 7 days"):
        choose(PKG, [cand(MANYLINUX, "a", FRESH)], LINUX, WEEK, now=NOW)


def test_a_file_of_unknown_age_is_refused_while_the_policy_sets_a_window() -> None:
    with pytest.raises(PolicyError, match=r"cannot apply min-release-age to lib==1\.0"):
        choose(PKG, [cand(ANY, "a", None)], LINUX, WEEK, now=NOW)
    assert choose(PKG, [cand(ANY, "a", None)], LINUX, Policy(), now=NOW).filename == ANY


def test_a_fresh_file_that_would_not_fit_anyway_says_so() -> None:
    win = "lib-1.0-cp312-cp312-win_amd64.whl"
    with pytest.raises(PolicyError, match=r"no locked file of lib==1\.0 fits"):
        choose(PKG, [cand(win, "a", FRESH)], LINUX, WEEK, now=NOW)


# -- real locks over the loopback index, real pip into --target ----------------------------------


def pin(server: IndexServer, wheel: Path, uploaded: datetime) -> LockedPackage:
    """List ``wheel`` on index ``a`` as uploaded at ``uploaded``; its locked entry (the lock
    records no upload time, as a requirements.txt lock cannot)."""
    server.add("a", wheel, upload_time=uploaded)
    name, version = wheel.name.split("-")[:2]
    data = wheel.read_bytes()
    file = LockedFile(sha256_hex(data), wheel.name, server.file_url("a", wheel.name), len(data))
    index_url = server.index_url("a").rstrip("/")
    return LockedPackage(
        canonicalize_name(name), Version(version), (file,), index_name="a", index_url=index_url
    )


@pytest.fixture
def served(index_server: IndexServer, tmp_path: Path) -> tuple[LockedPackage, LockedPackage, Path]:
    """``fresh-one``, whose only wheel was uploaded an hour ago, ``old-one``, uploaded a year
    ago, and a policy with a 7-day window."""
    now = datetime.now(UTC)
    fresh = pin(index_server, build_wheel(tmp_path / "d", "fresh-one", "1.0"), now - HOUR)
    old = pin(index_server, build_wheel(tmp_path / "d", "old-one", "1.0"), now - YEAR)
    policy = write_policy(tmp_path / "policy.toml", index_server.index_url("a"))
    policy.write_text(policy.read_text() + 'min-release-age = "7 days"\n')
    return fresh, old, policy


def install(cli: Cli, policy: Path, lock: Path, target: Path, *extra: str | Path) -> Result:
    args = ("install", "--policy", policy, "-r", lock, "--python", sys.executable)
    return cli(*args, "--target", target, *extra)


@pytest.mark.slow
def test_a_requirements_lock_pinning_a_fresh_file_does_not_install(
    cli: Cli, served: Served, tmp_path: Path
) -> None:
    fresh, old, policy = served
    txt, _ = write_locks(tmp_path / "lock", [fresh, old])
    result = install(cli, policy, txt, tmp_path / "t")
    assert result.code == 1, result.err
    assert "fresh-one==1.0: its locked file fresh_one-1.0-py3-none-any.whl was uploaded" in (
        result.err
    )
    assert "min-release-age of 7 days" in result.err
    assert not list((tmp_path / "t").glob("*_one*"))
    policy.write_text(policy.read_text().replace('"7 days"', '"0 days"'))
    assert install(cli, policy, txt, tmp_path / "t").code == 0  # the window alone refused it


@pytest.mark.slow
def test_a_pylock_pinning_a_fresh_file_does_not_install(
    cli: Cli, served: Served, tmp_path: Path
) -> None:
    """The upload time comes from the lock where it records one, else from the index page."""
    fresh, old, policy = served
    _, toml = write_locks(tmp_path / "lock", [fresh, old])
    assert "upload-time" not in toml.read_text()
    result = install(cli, policy, toml, tmp_path / "t")
    assert result.code == 1, result.err
    assert "fresh_one-1.0-py3-none-any.whl was uploaded" in result.err  # the page said so
    # the lock's own upload time counts: old-one's page says a year ago, its lock entry today
    _, toml = write_locks(tmp_path / "lock2", [old])
    stamp = f"upload-time = {datetime.now(UTC).isoformat()}\n"
    toml.write_text(toml.read_text().replace('url = "', stamp + 'url = "', 1))
    result = install(cli, policy, toml, tmp_path / "t")
    assert result.code == 1, result.err
    assert "old_one-1.0-py3-none-any.whl was uploaded" in result.err
    _, toml = write_locks(tmp_path / "lock3", [old])
    assert install(cli, policy, toml, tmp_path / "t").code == 0


@pytest.mark.slow
def test_download_refuses_a_fresh_file_and_an_offline_install_rechecks_its_record(
    cli: Cli, served: Served, index_server: IndexServer, tmp_path: Path
) -> None:
    fresh, old, policy = served
    both, _ = write_locks(tmp_path / "both", [fresh, old])
    txt, _ = write_locks(tmp_path / "old", [old])
    wheels = tmp_path / "wheels"
    args = ("--policy", policy, "-d", wheels, "--python", sys.executable)
    refused = cli("download", both, *args)
    assert refused.code == 1
    assert "fresh_one-1.0-py3-none-any.whl was uploaded" in refused.err
    down = cli("download", txt, *args)
    assert down.code == 0, down.err
    assert list(json.loads((wheels / UPLOAD_TIMES).read_text())) == [old.hashes[0]]
    index_server.stop()
    offline = ("--offline", "--find-links", wheels)
    result = install(cli, policy, txt, tmp_path / "t", *offline)
    assert result.code == 0, result.err
    assert list((tmp_path / "t").glob("old_one-1.0.dist-info"))
    # a wheelhouse that does not say when its files were uploaded: refused offline
    (wheels / UPLOAD_TIMES).unlink()
    result = install(cli, policy, txt, tmp_path / "t2", *offline)
    assert result.code == 1
    assert "cannot apply min-release-age to old-one==1.0" in result.err
    assert not list((tmp_path / "t2").glob("old_one*"))
