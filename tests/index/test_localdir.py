"""Local indexes (a ``file://`` PEP 503 tree) and find-links folders, read through the real Http
and IndexClient: what a hostile or careless directory can and cannot make safeinstall read."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeinstall.errors import IndexServerError, IntegrityError, PolicyError, ResolutionError
from safeinstall.index.client import IndexClient
from safeinstall.net.http import Http
from safeinstall.policy.hosts import HostPolicy
from safeinstall.policy.model import IndexSpec
from tests.support.builders import build_wheel, file_sha256


def make_tree(root: Path, *wheels: Path, fragments: bool = True) -> str:
    """``root/simple/NAME/index.html`` pointing at ``root/files/...`` (this machine's layout)."""
    for wheel in wheels:
        name = wheel.name.split("-")[0].replace("_", "-").lower()
        project = root / "simple" / name
        project.mkdir(parents=True, exist_ok=True)
        fragment = f"#sha256={file_sha256(wheel)}" if fragments else ""
        with (project / "index.html").open("a") as page:
            page.write(f'<a href="../../files/{wheel.name}{fragment}">{wheel.name}</a>\n')
    return (root / "simple").as_uri()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path / "idx" / "files"


def reading(*indexes: IndexSpec) -> Iterator[IndexClient]:
    with Http(allowed=HostPolicy(indexes)) as http:
        yield IndexClient(indexes, http, cache_dir=None)


def versions(index: IndexSpec, name: str) -> list[str]:
    for client in reading(index):
        return [str(f.version) for f in client.project(name).files]
    raise AssertionError


def test_a_tree_index_lists_its_files_with_hashes_of_their_bytes(files: Path) -> None:
    wheel = build_wheel(files, "alpha", "1.0")
    index = IndexSpec("local", make_tree(files.parent, wheel, fragments=False))
    for client in reading(index):
        (found,) = client.project("Alpha").files
        assert found.sha256 == file_sha256(wheel)
        assert found.size == wheel.stat().st_size
        assert found.url == wheel.as_uri()


def test_a_fragment_that_lies_about_the_bytes_is_an_error(files: Path) -> None:
    wheel = build_wheel(files, "alpha", "1.0")
    url = make_tree(files.parent, wheel)
    page = files.parent / "simple" / "alpha" / "index.html"
    page.write_text(page.read_text().replace(file_sha256(wheel), "0" * 64))
    with pytest.raises(IntegrityError, match="does not match the sha256"):
        versions(IndexSpec("local", url), "alpha")


def test_a_symlink_to_etc_passwd_is_refused(files: Path) -> None:
    url = make_tree(files.parent, build_wheel(files, "alpha", "1.0"))
    (files / "alpha-2.0-py3-none-any.whl").symlink_to("/etc/passwd")
    page = files.parent / "simple" / "alpha" / "index.html"
    page.write_text(
        page.read_text()
        + '<a href="../../files/alpha-2.0-py3-none-any.whl">alpha-2.0-py3-none-any.whl</a>'
    )
    with pytest.raises(PolicyError, match="outside its tree, to /etc/passwd"):
        versions(IndexSpec("local", url), "alpha")


def test_a_symlink_out_of_the_tree_is_refused_in_a_listing_without_index_html(
    tmp_path: Path, files: Path
) -> None:
    outside = build_wheel(tmp_path / "elsewhere", "alpha", "9.0")
    project = files.parent / "simple" / "alpha"
    project.mkdir(parents=True)
    build_wheel(project, "alpha", "1.0")
    (project / outside.name).symlink_to(outside)
    with pytest.raises(PolicyError, match=f"outside its tree, to {outside}"):
        versions(IndexSpec("local", (files.parent / "simple").as_uri()), "alpha")


def test_a_project_directory_linked_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    build_wheel(tmp_path / "elsewhere", "alpha", "9.0")
    (tmp_path / "idx" / "simple").mkdir(parents=True)
    (tmp_path / "idx" / "simple" / "alpha").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(IndexServerError, match="outside the trusted directory"):
        versions(IndexSpec("local", (tmp_path / "idx" / "simple").as_uri()), "alpha")


def test_an_index_page_linked_out_of_the_tree_is_refused(tmp_path: Path, files: Path) -> None:
    url = make_tree(files.parent, build_wheel(files, "alpha", "1.0"))
    page = files.parent / "simple" / "alpha" / "index.html"
    planted = tmp_path / "planted.html"
    planted.write_text(page.read_text())
    page.unlink()
    page.symlink_to(planted)
    with pytest.raises(IndexServerError, match="outside the trusted directory"):
        versions(IndexSpec("local", url), "alpha")


def test_a_link_climbing_out_of_the_tree_is_refused(tmp_path: Path, files: Path) -> None:
    url = make_tree(files.parent, build_wheel(files, "alpha", "1.0"))
    build_wheel(tmp_path, "alpha", "9.0")
    page = files.parent / "simple" / "alpha" / "index.html"
    page.write_text('<a href="../../../alpha-9.0-py3-none-any.whl">alpha-9.0-py3-none-any.whl</a>')
    with pytest.raises(PolicyError, match="outside its tree"):
        versions(IndexSpec("local", url), "alpha")


def test_only_the_normalized_project_directory_is_read(files: Path) -> None:
    url = make_tree(files.parent, build_wheel(files, "alpha", "1.0"))
    hostile = files.parent / "simple" / "Alpha"
    hostile.mkdir()
    build_wheel(hostile, "alpha", "9.0")
    assert versions(IndexSpec("local", url), "ALPHA") == ["1.0"]


def test_a_project_directory_not_named_as_normalized_is_not_found(files: Path) -> None:
    (files.parent / "simple" / "Beta_Two").mkdir(parents=True)
    build_wheel(files.parent / "simple" / "Beta_Two", "beta-two", "1.0")
    with pytest.raises(ResolutionError, match="not found"):
        versions(IndexSpec("local", (files.parent / "simple").as_uri()), "beta-two")


def test_a_find_links_folder_serves_the_files_of_the_project_asked_for(tmp_path: Path) -> None:
    folder = tmp_path / "wheels"
    build_wheel(folder, "alpha", "1.0")
    build_wheel(folder, "alpha", "2.0")
    build_wheel(folder, "beta", "1.0")
    index = IndexSpec("links", folder.as_uri(), flat=True)
    assert versions(index, "alpha") == ["1.0", "2.0"]


def test_a_find_links_folder_without_the_project_moves_on_to_the_next_index(
    tmp_path: Path, files: Path
) -> None:
    folder = tmp_path / "wheels"
    build_wheel(folder, "beta", "1.0")
    url = make_tree(files.parent, build_wheel(files, "alpha", "1.0"))
    links = IndexSpec("links", folder.as_uri(), flat=True)
    for client in reading(links, IndexSpec("local", url)):
        assert client.project("alpha").index == "local"
        assert client.project("beta").index == "links"


def test_a_file_url_outside_every_trusted_tree_is_refused(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "a", "alpha", "1.0")
    with Http(allowed=HostPolicy([IndexSpec("l", (tmp_path / "b").as_uri())])) as http:
        with pytest.raises(IndexServerError, match="does not trust this location"):
            http.get(wheel.as_uri())
        with pytest.raises(IndexServerError, match="does not trust this location"):
            http.stream(wheel.as_uri(), io.BytesIO(), max_bytes=1 << 20)


def test_a_local_file_is_read_within_the_size_limit(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "alpha", "1.0")
    size = wheel.stat().st_size
    with Http(allowed=HostPolicy([IndexSpec("l", wheel.parent.as_uri(), flat=True)])) as http:
        with pytest.raises(IndexServerError, match="larger than"):
            http.get(wheel.as_uri(), max_bytes=size - 1)
        with pytest.raises(IntegrityError, match="not the 1 the lock records"):
            http.stream(wheel.as_uri(), io.BytesIO(), max_bytes=size, expected_size=1)
        tail = http.get(wheel.as_uri(), headers={"Range": "bytes=-10"})
        assert tail.status == 206 and tail.body == wheel.read_bytes()[-10:]
        assert tail.headers["content-range"] == f"bytes {size - 10}-{size - 1}/{size}"
        sink = io.BytesIO()
        http.stream(wheel.as_uri(), sink, max_bytes=size, expected_size=size)
        assert sink.getvalue() == wheel.read_bytes()
        assert http.get((wheel.parent / "absent.whl").as_uri()).status == 404


def test_a_fifo_in_the_tree_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    os.mkfifo(folder / "alpha-1.0-py3-none-any.whl")
    allowed = HostPolicy([IndexSpec("l", folder.as_uri(), flat=True)])
    with Http(allowed=allowed) as http, pytest.raises(IndexServerError, match="not a regular"):
        http.get((folder / "alpha-1.0-py3-none-any.whl").as_uri())
