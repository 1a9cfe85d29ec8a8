"""The artifact store and parallel fetch: verified on write and on every read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.errors import IndexServerError, IntegrityError
from safeinstall.index.fetch import Artifact, Store, check_filename, fetch_all, parse_filename
from safeinstall.net.http import Http
from safeinstall.policy.hosts import HostPolicy
from safeinstall.policy.model import IndexSpec
from tests.support.builders import build_wheel
from tests.support.indexserver import IndexServer


def served(server: IndexServer, tmp_path: Path, name: str = "alpha-one") -> Artifact:
    wheel = build_wheel(tmp_path / "dists", name, "1.0")
    server.add("a", wheel)
    data = wheel.read_bytes()
    return Artifact(
        canonicalize_name(name),
        Version("1.0"),
        wheel.name,
        hashlib.sha256(data).hexdigest(),
        server.file_url("a", wheel.name),
        len(data),
    )


def http_for(server: IndexServer) -> Http:
    return Http(allowed=HostPolicy([IndexSpec("a", server.index_url("a"))]), backoff=0.01)


def test_download_is_stored_under_its_hash_and_reused(
    index_server: IndexServer, tmp_path: Path
) -> None:
    art = served(index_server, tmp_path)
    store = Store(tmp_path / "cache")
    seen: list[tuple[int, int, int, int]] = []
    with http_for(index_server) as http:
        paths = fetch_all([art], store, http, progress=lambda *a: seen.append(a))
        assert paths[art.sha256] == store.root / art.sha256
        fetch_all([art], store, http)
    assert len(index_server.requests_for(f"/a/files/{art.filename}")) == 1
    assert seen[-1] == (1, 1, art.size, art.size)
    assert store.name_of(art.sha256) == art.filename
    assert (store.root.stat().st_mode & 0o777) == 0o700


def test_bit_flipped_entry_is_dropped_and_fetched_again(
    index_server: IndexServer, tmp_path: Path
) -> None:
    art = served(index_server, tmp_path)
    store = Store(tmp_path / "cache")
    with http_for(index_server) as http:
        fetch_all([art], store, http)
        entry = store.root / art.sha256
        data = bytearray(entry.read_bytes())
        data[7] ^= 0x01
        entry.write_bytes(bytes(data))
        assert store.get(art.sha256) is None
        assert not entry.exists()
        fetch_all([art], store, http)
    assert hashlib.sha256(entry.read_bytes()).hexdigest() == art.sha256
    assert len(index_server.requests_for(f"/a/files/{art.filename}")) == 2


def test_swapped_entry_is_refused_offline(index_server: IndexServer, tmp_path: Path) -> None:
    art = served(index_server, tmp_path)
    store = Store(tmp_path / "cache")
    (store.root / art.sha256).write_bytes(b"other bytes")
    with pytest.raises(IntegrityError, match="not available offline"):
        fetch_all([art], store, None)


def test_hash_mismatch_leaves_no_entry(index_server: IndexServer, tmp_path: Path) -> None:
    art = served(index_server, tmp_path)
    index_server.misbehave("/a/files/*", tamper=True)
    store = Store(tmp_path / "cache")
    with http_for(index_server) as http, pytest.raises(IntegrityError, match="locked hash"):
        fetch_all([art], store, http)
    assert list(store.root.iterdir()) == []


def test_size_from_the_lock_is_enforced(index_server: IndexServer, tmp_path: Path) -> None:
    art = served(index_server, tmp_path)
    wrong = Artifact(art.name, art.version, art.filename, art.sha256, art.url, (art.size or 0) + 1)
    with http_for(index_server) as http, pytest.raises(IndexServerError, match="were expected"):
        fetch_all([wrong], Store(tmp_path / "cache"), http)


def test_a_retried_download_hashes_only_the_final_bytes(
    index_server: IndexServer, tmp_path: Path
) -> None:
    art = served(index_server, tmp_path)
    index_server.misbehave("/a/files/*", times=2, reset_after=100)
    with http_for(index_server) as http:
        paths = fetch_all([art], Store(tmp_path / "cache"), http)
    assert hashlib.sha256(paths[art.sha256].read_bytes()).hexdigest() == art.sha256


def test_all_failures_are_counted(index_server: IndexServer, tmp_path: Path) -> None:
    arts = [served(index_server, tmp_path, n) for n in ("alpha-one", "beta-two", "gamma-three")]
    index_server.misbehave("/a/files/*", tamper=True)
    with http_for(index_server) as http, pytest.raises(IntegrityError) as caught:
        fetch_all(arts, Store(tmp_path / "cache"), http)
    assert caught.value.hint is not None
    assert "2 other files also failed" in caught.value.hint


def test_local_file_is_rehashed(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "alpha-one", "1.0")
    art = Artifact(canonicalize_name("alpha-one"), Version("1.0"), wheel.name, "0" * 64, path=wheel)
    with pytest.raises(IntegrityError, match="does not match its locked hash"):
        fetch_all([art], Store(tmp_path / "cache"), None)


@pytest.mark.parametrize(
    ("filename", "ok"),
    [
        ("alpha_one-1.0-py3-none-any.whl", True),
        ("alpha_one-1.0.tar.gz", True),
        ("../alpha_one-1.0-py3-none-any.whl", False),
        ("alpha_one-1.0-py3-none-any.whl/x", False),
        (".alpha_one-1.0-py3-none-any.whl", False),
        ("beta_two-1.0-py3-none-any.whl", False),
        ("alpha_one-2.0-py3-none-any.whl", False),
    ],
)
def test_file_names_must_be_plain_and_of_the_package(filename: str, ok: bool) -> None:
    assert check_filename(filename, "alpha-one", Version("1.0")) is ok


def test_parse_filename_rejects_non_distributions() -> None:
    assert parse_filename("setup.py") is None
