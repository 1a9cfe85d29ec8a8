"""Local sources in the trust: ``file://`` indexes and find-links folders, from the policy or
(the built-in default) from pip's configuration, and the host rule for their files."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeinstall.policy.hosts import HostPolicy, index_allows, local_tree
from safeinstall.policy.load import load_policy
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.policy.pipconfig import configured_indexes, trusted_indexes

TREE = IndexSpec("local", "file:///srv/pypi/simple")
FOLDER = IndexSpec("links", "file:///srv/wheels", flat=True)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("file:///srv/pypi/simple/alpha/index.html", True),
        ("file:///srv/pypi/files/alpha-1.0-py3-none-any.whl", True),  # beside simple/
        ("file://localhost/srv/pypi/files/a.whl", True),
        ("file:///srv/pypi/simple/../../etc/passwd", False),
        ("file:///srv/pypi%2F..%2F..%2Fetc/passwd", False),
        ("file:///srv/pypi-evil/a.whl", False),  # a sibling that shares the prefix
        ("file:///etc/passwd", False),
        ("file://fileserver/srv/pypi/files/a.whl", False),  # a remote share is not a local tree
        ("https://srv.example.com/srv/pypi/files/a.whl", False),
    ],
)
def test_a_local_index_serves_its_tree_only(url: str, allowed: bool) -> None:
    assert index_allows(TREE, url) is allowed


def test_the_tree_of_a_folder_is_the_folder() -> None:
    assert local_tree(FOLDER) == "/srv/wheels"
    assert local_tree(IndexSpec("l", "file:///srv/index")) == "/srv/index"
    assert not index_allows(FOLDER, "file:///srv/a.whl")


def test_a_web_index_never_allows_a_local_file() -> None:
    web = IndexSpec("web", "http://127.0.0.1:8080/simple")
    assert not HostPolicy([web])("file:///srv/pypi/files/a.whl")
    assert not HostPolicy([TREE])("http://127.0.0.1:8080/simple/a/")


def test_a_symlink_out_of_the_tree_is_outside(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "a.whl").symlink_to("/etc/passwd")
    (tmp_path / "wheels" / "b.whl").write_bytes(b"")
    folder = IndexSpec("links", (tmp_path / "wheels").as_uri(), flat=True)
    assert index_allows(folder, (tmp_path / "wheels" / "b.whl").as_uri())
    assert not index_allows(folder, (tmp_path / "wheels" / "a.whl").as_uri())


def test_a_tree_reached_through_a_symlinked_root_still_serves(tmp_path: Path) -> None:
    (tmp_path / "real" / "files").mkdir(parents=True)
    (tmp_path / "real" / "files" / "a.whl").write_bytes(b"")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    tree = IndexSpec("local", (tmp_path / "link" / "simple").as_uri())
    assert index_allows(tree, (tmp_path / "link" / "files" / "a.whl").as_uri())


def test_pip_configuration_with_file_indexes_and_find_links_is_the_default_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This machine's own setup, in a configuration file the test writes."""
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\n"
        "index-url = https://main.example.com/simple\n"
        "extra-index-url = file:///opt/pypi/simple file:///opt/pypi-more/simple/\n"
        "find-links = /opt/wheels\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_FIND_LINKS", f"/opt/wheels {tmp_path}/more https://h.example/links/")
    monkeypatch.chdir(tmp_path)
    assert trusted_indexes(Policy()) == (
        IndexSpec("pip-find-links-1", "file:///opt/wheels", flat=True),
        IndexSpec("pip-find-links-2", (tmp_path / "more").as_uri(), flat=True),
        IndexSpec("pip-extra-1", "file:///opt/pypi/simple"),
        IndexSpec("pip-extra-2", "file:///opt/pypi-more/simple"),
        IndexSpec("pip-index", "https://main.example.com/simple"),
    )


def test_find_links_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nfind-links = wheels\nno-index = true\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.chdir(tmp_path)
    assert configured_indexes() == ()
    assert trusted_indexes(Policy()) == (
        IndexSpec("pip-find-links-1", (tmp_path / "wheels").as_uri(), flat=True),
    )


def test_policy_find_links_folders_are_sources_first(tmp_path: Path) -> None:
    (tmp_path / "safeinstall.toml").write_text(
        'find-links = ["wheels", "file:///opt/wheels", "https://h.example/links/"]\n'
        'indexes = [{ name = "local", url = "file:///srv/pypi/simple" }]\n'
    )
    policy = load_policy(str(tmp_path / "safeinstall.toml"), environ={})
    assert trusted_indexes(policy) == (
        IndexSpec("find-links-1", (tmp_path / "wheels").as_uri(), flat=True),
        IndexSpec("find-links-2", "file:///opt/wheels", flat=True),
        IndexSpec("local", "file:///srv/pypi/simple"),
    )


def test_a_policy_without_find_links_adds_no_folder() -> None:
    policy = Policy(source="/p/safeinstall.toml", indexes=(TREE,))
    assert trusted_indexes(policy) == (TREE,)
