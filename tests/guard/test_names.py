"""Typosquat detection over the shipped popular-name list."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeinstall.guard import names, popular
from safeinstall.requirements import pep508
from tests.support.paths import DATA, ROOT

REPO = ROOT


def requirement_names(path: Path) -> list[str]:
    """Names at the start of requirement lines (skipping options, comments and continuations)."""
    pattern = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
    return [m.group(1) for line in path.read_text().splitlines() if (m := pattern.match(line))]


# --- typosquat_of: true positives ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "target"),
    [
        # real campaign names (2017 onward) and the classic shapes
        ("urlib3", "urllib3"),
        ("urllib", "urllib3"),  # dropping a version digit
        ("requests2", "requests"),  # version games next to the top 100 names
        ("boto4", "boto3"),
        ("setup-tools", "setuptools"),
        ("python3-dateutil", "python-dateutil"),
        ("jeIlyfish", "jellyfish"),  # capital I for l
        ("python-dateutils", "python-dateutil"),
        ("reqeusts", "requests"),
        ("request", "requests"),
        ("djanga", "django"),
        ("colourama", "colorama"),
        ("selenuim", "selenium"),
        ("tensorfllow", "tensorflow"),
        ("Python_Dateutils", "python-dateutil"),  # canonicalized first
        # affix games
        ("py-requests", "requests"),
        ("requests-py", "requests"),
        ("python3-requests", "requests"),
        ("python-flask", "flask"),
        # separator games and ASCII look-alikes
        ("pythondateutil", "python-dateutil"),
        ("scikitlearn", "scikit-learn"),
        ("rnock", "mock"),
        ("vvheel", "wheel"),
        ("b0to3", "boto3"),
        ("fiask", "flask"),
        ("f1ask", "flask"),
        # two edits from long names
        ("sckit-lern", "scikit-learn"),
        # non-ASCII look-alikes of any listed name, even short ones
        ("r\u0435quests", "requests"),
        ("s\u0131x", "six"),
    ],
)
def test_flags_imitations(name: str, target: str) -> None:
    assert names.typosquat_of(name) == target


def test_imitation_says_how() -> None:
    assert names.find_imitation("reqeusts") == names.Imitation("requests", "is one edit away")
    found = names.find_imitation("python3-requests")
    assert found is not None
    assert "prefix or suffix" in found.how


def test_most_downloaded_target_wins() -> None:
    # also one edit from "dateutils", but python-dateutil is far more downloaded
    assert names.typosquat_of("python-dateutils") == "python-dateutil"


# --- typosquat_of: true negatives -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["requests", "types-requests", "requests-oauthlib", "nose", "nose2", "jinja2", "beautifulsoup"],
)
def test_listed_names_are_never_flagged(name: str) -> None:
    assert name in names.popular_names().known
    assert names.typosquat_of(name) is None


def test_no_listed_name_is_flagged() -> None:
    flagged = [n for n in names.popular_names().known if names.typosquat_of(n) is not None]
    assert flagged == []


def test_extra_known_names_are_never_flagged() -> None:
    assert names.typosquat_of("reqeusts") == "requests"
    assert names.typosquat_of("reqeusts", extra_known=["Reqeusts"]) is None
    assert names.typosquat_of("Py_Requests", extra_known=["py-requests"]) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("python3-memcached", "a python3- sibling of python-memcached, in real locks"),
        ("elasticsearch9", "adding a version number names a fork or sibling"),
        ("xrequests", "typos keep the first letter"),
        ("django-cms-foo", "not near any protected name"),
        ("acme-internal-tools", "not near any protected name"),
        ("sixx", "three-letter names are matched by look-alikes only"),
    ],
)
def test_unlisted_near_names_not_flagged(name: str, why: str) -> None:
    assert name not in names.popular_names().known, why
    assert names.typosquat_of(name) is None, why


@pytest.mark.parametrize(
    ("name", "near"),
    [
        ("loman", "roman"),  # differs in the first letter
        ("django-cms", "django-csp"),  # the differing word is too short for two edits
        ("pytest-race", "pytest-wake"),
        ("elasticsearch7", "elasticsearch"),  # version digit added
        ("ffmpeg", "ffmpeg-python"),  # dropping an affix is not flagged, adding one is
        ("mime", "mike"),  # four letters, target not popular enough
        ("targ", "yarg"),
    ],
)
def test_rules_spare_legitimate_neighbours(name: str, near: str) -> None:
    # These are listed (so legit); check the rule itself would not flag them if they were not.
    assert {name, near} <= names.popular_names().known
    assert names.imitation_among_protected(name) is None


def test_treeherder_lock_has_no_findings() -> None:
    found = requirement_names(DATA / "treeherder.upstream.txt")
    assert len(found) > 150
    assert {n: names.typosquat_of(n) for n in found if names.typosquat_of(n)} == {}
    assert all(pep508.is_valid_name(n) and pep508.non_ascii_report(n) is None for n in found)


# --- edit distance and the lookup index -------------------------------------------------------


def reference_osa(a: str, b: str) -> int:
    """Textbook optimal-string-alignment distance (full table)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


@given(st.text("abc-", max_size=7), st.text("abc-", max_size=7), st.integers(0, 3))
def test_edit_distance_matches_reference(a: str, b: str, limit: int) -> None:
    assert names.edit_distance(a, b, limit) == min(reference_osa(a, b), limit + 1)


def brute_force_near(canon: str) -> tuple[int, str] | None:
    best = None
    for rank, target in enumerate(names.popular_names().protected):
        budget = names.edit_budget(canon, target, rank)
        if target != canon and budget:
            distance = names.edit_distance(canon, target, budget)
            if distance <= budget:
                entry = (distance, rank, target)
                best = entry if best is None else min(best, entry)
    return None if best is None else (best[0], best[2])


@st.composite
def edited_protected_names(draw: st.DrawFn) -> str:
    name: str = draw(st.sampled_from(names.popular_names().protected))
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(name)))
        letter = draw(st.sampled_from("abcdeilmnorstuy-0123"))
        kind = draw(st.sampled_from(["insert", "delete", "substitute", "transpose"]))
        if kind == "insert":
            name = name[:at] + letter + name[at:]
        elif kind == "delete":
            name = name[:at] + name[at + 1 :]
        elif kind == "substitute":
            name = name[:at] + letter + name[at + 1 :]
        else:
            name = name[:at] + name[at + 1 : at + 2] + name[at : at + 1] + name[at + 2 :]
    return name


@settings(max_examples=60, deadline=None)
@given(edited_protected_names())
def test_index_finds_what_brute_force_finds(canon: str) -> None:
    index = names._index()
    found = [(1 if "one" in how else 2, index.protected[rank]) for rank, how in index._near(canon)]
    assert found == ([] if (expected := brute_force_near(canon)) is None else [expected])


def test_max_edits_depends_on_length_and_popularity() -> None:
    assert names.max_edits(3, 0) == 0
    assert names.max_edits(4, 0) == 1
    assert names.max_edits(4, 499) == 1
    assert names.max_edits(4, 500) == 0
    assert names.max_edits(6, 1999) == 1
    assert names.max_edits(6, 2000) == 0
    assert names.max_edits(8, 4999) == 1
    assert names.max_edits(12, 4999) == 2


# --- the shipped data and its loading ---------------------------------------------------------


def test_parse_popular_names() -> None:
    parsed = names.parse_popular_names("# comment\n+requests\n\n+six\nnose2\n")
    assert parsed.protected == ("requests", "six")
    assert parsed.known == frozenset({"requests", "six", "nose2"})


def test_shipped_list_shape() -> None:
    path = REPO / "safeinstall" / "guard" / "data" / "popular-names.txt"
    assert path.stat().st_size < 300_000
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    marks = [ln.startswith("+") for ln in lines]
    assert marks == sorted(marks, reverse=True)  # protected names come first
    popular = names.popular_names()
    assert len(popular.known) == len(lines) == 15_000
    assert len(popular.protected) == 5_000
    assert popular.protected[:3] == ("boto3", "packaging", "setuptools")
    assert all(pep508.is_valid_name(n) and n == n.lower() and "_" not in n for n in popular.known)


def test_is_listed_is_membership_of_the_parsed_list() -> None:
    known = names.popular_names().known
    assert all(names.is_listed(name) for name in known)
    for name in ("reqeusts", "boto4", "safeinstall-internal-lib", "popular", "known"):
        assert names.is_listed(name) is (name in known)


def test_the_list_is_canonical() -> None:
    # check.py skips the typosquat rules for a listed name: that is only right for canonical ones
    from packaging.utils import canonicalize_name

    assert all(canonicalize_name(n) == n for n in names.popular_names().known)


def test_every_listed_name_is_found_without_the_full_parse() -> None:
    lines = popular._Lines(popular._text())
    assert all(lines.has(n) for n in names.popular_names().known)


def test_listed_lines_are_read_only_as_far_as_needed() -> None:
    text = popular._text()
    lines = popular._Lines(text)
    assert lines.has("boto3")  # the first name: one chunk read
    assert lines.read_to < len(text) // 10
    assert not lines.has("reqeusts")  # not listed: the whole file read to say so
    assert lines.read_to == len(text)
    assert lines.has("smclarify")  # the last line


def test_known_names_need_neither_the_parsed_list_nor_the_index() -> None:
    code = (
        "import safeinstall.guard.names as n\n"
        "assert n.typosquat_of('requests') is None\n"
        "assert n.typosquat_of('zope-interface') is None\n"
        "assert n.popular_names.cache_info().currsize == 0\n"
        "assert n._index.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_import_is_cheap_and_known_names_need_no_index() -> None:
    code = (
        "import sys, safeinstall.guard.names as n\n"
        "assert n.popular_names.cache_info().currsize == 0\n"
        "assert 'packaging.utils' not in sys.modules\n"
        "assert n.typosquat_of('requests') is None\n"
        "assert n._index.cache_info().currsize == 0\n"
        "assert n.typosquat_of('reqeusts') == 'requests'\n"
        "assert n._index.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_protected_names_are_read_from_the_top_alone() -> None:
    assert popular.protected_names() == names.popular_names().protected


def test_the_shipped_index_is_made_from_the_shipped_list() -> None:
    # bench/derive_popular_names.py writes it; a list re-derived without it fails here
    path = REPO / "safeinstall" / "guard" / "data" / "popular-index.txt"
    assert path.read_text("ascii") == names.index_text(names.popular_names().protected)
    assert path.stat().st_size < 400_000
    loaded = names._load_index(popular.protected_names())
    assert loaded is not None
    lines = names.index_lines(names.popular_names().protected)
    assert loaded.lines == popular.SortedLines("".join(line + "\n" for line in lines))


def _without_line(text: bytes, key: str) -> bytes:
    kept = [ln for ln in text.splitlines(keepends=True) if not ln.startswith(key.encode() + b" ")]
    assert len(kept) == len(text.splitlines()) - 1
    return b"".join(kept)


def _without_pieces_of(text: bytes, name: str) -> bytes:
    """The index with ``name`` taken out of every piece line (the edit-distance rule)."""
    rank = str(names.popular_names().protected.index(name)).encode()
    prefix = f"{len(name)}/{name[0]}/".encode()
    lines = text.splitlines(keepends=True)
    out = [
        b" ".join(w for w in ln.split() if w != rank) + b"\n" if ln.startswith(prefix) else ln
        for ln in lines
    ]
    assert out != lines
    return b"".join(out)


@pytest.mark.parametrize(
    ("change", "name", "target"),
    [
        # an index edited by hand (the pieces of 'requests' dropped) would miss its typosquats
        (lambda t: _without_pieces_of(t, "requests"), "reqeusts", "requests"),
        (lambda t: _without_line(t, "=django"), "djang0", "django"),
        # an index made from another list (the stamp names other protected names)
        (lambda t: t.replace(b"# stamp: ", b"# stamp: 0", 1), "reqeusts", "requests"),
    ],
    ids=["edited-pieces", "edited-skeleton", "other-list"],
)
def test_an_index_that_is_not_the_lists_own_is_not_used(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[bytes], bytes], name: str, target: str
) -> None:
    real = popular.read_data
    index = real("popular-index.txt")
    monkeypatch.setattr(
        popular,
        "read_data",
        lambda file: change(index) if file == "popular-index.txt" else real(file),
    )
    assert names._load_index(popular.protected_names()) is None
    names._index.cache_clear()
    try:
        assert names.typosquat_of(name) == target  # built from the list instead
    finally:
        names._index.cache_clear()


def test_unlisted_names_need_no_full_parse_of_the_list() -> None:
    # the hook path on a lock with private names: the shipped index and the protected lines only
    code = (
        "import safeinstall.guard.names as n\n"
        "assert n.typosquat_of('mozci') is None\n"
        "assert n.typosquat_of('safeinstall-internal-lib') is None\n"
        "assert n.typosquat_of('reqeusts') == 'requests'\n"
        "assert n._index.cache_info().currsize == 1\n"
        "assert n.popular_names.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --- bench/derive_popular_names.py ------------------------------------------------------------


def load_derive_script() -> ModuleType:
    path = REPO / "bench" / "derive_popular_names.py"
    spec = importlib.util.spec_from_file_location("derive_popular_names", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_derive_is_deterministic_and_canonical(tmp_path: Path) -> None:
    derive = load_derive_script()
    csv = tmp_path / "top.csv"
    csv.write_text(
        'download_count,project\n900,"Zope.Interface"\n900,"attrs"\n'
        '1000,"requests"\n50,"bad name"\n10,"tiny"\n20,"zope_interface"\n'
    )
    out = tmp_path / "out.txt"
    assert derive.main([str(csv), str(out), "--protect", "2"]) == 0
    first = out.read_bytes()
    assert derive.main([str(csv), str(out), "--protect", "2"]) == 0
    assert out.read_bytes() == first
    body = [ln for ln in first.decode().splitlines() if not ln.startswith("#")]
    # by downloads, ties by name; canonical, duplicates merged, invalid names dropped
    assert body == ["+requests", "+attrs", "zope-interface", "tiny"]
    parsed = names.parse_popular_names(first.decode())
    assert parsed.protected == ("requests", "attrs")


def test_shipped_list_matches_derive_script_format() -> None:
    text = (REPO / "safeinstall" / "guard" / "data" / "popular-names.txt").read_text()
    assert text.startswith("# Popular project names, derived from top-pypi-packages.csv")
    assert text.endswith("\n")


def test_derive_writes_the_index_of_the_list_next_to_it(tmp_path: Path) -> None:
    derive = load_derive_script()
    csv = tmp_path / "top.csv"
    csv.write_text("download_count,project\n1000,requests\n900,django\n10,tiny\n")
    out = tmp_path / "popular-names.txt"
    assert derive.main([str(csv), str(out), "--protect", "2"]) == 0
    index = tmp_path / "popular-index.txt"
    assert index.read_text("ascii") == names.index_text(("requests", "django"))
    index.write_text("stale\n")
    assert derive.main(["--index-only", str(out)]) == 0
    assert index.read_text("ascii") == names.index_text(("requests", "django"))
    listed = tmp_path / "popular-sorted.txt"
    assert listed.read_text("ascii") == popular.sorted_text(out.read_bytes())
    assert listed.read_text("ascii").endswith("\ndjango\nrequests\ntiny\n")


@pytest.mark.parametrize("step", [1, 7, 1024, 100_000])
def test_sorted_lines_find_every_line_by_its_start_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    # a lookup bisects over sample lines, then scans one window: every line is found whatever
    # the spacing of the samples, by its whole first word, and words between lines are not
    monkeypatch.setattr(popular, "_STEP", step)
    words = sorted({f"{a}{b}" for a in "abz" for b in ("", "a", "b", "-a", "zz")})
    lines = popular.SortedLines("".join(f"{w} {n}\n" for n, w in enumerate(words)))
    for n, word in enumerate(words):
        assert lines.find(word + " ") == f"{word} {n}"
    for absent in ("", "0", "aa-", "ab ", "b-b", "c", "zzzz", "~"):
        assert lines.find(absent + " ") is None
    assert popular.SortedLines("").find("a ") is None
    assert popular.SortedLines("a 1").find("a ") == "a 1"  # no final line break


def test_the_shipped_sorted_list_is_made_from_the_shipped_list() -> None:
    path = REPO / "safeinstall" / "guard" / "data" / "popular-sorted.txt"
    assert path.read_text("ascii") == popular.sorted_text(popular.read_data("popular-names.txt"))
    assert popular._sorted() is not None


@pytest.mark.parametrize(
    "change",
    [
        # a name added by hand would pass as listed and skip the typosquat rules
        lambda t: t.replace(b"\nrequests\n", b"\nreqeusts\nrequests\n", 1),
        # a copy made from another list (the stamp names other bytes)
        lambda t: t.replace(b"# stamp: ", b"# stamp: 0", 1),
        lambda t: b"",
    ],
    ids=["edited", "other-list", "empty"],
)
def test_a_sorted_list_that_is_not_the_lists_own_is_not_used(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[bytes], bytes]
) -> None:
    real = popular.read_data
    shipped = real("popular-sorted.txt")
    assert change(shipped) != shipped
    monkeypatch.setattr(
        popular,
        "read_data",
        lambda file: change(shipped) if file == "popular-sorted.txt" else real(file),
    )
    popular._sorted.cache_clear()
    try:
        assert popular._sorted() is None
        assert not names.is_listed("reqeusts")  # read from the list itself
        assert names.is_listed("requests")
        assert names.typosquat_of("reqeusts") == "requests"
    finally:
        popular._sorted.cache_clear()


def test_is_listed_answers_from_the_sorted_list_without_the_set_of_lines() -> None:
    code = (
        "import safeinstall.guard.popular as p\n"
        "assert p.is_listed('requests') and p.is_listed('smclarify')\n"
        "assert not p.is_listed('reqeusts') and not p.is_listed('requests2')\n"
        "assert p._lines.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
