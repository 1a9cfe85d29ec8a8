"""The file filter of a lock: files no target can use are dropped by string checks before any
version or tag set is built, and the candidates stay the same (parsed anew or from the cache)."""

from __future__ import annotations

import json
import pickle
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from packaging.tags import compatible_tags, cpython_tags
from packaging.version import Version

from safeinstall.errors import IndexServerError
from safeinstall.files.cachedir import DerivedCache
from safeinstall.index.distfile import ProjectPage
from safeinstall.index.filenames import FileFilter
from safeinstall.index.pages import (
    HTML_TYPES,
    JSON_TYPE,
    built_page,
    parse_json_page,
    thin_page,
)
from safeinstall.index.pagetext import FileObjects
from safeinstall.policy.model import IndexSpec

INDEX = IndexSpec(name="corp", url="https://pkgs.example.com/simple")
PAGE = "https://pkgs.example.com/simple/demo/"
LINUX_313 = [
    *cpython_tags((3, 13), ["cp313"], ["manylinux_2_17_x86_64"]),
    *compatible_tags((3, 13), "cp313", ["manylinux_2_17_x86_64"]),
]
PLATFORMS = (
    "win_amd64",
    "win32",
    "macosx_11_0_arm64",
    "macosx_10_9_x86_64",
    "musllinux_1_1_x86_64",
    "manylinux_2_17_aarch64",
    "manylinux_2_17_x86_64",
)


def many_wheels() -> bytes:
    """Five releases, each with wheels for seven Pythons on seven platforms and an sdist; only
    the newest has a pure-Python wheel, and 1.0 has nothing for CPython 3.13."""
    files: list[dict[str, Any]] = []
    for minor, version in enumerate(("1.0", "2.0", "3.0", "4.0", "5.0")):
        pythons = range(7, 13) if version == "1.0" else range(7, 14)
        for py in pythons:
            tag = f"cp3{py}-cp3{py}"
            files += [entry(f"demo-{version}-{tag}-{platform}.whl") for platform in PLATFORMS]
        files.append(entry(f"demo-{version}.tar.gz"))
        if minor == 4:
            files.append(entry(f"demo-{version}-py3-none-any.whl"))
    files.append(entry("demo-5.0-1-cp313-cp313-manylinux_2_17_x86_64.whl"))  # a build tag
    doc = {"meta": {"api-version": "1.1"}, "name": "demo", "files": files}
    return json.dumps(doc).encode()


def entry(filename: str) -> dict[str, Any]:
    url = f"https://pkgs.example.com/files/{filename}"
    return {"filename": filename, "url": url, "hashes": {"sha256": "ab" * 32}}


def candidates(page: ProjectPage) -> dict[str, list[str]]:
    """What the resolver can pick for CPython 3.13 on manylinux x86_64, by release."""
    usable = set(LINUX_313)
    return {
        str(version): sorted(
            f.filename for f in page.files_of(version) if f.kind == "sdist" or f.tags & usable
        )
        for version in page.releases()
    }


def test_a_page_of_many_irrelevant_wheels_yields_the_same_candidates(tmp_path: Path) -> None:
    body = many_wheels()
    fits = FileFilter(LINUX_313, lambda name: True)
    everything = parse_json_page(body, page_url=PAGE, project="demo", index=INDEX)
    memo = DerivedCache(tmp_path / "parsed")
    pages = [
        parse_json_page(body, page_url=PAGE, project="demo", index=INDEX, fits=fits, memo=m)
        for m in (None, memo, memo, memo)  # parsed anew, then marked, into the cache, from it
    ]
    assert len(everything.files) == 5 * 7 * 7 - 7 + 5 + 2
    expected = candidates(everything)
    assert expected["1.0"] == ["demo-1.0.tar.gz"]
    assert expected["5.0"] == [
        "demo-5.0-1-cp313-cp313-manylinux_2_17_x86_64.whl",
        "demo-5.0-cp313-cp313-manylinux_2_17_x86_64.whl",
        "demo-5.0-py3-none-any.whl",
        "demo-5.0.tar.gz",
    ]
    for page in pages:
        assert candidates(page) == expected
        assert page.releases() == everything.releases()
        assert len(page.files) == 4 + 3 * 2 + 1  # the rest was dropped unread


def test_a_page_thinned_in_one_process_is_built_in_another_as_parsed_here(
    tmp_path: Path,
) -> None:
    """The lock's helper reads a page (``thin_page``) and sends what a lock can use of it, which
    crosses its pipe pickled and is built into the page here (``built_page``): the same page as
    parsing it here, from its own bytes or from the parsed-page cache."""
    body = many_wheels()
    fits = FileFilter(LINUX_313, lambda name: True)
    where: dict[str, Any] = {"page_url": PAGE, "project": "demo", "index": INDEX, "fits": fits}
    here = parse_json_page(body, **where)
    memo = DerivedCache(tmp_path / "parsed")
    for m in (None, memo, memo):  # parsed anew, into the cache, from it
        thin = thin_page(body, JSON_TYPE, **where, memo=m)
        assert isinstance(thin, dict)
        files = thin["files"]
        assert isinstance(files, FileObjects)
        assert len(files) == 4 + 3 * 2 + 1  # what the page keeps, no more
        assert files.text == "".join(json.dumps(f) for f in files)  # nor any other text
        crossed = pickle.loads(pickle.dumps(thin))
        assert built_page(crossed, JSON_TYPE, **where) == here


def thinned_with(name: str, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A thinned page with one more file object, named ``name``, whose text is ``text``."""
    fits = FileFilter(LINUX_313, lambda name: True)
    where: dict[str, Any] = {"page_url": PAGE, "project": "demo", "index": INDEX, "fits": fits}
    thin = thin_page(many_wheels(), JSON_TYPE, **where)
    assert isinstance(thin, dict)
    files = thin["files"]
    end = len(files.text)
    spans = (*files.spans, (end, end + len(text)))
    return {**thin, "files": FileObjects(files.text + text, (*files.names, name), spans)}, where


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (json.dumps(entry("../../demo-5.0.tar.gz")), "not a bare file name"),
        ('{"filename": "../../demo-5.0.tar.gz"', "a 'files' entry is not JSON"),
    ],
)
def test_a_thinned_page_is_checked_again_where_it_is_built(text: str, why: str) -> None:
    """What crosses the pipe is judged as a page here: a file object it holds is not let by
    because the other process read it."""
    thin, where = thinned_with("../../demo-5.0.tar.gz", text)
    with pytest.raises(IndexServerError, match=why):
        built_page(thin, JSON_TYPE, **where)


def test_a_thinned_page_whose_names_and_file_objects_do_not_match_fails() -> None:
    """One name too many: the page fails with a reason, not the lock with an IndexError."""
    thin, where = thinned_with("demo-5.0.tar.gz", json.dumps(entry("demo-5.0.tar.gz")))
    files = thin["files"]
    forged = FileObjects(files.text, (*files.names, "demo-6.0.tar.gz"), files.spans)
    with pytest.raises(IndexServerError, match="file objects and their names do not match"):
        built_page({**thin, "files": forged}, JSON_TYPE, **where)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(entry("demo-6.0.tar.gz")),  # another file than the name it crossed under
        json.dumps([entry("demo-5.0.tar.gz")]),
        '{"filename": "demo-5.0.tar.gz", ',
    ],
)
def test_a_file_object_that_is_not_the_one_named_fails_its_release(text: str) -> None:
    """A page groups files by the names that crossed with them: the text of each must be that
    file's object when its release is read, or the page fails."""
    thin, where = thinned_with("demo-5.0.tar.gz", text)
    page = built_page(thin, JSON_TYPE, **where)
    with pytest.raises(IndexServerError, match=r"'demo-5\.0\.tar\.gz' is not one for that file"):
        page.files_of(Version("5.0"))


def real_page() -> bytes:
    """30 releases of 49 wheels and an sdist, each with the fields a real index sends."""
    details = {"requires-python": ">=3.9", "size": 1_234_567, "yanked": False}
    details |= {"upload-time": "2025-06-01T12:34:56Z", "core-metadata": {"sha256": "cd" * 32}}
    files = [
        {**entry(f"demo-{v}.0-cp3{py}-cp3{py}-{platform}.whl"), **details}
        for v in range(30)
        for py in range(7, 14)
        for platform in PLATFORMS
    ]
    files += [{**entry(f"demo-{v}.0.tar.gz"), **details} for v in range(30)]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": files}).encode()


def test_a_page_holds_the_file_objects_it_keeps_not_all_it_lists(tmp_path: Path) -> None:
    """Of a page of 1,500 file objects (with the fields a real index sends) that keeps 60, the
    objects decoded at any one time take far less memory than the whole list decoded: beyond
    the page's text, less than a third of it. (Pages of 10,000 file objects are common.)"""
    body = real_page()
    fits = FileFilter(LINUX_313, lambda name: True)
    where: dict[str, Any] = {"page_url": PAGE, "project": "demo", "index": INDEX, "fits": fits}
    tracemalloc.start()
    try:
        decoded = json.loads(body)
        whole = tracemalloc.get_traced_memory()[0]
        del decoded
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        page = parse_json_page(body, **where, memo=DerivedCache(tmp_path / "parsed"))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert len(page.files) == 30 + 30
    assert peak - len(body) < whole / 3


def test_an_html_page_crosses_as_its_bytes() -> None:
    html = b'<a href="https://pkgs.example.com/files/demo-1.0.tar.gz#sha256=' + b"ab" * 32 + b'">'
    html += b"demo-1.0.tar.gz</a>"
    where: dict[str, Any] = {"page_url": PAGE, "project": "demo", "index": INDEX}
    assert thin_page(html, HTML_TYPES[0], **where) == html
    page = built_page(html, HTML_TYPES[0], **where)
    assert [f.filename for f in page.files] == ["demo-1.0.tar.gz"]


@pytest.mark.parametrize("cached", [False, True], ids=["parsed", "from the cache"])
def test_a_page_keeps_the_text_of_the_files_it_keeps_only(tmp_path: Path, cached: bool) -> None:
    """A lock holds every page it reads till its end: each holds the text of the 60 file
    objects it keeps, not the page's."""
    body = real_page()
    fits = FileFilter(LINUX_313, lambda name: True)
    where: dict[str, Any] = {"page_url": PAGE, "project": "demo", "index": INDEX, "fits": fits}
    memo = DerivedCache(tmp_path / "parsed")
    if cached:
        parse_json_page(body, **where, memo=memo)
    tracemalloc.start()
    try:
        page = parse_json_page(body, **where, memo=memo)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(page.files) == 30 + 30
    assert held < len(body) / 4
