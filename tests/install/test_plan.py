"""Choosing the file to install: tags, sdists, yanked files, untrusted hosts, unlisted hashes."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.errors import IntegrityError, PolicyError
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.index.fetch import Artifact
from safeinstall.install.plan import Candidate, choose, from_page, from_pylock
from safeinstall.lock.model import LockedFile, LockedPackage
from safeinstall.policy.hosts import HostPolicy
from safeinstall.policy.model import IndexSpec, PackageRule, Policy
from safeinstall.policy.pipconfig import trusted_indexes
from safeinstall.targets import target_for

NAME = canonicalize_name("native-pkg")
V = Version("1.0")
LINUX = target_for("3.12", "linux")
INDEX = IndexSpec("a", "https://pkgs.example.com/simple")


def cand(filename: str, sha: str, yanked: str | None = None) -> Candidate:
    return Candidate(Artifact(NAME, V, filename, sha * 64), yanked)


PKG = LockedPackage(NAME, V, ())
WHEELS = [
    cand("native_pkg-1.0-py3-none-any.whl", "a"),
    cand("native_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "b"),
    cand("native_pkg-1.0-cp312-cp312-win_amd64.whl", "c"),
]


def test_most_preferred_tag_wins() -> None:
    assert choose(PKG, WHEELS, LINUX, Policy()).sha256 == "b" * 64


def test_no_fitting_wheel_is_an_error() -> None:
    with pytest.raises(PolicyError, match=r"no locked file of native-pkg==1\.0 fits"):
        choose(PKG, WHEELS[2:], LINUX, Policy())


def test_sdist_only_where_the_policy_allows_building() -> None:
    sdist = [cand("native_pkg-1.0.tar.gz", "d")]
    with pytest.raises(PolicyError, match="does not allow building"):
        choose(PKG, sdist, LINUX, Policy())
    assert choose(PKG, sdist, LINUX, Policy(sdists=("native-*",))).sha256 == "d" * 64


def test_yanked_needs_a_reason_in_the_policy() -> None:
    yanked = [cand("native_pkg-1.0-py3-none-any.whl", "a", yanked="broken")]
    with pytest.raises(PolicyError, match="yanked on its index: broken"):
        choose(PKG, yanked, LINUX, Policy())
    allowed = Policy(yanked=((PackageRule("native-pkg==1.0", "native-pkg"), "we need it"),))
    assert choose(PKG, yanked, LINUX, allowed).sha256 == "a" * 64


def test_hash_of_another_version_is_refused() -> None:
    other = [cand("native_pkg-2.0-py3-none-any.whl", "a")]
    with pytest.raises(IntegrityError, match="not a file of that version"):
        choose(PKG, other, LINUX, Policy())


def page(*files: tuple[str, str]) -> ProjectPage:
    return ProjectPage(
        NAME,
        "a",
        tuple(
            DistFile(NAME, V, f, f"https://pkgs.example.com/f/{f}", "a", "wheel", {"sha256": s})
            for f, s in files
        ),
    )


def test_page_must_list_every_locked_hash() -> None:
    pkg = LockedPackage(NAME, V, (LockedFile("a" * 64), LockedFile("f" * 64)))
    listing = page(("native_pkg-1.0-py3-none-any.whl", "a" * 64))
    with pytest.raises(
        IntegrityError, match=f"lists no file with the locked hash sha256:{'f' * 64}"
    ):
        from_page(pkg, listing)


def test_page_files_not_in_the_lock_are_ignored() -> None:
    pkg = LockedPackage(NAME, V, (LockedFile("a" * 64),))
    listing = page(
        ("native_pkg-1.0-py3-none-any.whl", "a" * 64), ("evil-1.0-py3-none-any.whl", "9" * 64)
    )
    assert [c.artifact.filename for c in from_page(pkg, listing)] == [
        "native_pkg-1.0-py3-none-any.whl"
    ]


def test_pylock_file_on_an_untrusted_host_is_refused() -> None:
    policy = Policy(indexes=(INDEX,))
    file = LockedFile("a" * 64, "native_pkg-1.0-py3-none-any.whl", "https://evil.example.org/x.whl")
    pkg = LockedPackage(NAME, V, (file,), index_url=INDEX.url)
    with pytest.raises(PolicyError, match="a location the policy does not trust"):
        from_pylock(pkg, policy, HostPolicy(trusted_indexes(policy)))


def test_pylock_package_from_an_untrusted_index_is_refused() -> None:
    policy = Policy(indexes=(INDEX,))
    pkg = LockedPackage(NAME, V, (), index_url="https://evil.example.org/simple")
    with pytest.raises(PolicyError, match="not a trusted index"):
        from_pylock(pkg, policy, HostPolicy(trusted_indexes(policy)))
