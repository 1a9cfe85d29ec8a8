"""Parsing and validating project pages: PEP 691 JSON and PEP 503 HTML (THREATS.md 30-39)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.tags import compatible_tags, cpython_tags
from packaging.version import Version

from safeinstall.errors import IndexServerError, IntegrityError, PolicyError
from safeinstall.files.cachedir import DerivedCache
from safeinstall.index.filenames import FileFilter
from safeinstall.index.pages import JSON_TYPE, parse_json_page, parse_page
from safeinstall.policy.model import IndexSpec

INDEX = IndexSpec(
    name="corp", url="https://pkgs.example.com/simple", file_hosts=("files.example.org",)
)
PAGE = "https://pkgs.example.com/simple/demo/"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SHA = "ab" * 32
LINUX_313 = [
    *cpython_tags((3, 13), ["cp313"], ["manylinux_2_17_x86_64"]),
    *compatible_tags((3, 13), "cp313", ["manylinux_2_17_x86_64"]),
]
SHA2 = "cd" * 32
WHEEL = "demo-1.0-py3-none-any.whl"
SDIST = "demo-1.0.tar.gz"


def json_page(*files: dict[str, Any], **extra: Any) -> bytes:
    doc = {"meta": {"api-version": "1.1"}, "name": "demo", "files": list(files), **extra}
    return json.dumps(doc).encode()


def jfile(filename: str = WHEEL, url: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "filename": filename,
        "url": url if url is not None else f"https://files.example.org/d/{filename}",
        "hashes": {"sha256": SHA},
        **fields,
    }


def keys(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` for ``jfile(**keys({...}))``, typed so that mypy does not match them against
    ``filename``/``url`` (hyphenated JSON keys cannot be written as keyword arguments)."""
    return fields


def parse_json(body: bytes, index: IndexSpec = INDEX) -> Any:
    """The page with every release materialized, so that each entry is validated."""
    page = parse_json_page(body, page_url=PAGE, project="Demo", index=index, now=NOW)
    assert page.files is not None
    return page


def parse_html(body: str, index: IndexSpec = INDEX) -> Any:
    where: dict[str, Any] = {"page_url": PAGE, "project": "demo", "index": index, "now": NOW}
    page = parse_page(body.encode(), "text/html", **where)
    assert page.files is not None
    return page


def html_page(*anchors: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{''.join(anchors)}</body></html>"


def test_json_page_fields() -> None:
    page = parse_json(
        json_page(
            jfile(
                hashes={"SHA256": SHA.upper()},
                **keys(
                    {
                        "requires-python": ">=3.9",
                        "yanked": "broken build",
                        "core-metadata": {"sha256": SHA2},
                        "size": 1234,
                        "upload-time": "2025-06-01T10:00:00.123456Z",
                    }
                ),
            ),
            jfile(SDIST, **keys({"yanked": True, "dist-info-metadata": True})),
            versions=["1.0"],
        )
    )
    wheel, sdist = page.files
    assert page.project == "demo"
    assert page.index == "corp"
    assert page.versions == (Version("1.0"),)
    assert wheel.kind == "wheel"
    assert wheel.hashes == {"sha256": SHA}
    assert wheel.requires_python == SpecifierSet(">=3.9")
    assert wheel.yanked == "broken build"
    assert wheel.metadata_hashes == {"sha256": SHA2}
    assert wheel.size == 1234
    assert wheel.upload_time == datetime(2025, 6, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert {str(t) for t in wheel.tags} == {"py3-none-any"}
    assert sdist.kind == "sdist"
    assert sdist.yanked == ""
    assert sdist.metadata_hashes == {}
    assert sdist.tags == frozenset()


def test_json_core_metadata_wins_over_old_key_and_false_means_none() -> None:
    page = parse_json(
        json_page(
            jfile(**keys({"core-metadata": False, "dist-info-metadata": True})),
            jfile(SDIST, yanked=False),
        )
    )
    assert page.files[0].metadata_hashes is None
    assert page.files[1].yanked is None
    assert page.files[1].metadata_hashes is None


def test_html_page_equivalent_to_json() -> None:
    body = json_page(
        jfile(
            **keys(
                {"requires-python": ">=3.9,<4", "yanked": "bad", "core-metadata": {"sha256": SHA2}}
            )
        ),
        jfile(SDIST, **keys({"yanked": True, "core-metadata": True})),
    )
    html = html_page(
        f'<a href="https://files.example.org/d/{WHEEL}#sha256={SHA}" '
        'data-requires-python="&gt;=3.9,&lt;4" data-yanked="bad" '
        f'data-core-metadata="sha256={SHA2}">{WHEEL}</a>',
        f'<a href="https://files.example.org/d/{SDIST}#sha256={SHA}" data-yanked '
        f'data-dist-info-metadata="true">{SDIST}</a>',
        head='<meta name="pypi:repository-version" content="1.0">',
    )
    assert parse_html(html) == parse_json(body)


def test_html_relative_links_and_base_href() -> None:
    relative = parse_html(html_page(f'<a href="../../files/{WHEEL}">{WHEEL}</a>'))
    assert relative.files[0].url == f"https://pkgs.example.com/files/{WHEEL}"
    based = parse_html(
        html_page(
            f'<a href="d/{WHEEL}">{WHEEL}</a>', head='<base href="https://files.example.org/">'
        )
    )
    assert based.files[0].url == f"https://files.example.org/d/{WHEEL}"


def test_base_href_on_untrusted_host_is_refused() -> None:
    with pytest.raises(PolicyError, match=re.escape("evil.example.net")):
        parse_html(
            html_page(
                f'<a href="{WHEEL}">{WHEEL}</a>', head='<base href="https://evil.example.net/">'
            )
        )


def test_url_credentials_and_fragment_are_stripped() -> None:
    page = parse_json(json_page(jfile(url=f"https://u:secret@files.example.org/d/{WHEEL}#x=1")))
    assert page.files[0].url == f"https://files.example.org/d/{WHEEL}"


@pytest.mark.parametrize(
    "name",
    [
        "../../.bashrc",
        "..\\x-1.0.tar.gz",
        "/abs/demo-1.0.tar.gz",
        "%2e%2e/demo-1.0.tar.gz",
        "demo-1.0-py3-none-any\x00.whl",
        "demo-1.0\n.tar.gz",
        "",
    ],
)
def test_filenames_that_are_not_bare_names_fail_the_page(name: str) -> None:
    with pytest.raises(IndexServerError, match="not a bare file name"):
        parse_json(json_page(jfile(name, url="https://files.example.org/d/x")))


@pytest.mark.parametrize("cached", [False, True])
def test_a_files_list_nested_past_the_recursion_limit_fails_the_page(
    tmp_path: Path, cached: bool
) -> None:
    """A page is read with a cache when the lock has one: it fails the same, with a reason."""
    nested = "[" * 100_000 + "]" * 100_000
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": []})
    body = body.replace('"files": []', f'"files": [{nested}]')
    memo = DerivedCache(tmp_path) if cached else None
    where: dict[str, Any] = {"page_url": PAGE, "project": "demo", "index": INDEX, "memo": memo}
    with pytest.raises(IndexServerError, match="its JSON does not parse"):
        parse_page(body.encode(), JSON_TYPE, **where)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("demo-1.0.tar.gz", "a 'files' entry is not an object"),
        (["demo-1.0.tar.gz"], "a 'files' entry is not an object"),
        ({"url": "https://files.example.org/d/x"}, "lacks a 'filename' string"),
        (jfile(None), "lacks a 'filename' string"),  # type: ignore[arg-type]
        (jfile(7), "lacks a 'filename' string"),  # type: ignore[arg-type]
    ],
)
def test_entries_without_a_file_name_fail_the_page(entry: Any, why: str) -> None:
    """The names of a page are checked at once; any entry among many still fails it."""
    with pytest.raises(IndexServerError, match=why):
        parse_json(json_page(jfile(), entry, jfile(SDIST)))


def test_the_first_hostile_entry_is_the_one_named() -> None:
    files = [jfile(), jfile("../evil-1.0.tar.gz"), {"filename": 3}, jfile("a\\b")]
    with pytest.raises(IndexServerError, match=re.escape("'../evil-1.0.tar.gz', not a bare")):
        parse_json(json_page(*files))


def test_names_checked_together_do_not_run_into_each_other() -> None:
    """A name ending in '.' next to one starting with '.' is no '..'; both are skipped."""
    page = parse_json(json_page(jfile("demo-1.0.tar.gz."), jfile(".demo-1.0.tar.gz"), jfile()))
    assert [f.filename for f in page.files] == [WHEEL]


def test_entity_encoded_traversal_in_html_is_caught() -> None:
    with pytest.raises(IndexServerError, match="not a bare file name"):
        parse_html(html_page('<a href="x.whl">&#46;&#46;&#47;demo-1.0.tar.gz</a>'))


def test_percent_encoded_traversal_in_url_is_refused() -> None:
    with pytest.raises(IndexServerError, match="does not end with that file name"):
        parse_json(json_page(jfile(url=f"https://files.example.org/d/%2e%2e/x/{WHEEL}%2f")))
    with pytest.raises(IndexServerError, match="does not end with that file name"):
        parse_json(json_page(jfile(url=f"https://files.example.org/%2e%2e/{WHEEL}")))


def test_other_files_and_other_projects_are_skipped() -> None:
    page = parse_json(
        json_page(
            jfile("demo-1.0-py2.7.egg"),
            jfile("demo-1.0.win32.exe"),
            jfile("other-1.0-py3-none-any.whl"),
            jfile("demo-1.0-garbage.whl"),
            jfile(WHEEL),
        )
    )
    assert [f.filename for f in page.files] == [WHEEL]


def test_url_last_segment_must_equal_filename() -> None:
    with pytest.raises(IndexServerError, match="does not end with that file name"):
        parse_json(json_page(jfile(url="https://files.example.org/d/demo-2.0-py3-none-any.whl")))


@pytest.mark.parametrize(
    "url",
    [
        f"https://evil.example.net/{WHEEL}",
        f"https://files.example.org:8443/{WHEEL}",
        f"http://files.example.org/{WHEEL}",
        f"ftp://files.example.org/{WHEEL}",
        "javascript:alert(1)",
        f"file:///tmp/{WHEEL}",
    ],
)
def test_untrusted_hosts_and_schemes_are_refused(url: str) -> None:
    with pytest.raises(PolicyError):
        parse_json(json_page(jfile(url=url)))


@pytest.mark.parametrize(
    "url",
    [
        f"https://[::1/{WHEEL}",
        f"https://[zz]/{WHEEL}",
        f"https://files.example.org:99999/{WHEEL}",
        f"https://files.example.org:x/{WHEEL}",
    ],
)
def test_a_url_that_does_not_split_fails_the_page(url: str) -> None:
    # urllib raised ValueError out of the page parser: an internal error (exit 3)
    with pytest.raises(IndexServerError, match="is not valid"):
        parse_json(json_page(jfile(url=url)))


def test_a_base_href_that_does_not_split_fails_the_page() -> None:
    with pytest.raises(IndexServerError, match="base href"):
        parse_html(html_page(f'<base href="https://[::1/x/"><a href="{WHEEL}">{WHEEL}</a>'))


def test_javascript_href_in_html_is_refused() -> None:
    with pytest.raises(PolicyError, match="javascript"):
        parse_html(html_page(f'<a href="javascript:alert(1)">{WHEEL}</a>'))


def test_file_host_with_port_and_http_index() -> None:
    index = IndexSpec(name="lo", url="http://127.0.0.1:8080/simple", file_hosts=("127.0.0.1:9000",))
    ok = [f"http://127.0.0.1:8080/f/{WHEEL}", f"http://127.0.0.1:9000/f/{SDIST}"]
    page = parse_json(json_page(jfile(url=ok[0]), jfile(SDIST, url=ok[1])), index)
    assert [f.url for f in page.files] == ok
    with pytest.raises(PolicyError):
        parse_json(json_page(jfile(url=f"http://127.0.0.1:9001/{WHEEL}")), index)


@pytest.mark.parametrize(
    "hashes", [{"sha256": "xyz"}, {"sha256": "ab" * 31}, {"sha256": 5}, {"bad algo": "ab"}]
)
def test_malformed_hashes_fail(hashes: dict[str, Any]) -> None:
    with pytest.raises(IndexServerError, match="malformed"):
        parse_json(json_page(jfile(hashes=hashes)))


def test_duplicate_filenames() -> None:
    same = parse_json(json_page(jfile(), jfile()))
    assert len(same.files) == 1
    with pytest.raises(IntegrityError, match="different hashes"):
        parse_json(json_page(jfile(), jfile(hashes={"sha256": SHA2})))
    html = html_page(
        f'<a href="{WHEEL}#sha256={SHA}">{WHEEL}</a>',
        f'<a href="{WHEEL}#sha256={SHA2}">{WHEEL}</a>',
    )
    with pytest.raises(IntegrityError):
        parse_html(html)


def test_malformed_requires_python_names_the_file() -> None:
    with pytest.raises(IndexServerError, match=WHEEL):
        parse_json(json_page(jfile(**{"requires-python": ">=3.x;"})))
    with pytest.raises(IndexServerError, match=WHEEL):
        parse_html(html_page(f'<a href="{WHEEL}" data-requires-python="&gt;&gt;3">{WHEEL}</a>'))


def test_upload_time_rules() -> None:
    ok = parse_json(json_page(jfile(**{"upload-time": "2026-01-01T20:00:00+00:00"})))
    assert ok.files[0].upload_time is not None
    with pytest.raises(IndexServerError, match="future"):
        parse_json(json_page(jfile(**{"upload-time": "2026-01-03T00:00:00Z"})))
    with pytest.raises(IndexServerError, match="time zone"):
        parse_json(json_page(jfile(**{"upload-time": "2025-01-03T00:00:00"})))
    with pytest.raises(IndexServerError, match="malformed"):
        parse_json(json_page(jfile(**{"upload-time": "yesterday"})))


def test_file_whose_version_the_versions_list_lacks_is_refused() -> None:
    """PEP 700: such a file is never a candidate; the rest of the page stays usable (the public
    index has legacy files whose name carries another version than their release)."""
    other = WHEEL.replace("1.0", "0.9")
    page = parse_json(json_page(jfile(), jfile(other), versions=["0.9", "not a version!"]))
    assert [f.filename for f in page.files] == [other]


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", -1), ("size", True), ("size", "12"), ("yanked", 1), ("requires-python", 3)],
)
def test_wrongly_typed_json_fields_fail(field: str, value: Any) -> None:
    with pytest.raises(IndexServerError):
        parse_json(json_page(jfile(**{field: value})))


def test_api_version_major_must_be_one() -> None:
    with pytest.raises(IndexServerError, match="API version"):
        parse_json(
            json.dumps({"meta": {"api-version": "2.0"}, "name": "demo", "files": []}).encode()
        )
    with pytest.raises(IndexServerError, match="API version"):
        parse_html(html_page(head='<meta name="pypi:repository-version" content="2.0">'))


def test_json_page_must_name_the_project() -> None:
    body = json.dumps({"meta": {"api-version": "1.0"}, "name": "other", "files": []}).encode()
    with pytest.raises(IndexServerError, match="other"):
        parse_json(body)


def test_content_type_decides_no_sniffing() -> None:
    html = html_page(f'<a href="{WHEEL}">{WHEEL}</a>').encode()
    kwargs: dict[str, Any] = {"page_url": PAGE, "project": "demo", "index": INDEX, "now": NOW}
    assert parse_page(html, "text/html; charset=utf-8", **kwargs).files
    with pytest.raises(IndexServerError, match="text/plain"):
        parse_page(html, "text/plain", **kwargs)
    with pytest.raises(IndexServerError, match="JSON does not parse"):
        parse_page(html, "application/vnd.pypi.simple.v1+json", **kwargs)
    with pytest.raises(IndexServerError):
        parse_page(b"[]", "application/vnd.pypi.simple.v1+json", **kwargs)


def test_html_anchor_without_text_uses_the_url_name() -> None:
    page = parse_html(html_page(f'<a href="{WHEEL}"></a><a>no href</a>'))
    assert [f.filename for f in page.files] == [WHEEL]


def test_releases_are_validated_when_used_and_only_then() -> None:
    """A bad entry in a release nobody asks for costs nothing and blocks nothing; asking for
    that release raises the error. Big pages are parsed one release at a time."""
    old = jfile(WHEEL.replace("1.0", "0.9"), url="https://evil.example.net/demo-0.9.whl")
    page = parse_json_page(
        json_page(jfile(), old), page_url=PAGE, project="demo", index=INDEX, now=NOW
    )
    assert page.releases() == (Version("1.0"), Version("0.9"))
    assert [f.filename for f in page.files_of(Version("1.0"))] == [WHEEL]
    for _ in range(2):  # and again: a failed release never turns into an empty one
        with pytest.raises(PolicyError, match=re.escape("evil.example.net")):
            page.files_of(Version("0.9"))


def test_wheels_for_other_targets_are_dropped_but_one_stays_to_say_why() -> None:
    """With a file filter (a lock for given targets), a page keeps the wheels that fit and the
    sdists it allows; of a release with nothing kept, one wheel stays so that the resolver can
    still say "no wheel for this target" instead of "no such release"."""
    linux = "demo-2.0-cp313-cp313-manylinux_2_17_x86_64.whl"
    windows = "demo-2.0-cp313-cp313-win_amd64.whl"
    mac = "demo-2.0-cp313-cp313-macosx_11_0_arm64.whl"
    only_windows = "demo-1.0-cp313-cp313-win_amd64.whl"
    files = [jfile(n) for n in (linux, windows, mac, "demo-2.0.tar.gz", "demo-1.0.tar.gz")]
    files.append(jfile(only_windows))
    fits = FileFilter(LINUX_313, lambda name: False)  # no sdist may be built
    page = parse_json_page(
        json_page(*files), page_url=PAGE, project="demo", index=INDEX, now=NOW, fits=fits
    )
    assert page.releases() == (Version("2.0"), Version("1.0"))
    kept = {f.filename for f in page.files_of(Version("2.0"))}
    assert kept == {linux}
    # nothing of 1.0 fits: a wheel (rather than the sdist) stays, to say "no wheel for linux"
    assert [f.filename for f in page.files_of(Version("1.0"))] == [only_windows]
    unfiltered = parse_json_page(json_page(*files), page_url=PAGE, project="demo", index=INDEX)
    assert len(unfiltered.files) == 6


def test_wheel_filter_keeps_names_it_cannot_read_for_validation_to_report() -> None:
    fits = FileFilter(LINUX_313, lambda name: True)
    assert fits.wheel("py3-none-any.whl")
    assert fits.wheel("1-cp313-cp313-manylinux_2_17_x86_64.whl")  # with a build tag
    assert not fits.wheel("cp312-cp312-manylinux_2_17_x86_64.whl")
    assert fits.wheel("garbage.whl")
    assert fits.wheel("a-b-c-d-e.whl")


def test_a_release_whose_files_all_name_another_project_has_no_files() -> None:
    page = parse_json(json_page(jfile("other-3.0-py3-none-any.whl"), jfile()))
    assert page.releases() == (Version("3.0"), Version("1.0"))
    assert page.files_of(Version("3.0")) == ()


def test_sdists_of_projects_the_policy_does_not_let_build_are_dropped() -> None:
    wheel, sdist, old_sdist = WHEEL, SDIST, "demo-0.9.tar.gz"
    body = json_page(jfile(wheel), jfile(sdist), jfile(old_sdist))

    def parse(allowed: bool) -> Any:
        fits = FileFilter(LINUX_313, lambda name: allowed and name == "demo")
        return parse_json_page(body, page_url=PAGE, project="demo", index=INDEX, fits=fits)

    assert {f.filename for f in parse(True).files} == {wheel, sdist, old_sdist}
    refused = parse(False)
    assert [f.filename for f in refused.files_of(Version("1.0"))] == [wheel]
    # a release of nothing but a refused sdist keeps it, so that the reason can be given
    assert [f.filename for f in refused.files_of(Version("0.9"))] == [old_sdist]
