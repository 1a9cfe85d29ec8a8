"""bench/scan_bench.py: its pure parts (the CSV, the wheel chosen for a target, the report),
offline; the benchmark itself reaches the public index and is run by hand."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.inspect.rules import BLOCK, RULES, WARN, Finding
from safeinstall.inspect.verdict import ScanReport
from safeinstall.targets import target_for
from tests.support.benchscript import load_bench

NAME = canonicalize_name("demo")
TARGET = target_for("3.11", "linux")


def dist(filename: str, **extra: object) -> DistFile:
    version = Version(filename.split("-")[1].removesuffix(".tar.gz"))
    wheel = filename.endswith(".whl")
    tags = parse_tag("-".join(filename.removesuffix(".whl").split("-")[-3:])) if wheel else ()
    return DistFile(
        NAME,
        version,
        filename,
        f"https://127.0.0.1/f/{filename}",
        "pip-index",
        "wheel" if wheel else "sdist",
        {"sha256": "0" * 64},
        frozenset(tags),
        **extra,  # type: ignore[arg-type]
    )


def page(*files: DistFile) -> ProjectPage:
    return ProjectPage(NAME, "pip-index", files)


def test_top_names_are_the_first_distinct_canonical_projects(tmp_path: Path) -> None:
    csv = tmp_path / "top.csv"
    csv.write_text(
        'download_count,project\n9,"boto3"\n8,"Zope.Interface"\n7,"zope-interface"\n'
        '6,"PyYAML"\n5,"tiny"\n'
    )
    bench = load_bench("scan_bench")
    assert bench.top_names(csv, 3) == ["boto3", "zope-interface", "pyyaml"]
    assert bench.top_names(csv, 10) == ["boto3", "zope-interface", "pyyaml", "tiny"]


def test_choose_wheel_takes_the_newest_release_and_the_targets_best_wheel() -> None:
    bench = load_bench("scan_bench")
    listing = page(
        dist("demo-3.0rc1-cp311-cp311-manylinux_2_17_x86_64.whl"),  # a prerelease
        dist("demo-2.1-py3-none-any.whl", yanked=""),  # yanked: 2.1 has nothing usable
        dist("demo-2.0-py3-none-any.whl"),
        dist("demo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        dist("demo-2.0-cp312-cp312-manylinux_2_17_x86_64.whl"),
        dist("demo-2.0-cp311-cp311-macosx_11_0_arm64.whl"),
        dist("demo-2.0-cp311-cp311-musllinux_1_2_x86_64.whl"),
        dist("demo-2.0.tar.gz"),
        dist("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
    )
    pick = bench.choose_wheel(listing, TARGET)
    assert pick.version == Version("2.0")
    assert pick.file.filename == "demo-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"


def test_choose_wheel_skips_releases_that_refuse_the_targets_python() -> None:
    bench = load_bench("scan_bench")
    newer = SpecifierSet(">=3.12")
    listing = page(
        dist("demo-2.0-py3-none-any.whl", requires_python=newer),
        dist("demo-1.5-py3-none-any.whl"),
    )
    pick = bench.choose_wheel(listing, TARGET)
    assert pick.file.filename == "demo-1.5-py3-none-any.whl"


def test_choose_wheel_says_why_there_is_no_wheel() -> None:
    bench = load_bench("scan_bench")
    sdist_only = bench.choose_wheel(page(dist("demo-1.0.tar.gz")), TARGET)
    assert (sdist_only.file, sdist_only.version, sdist_only.why) == (
        None,
        Version("1.0"),
        "sdist only",
    )
    elsewhere = bench.choose_wheel(page(dist("demo-1.0-cp311-cp311-win_amd64.whl")), TARGET)
    assert elsewhere.file is None
    assert elsewhere.why == f"no wheel for {TARGET.name}"
    assert bench.choose_wheel(page(), TARGET).why == "no release for the target"


def test_choose_wheel_takes_a_prerelease_when_there_is_nothing_else() -> None:
    bench = load_bench("scan_bench")
    listing = page(dist("demo-0.5b0-py3-none-any.whl"), dist("demo-0.4b0-py3-none-any.whl"))
    assert bench.choose_wheel(listing, TARGET).version == Version("0.5b0")


def test_report_counts_every_rule_and_lists_each_finding_with_its_reason() -> None:
    bench = load_bench("scan_bench")
    found = (
        Finding("startup-pth", NAME, "demo-1.0-py3-none-any.whl", "x.pth", 1, "runs", BLOCK),
        Finding("code-encoded-blob", NAME, "demo-1.0-py3-none-any.whl", "a.py", 9, "blob", WARN),
        Finding("code-encoded-blob", NAME, "demo-1.0-py3-none-any.whl", "b.py", 3, "blob", WARN),
    )
    table = bench.per_rule(ScanReport(found, 1))
    assert set(table) == set(RULES)
    assert table["startup-pth"] == {BLOCK: 1, WARN: 0, "projects": 1}
    assert table["code-encoded-blob"] == {BLOCK: 0, WARN: 2, "projects": 1}
    result = {
        "target": TARGET.name,
        "projects": 2,
        "scanned": 1,
        "megabytes": 0.1,
        "fetch_seconds": 0.5,
        "scan_seconds": {"cold": 1.0, "cached": 0.1},
        "rules": table,
        "findings": [bench._finding(f) for f in found],
        "not_scanned": [{"project": "other", "version": "1.0", "why": "sdist only"}],
    }
    out = bench.text(result)
    assert "demo-1.0-py3-none-any.whl:b.py:3" in out
    assert RULES["code-encoded-blob"].summary in out
    assert "not scanned: other 1.0: sdist only" in out
    assert "scan: cold 1.00 s, cached 0.10 s" in out


@pytest.mark.network
def test_one_real_project_is_fetched_verified_and_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The benchmark end to end on one small pure-Python project of the public index; a run
    whose page or download failed (a transient network error) is tried again."""
    bench = load_bench("scan_bench")
    csv = tmp_path / "top.csv"
    csv.write_text('download_count,project\n1,"six"\n')
    out = tmp_path / "result.json"
    argv = ["--top", "1", "--csv", str(csv), "--cache", str(tmp_path / "cache"), "--json", str(out)]
    for attempt in range(1, 4):
        code = bench.main(argv)
        result = json.loads(out.read_text())
        if result["scanned"] == 1 or attempt == 3:
            break
        time.sleep(5 * attempt)
    assert (code, result["scanned"], result["not_scanned"]) == (0, 1, [])
    assert result["wheels"]["six"].endswith("-py2.py3-none-any.whl")
    assert result["findings"] == []
    assert "1 projects, 1 wheels scanned for cp3.11-linux-x86_64" in capsys.readouterr().out
