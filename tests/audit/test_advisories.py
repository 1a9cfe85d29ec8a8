"""OSV matching (ranges, versions lists, withdrawn), ignores and fix suggestions."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall.audit.advisories import (
    Advisory,
    MalformedAdvisory,
    audit,
    fix_suggestions,
    parse_advisory,
)
from safeinstall.audit.osv_local import LocalDatabase
from safeinstall.frozen import replace
from safeinstall.lock.model import BuildSet
from safeinstall.policy.model import AuditIgnore
from tests.conftest import MALWARE_DB
from tests.support import locks
from tests.support.fixtures import Result
from tests.support.locks import write
from tests.support.osvdata import OSV_DIR, make_zip, record, synthetic
from tests.support.osvserver import OsvServer
from tests.support.sarif import assert_valid_sarif, located, results

TODAY = date(2025, 6, 1)


class ListSource:
    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.advisories_ = [parse_advisory(r) for r in records]
        self.asked: list[tuple[NormalizedName, Version]] = []

    def advisories(self, packages: Sequence[tuple[NormalizedName, Version]]) -> list[Advisory]:
        self.asked += packages
        return self.advisories_


def affects(data: dict[str, Any], name: str, version: str) -> bool:
    return parse_advisory(data).affects(name, Version(version))


def pkgs(*pins: str) -> list[tuple[NormalizedName, Version]]:
    out = []
    for pin in pins:
        name, _, version = pin.partition("==")
        out.append((canonicalize_name(name), Version(version)))
    return out


# --- ranges per the OSV schema ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.9", False), ("1.0", True), ("1.4.9", True), ("1.5", False), ("2.0", False)],
)
def test_introduced_fixed(version: str, expected: bool) -> None:
    data = synthetic("X-1", "demo", [{"introduced": "1.0"}, {"fixed": "1.5"}])
    assert affects(data, "demo", version) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.0", True), ("1.1", True), ("1.1.post1", False), ("1.2", False)],
)
def test_last_affected_includes_that_version_only(version: str, expected: bool) -> None:
    data = synthetic("X-1", "demo", [{"introduced": "0"}, {"last_affected": "1.1"}])
    assert affects(data, "demo", version) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.0", False), ("2.0", True), ("2.9", True), ("3.0", False), ("9", False)],
)
def test_limit_bounds_an_open_range(version: str, expected: bool) -> None:
    data = synthetic("X-1", "demo", [{"introduced": "2.0"}, {"limit": "3.0"}])
    assert affects(data, "demo", version) is expected


def test_limit_star_is_no_limit() -> None:
    data = synthetic("X-1", "demo", [{"introduced": "2.0"}, {"limit": "*"}])
    assert affects(data, "demo", "99")


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.0", True), ("1.2", False), ("2.0", False), ("2.1", True), ("2.1.3", False)],
)
def test_events_are_sorted_in_pep440_order_not_as_listed(version: str, expected: bool) -> None:
    events = [{"fixed": "2.1.3"}, {"introduced": "2.1"}, {"fixed": "1.2"}, {"introduced": "0"}]
    assert affects(synthetic("X-1", "demo", events), "demo", version) is expected


def test_pep440_ordering_of_prereleases_and_multi_digit_parts() -> None:
    data = synthetic("X-1", "demo", [{"introduced": "1.9"}, {"fixed": "1.10"}])
    assert affects(data, "demo", "1.10rc1")  # a pre-release of the fix is still affected
    assert not affects(data, "demo", "1.10")
    assert not affects(data, "demo", "1.10.0")


def test_introduced_without_fix_affects_every_later_version() -> None:
    assert affects(synthetic("X-1", "demo", [{"introduced": "1.0"}]), "demo", "100.0")


def test_versions_list_matches_normalized_versions() -> None:
    data = synthetic("X-1", "demo", versions=["1.0", "2.0.0RC1", "not-pep440"])
    assert affects(data, "demo", "1.0")
    assert affects(data, "demo", "1.0.0")  # PEP 440 equality
    assert affects(data, "demo", "2.0.0rc1")
    assert not affects(data, "demo", "1.5")


def test_name_is_canonicalized_and_ecosystem_must_be_pypi() -> None:
    data = synthetic("X-1", "Flask_Caching", [{"introduced": "0"}])
    assert affects(data, "flask-caching", "1.0")
    data["affected"][0]["package"]["ecosystem"] = "npm"
    assert not affects(data, "flask-caching", "1.0")


def test_git_ranges_and_non_pep440_events_are_skipped() -> None:
    data = synthetic("X-1", "demo", [{"introduced": "0"}, {"fixed": "not a version"}])
    data["affected"][0]["ranges"].append({"type": "GIT", "events": [{"introduced": "abc123"}]})
    # the unparseable fix is dropped, so the range stays open: over-report rather than miss
    assert affects(data, "demo", "5.0")


def test_withdrawn_record_never_matches() -> None:
    data = synthetic("X-1", "demo", [{"introduced": "0"}], withdrawn="2024-01-01T00:00:00Z")
    assert not affects(data, "demo", "1.0")


def test_summary_falls_back_to_first_line_of_details() -> None:
    data = synthetic("X-1", "demo", [{"introduced": "0"}])
    del data["summary"]
    data["details"] = "First line.\nMore."
    assert parse_advisory(data).summary == "First line."


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"summary": "no id"},
        {"id": "X-1", "affected": {"not": "a list"}},
        {"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI"}}]},
        synthetic("X-1", "demo", [{"introduced": "0", "fixed": "1"}]),
        synthetic("X-1", "demo", [{"unknown": "1"}]),
    ],
)
def test_malformed_records_are_errors(data: Any) -> None:
    with pytest.raises(MalformedAdvisory):
        parse_advisory(data)


# --- real advisories --------------------------------------------------------------------------

DJANGO_3_2_18 = {
    "PYSEC-2023-100",
    "PYSEC-2023-222",
    "PYSEC-2023-225",
    "PYSEC-2023-226",
    "PYSEC-2023-61",
    "PYSEC-2024-28",
    "PYSEC-2024-47",
}


def test_old_django_reports_its_real_advisories_and_the_fix_clears_them() -> None:
    db = LocalDatabase(OSV_DIR)
    report = audit(pkgs("Django==3.2.18"), db, today=TODAY)
    assert {f.advisory.id for f in report.findings} == DJANGO_3_2_18  # not PYSEC-2022-304 (<3.2.16)
    cve = next(f for f in report.findings if f.advisory.id == "PYSEC-2024-47")
    assert cve.advisory.aliases == ("CVE-2024-27351",)
    assert cve.fixed == (Version("3.2.25"), Version("4.2.11"), Version("5.0.3"))
    fix = fix_suggestions(report.findings)
    assert fix == {"django": Version("3.2.25")}
    assert audit(pkgs("django==3.2.25"), db, today=TODAY).findings == ()
    # one release earlier is still hit by the advisory whose fix is 3.2.25
    still = audit(pkgs("django==3.2.24"), db, today=TODAY).findings
    assert [f.advisory.id for f in still] == ["PYSEC-2024-47"]


def test_real_last_affected_record() -> None:
    db = LocalDatabase(OSV_DIR)
    found = audit(pkgs("py==1.11.0", "py==1.4"), db, today=TODAY).findings
    assert [(f.version, f.advisory.id) for f in found] == [
        (Version("1.4"), "PYSEC-2022-42969"),
        (Version("1.11.0"), "PYSEC-2022-42969"),
    ]
    assert found[0].fixed == ()
    assert fix_suggestions(found) == {}  # no fixed version exists: no upgrade clears it
    assert audit(pkgs("py==1.11.1"), db, today=TODAY).findings == ()


def test_real_withdrawn_records_are_ignored() -> None:
    db = LocalDatabase(OSV_DIR)
    # PYSEC-2019-144 (arrayfire < 3.6.0) and PYSEC-2021-13 (flask-caching >= 1.0.0) are withdrawn
    assert record("PYSEC-2019-144")["withdrawn"] and record("PYSEC-2021-13")["withdrawn"]
    assert audit(pkgs("arrayfire==3.5", "flask-caching==1.10.0"), db, today=TODAY).findings == ()


def test_several_packages_at_once() -> None:
    db = LocalDatabase(OSV_DIR)
    report = audit(pkgs("requests==2.19.0", "jinja2==2.10", "requests==2.31.0"), db, today=TODAY)
    assert [(f.name, str(f.version), f.advisory.id) for f in report.findings] == [
        ("jinja2", "2.10", "PYSEC-2019-217"),
        ("jinja2", "2.10", "PYSEC-2021-66"),
        ("requests", "2.19.0", "PYSEC-2018-28"),
        ("requests", "2.19.0", "PYSEC-2023-74"),
    ]
    assert fix_suggestions(report.findings) == {
        "jinja2": Version("2.11.3"),
        "requests": Version("2.31.0"),
    }


# --- fix suggestions ---------------------------------------------------------------------------


def test_fix_skips_a_fixed_version_that_another_advisory_affects() -> None:
    first = synthetic("X-1", "demo", [{"introduced": "0"}, {"fixed": "1.1"}])
    second = synthetic("X-2", "demo", [{"introduced": "1.1"}, {"fixed": "1.3"}])
    report = audit(pkgs("demo==1.0"), ListSource([first, second]), today=TODAY)
    assert [f.advisory.id for f in report.findings] == ["X-1"]
    # only X-1 affects 1.0: its fix 1.1 is the answer for these findings ...
    assert fix_suggestions(report.findings) == {"demo": Version("1.1")}
    # ... and when both are findings, 1.1 (hit by X-2) is skipped for 1.3
    both = synthetic("X-3", "demo", [{"introduced": "0"}, {"fixed": "1.3"}])
    hit = audit(pkgs("demo==1.0"), ListSource([first, second, both]), today=TODAY).findings
    assert fix_suggestions(hit) == {"demo": Version("1.3")}


# --- ignores -----------------------------------------------------------------------------------


def test_ignore_by_id_or_alias_until_it_expires() -> None:
    data = synthetic("PYSEC-1", "demo", [{"introduced": "0"}], aliases=["CVE-2020-1"])
    source = ListSource([data])
    by_alias = AuditIgnore("CVE-2020-1", "not reachable", date(2025, 6, 1))
    report = audit(pkgs("demo==1.0"), source, [by_alias], today=TODAY)
    assert report.findings[0].ignored_by == by_alias
    assert report.active == () and report.expired == ()
    later = audit(pkgs("demo==1.0"), source, [by_alias], today=date(2025, 6, 2))
    assert later.findings[0].ignored_by is None
    assert later.active == later.findings
    assert later.expired == (by_alias,)


def test_an_ignore_of_another_id_does_not_apply() -> None:
    source = ListSource([synthetic("PYSEC-1", "demo", [{"introduced": "0"}])])
    other = AuditIgnore("PYSEC-2", "why", date(2030, 1, 1))
    assert len(audit(pkgs("demo==1.0"), source, [other], today=TODAY).active) == 1


def test_finding_json() -> None:
    data = synthetic("PYSEC-1", "demo", [{"introduced": "0"}, {"fixed": "2"}], aliases=["CVE-1"])
    finding = audit(pkgs("demo==1.0"), ListSource([data]), today=TODAY).findings[0]
    assert finding.to_json() == {
        "name": "demo",
        "version": "1.0",
        "id": "PYSEC-1",
        "aliases": ["CVE-1"],
        "summary": "PYSEC-1 summary",
        "fixed": ["2"],
        "ignored": None,
    }


# --- the command ---------------------------------------------------------------------------------

HASH = "0" * 64


@pytest.fixture
def lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # policy discovery stops here
    path = tmp_path / "requirements.txt"
    pins = ["django==3.2.18", "py==1.11.0", "arrayfire==3.5", "idna==3.7"]
    path.write_text("".join(f"{p} --hash=sha256:{HASH}\n" for p in pins), encoding="utf-8")
    return path


def test_cli_text_report_with_fix(cli: Callable[..., Result], lock: Path) -> None:
    result = cli("audit", lock, "--db", OSV_DIR, "--fix")
    assert result.code == 1
    assert "vulnerable: django 3.2.18: PYSEC-2024-47 (CVE-2024-27351)" in result.out
    assert "    fixed in: 3.2.25, 4.2.11, 5.0.3" in result.out
    assert "vulnerable: py 1.11.0: PYSEC-2022-42969" in result.out
    assert "fixed in: no fixed version known" in result.out
    assert "arrayfire" not in result.out  # withdrawn
    assert (
        "fix: django>=3.2.25: require this in the lock's inputs, then run "
        "`safeinstall lock -P django`" in result.out
    )
    assert "fix: py: no fixed version clears every finding" in result.out
    assert "8 known vulnerabilities in 4 packages" in result.err


def test_cli_json_from_the_zip(cli: Callable[..., Result], lock: Path, tmp_path: Path) -> None:
    db = make_zip(tmp_path / "osv-pypi.zip")
    result = cli("audit", "--db", db, "--format", "json", "--fix")  # default lock: requirements.txt
    assert result.code == 1
    report = json.loads(result.out)
    assert report["lock"] == "requirements.txt"
    assert {f["id"] for f in report["findings"] if f["name"] == "django"} == DJANGO_3_2_18
    assert report["fix"] == {"django": "3.2.25"}
    assert report["exit_code"] == 1


def test_cli_ignores_from_the_policy(cli: Callable[..., Result], lock: Path) -> None:
    entries = [f'{{ id = "{i}", reason = "not used", until = 2999-01-01 }}' for i in DJANGO_3_2_18]
    entries.append('{ id = "CVE-2022-42969", reason = "svn unused", until = 2000-01-01 }')
    policy = lock.parent / "safeinstall.toml"
    policy.write_text(f"[audit]\nignore = [{', '.join(entries)}]\n", encoding="utf-8")
    result = cli("audit", lock, "--db", OSV_DIR)
    assert result.code == 1  # py's ignore expired
    assert "ignored: django 3.2.18: PYSEC-2024-47" in result.out
    assert "ignored until 2999-01-01: not used" in result.out
    assert "the ignore of CVE-2022-42969 expired on 2000-01-01" in result.err
    assert "1 known vulnerability, 7 ignored" in result.err
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("2000-01-01", "2999-01-01"), encoding="utf-8"
    )
    assert cli("audit", lock, "--db", OSV_DIR).code == 0


def test_cli_clean_lock(cli: Callable[..., Result], lock: Path) -> None:
    lock.write_text(f"django==3.2.25 --hash=sha256:{HASH}\n", encoding="utf-8")
    result = cli("audit", lock, "--db", OSV_DIR)
    assert (result.code, result.out) == (0, "")
    assert "ok: no known vulnerabilities in 1 packages" in result.err


def test_cli_online_against_a_loopback_api(cli: Callable[..., Result], lock: Path) -> None:
    server = OsvServer([record(p.stem) for p in OSV_DIR.glob("*.json")]).start()
    try:
        result = cli("audit", lock, "--osv-url", server.url, "--format", "json")
    finally:
        server.stop()
    assert result.code == 1
    assert {f["id"] for f in json.loads(result.out)["findings"]} == {
        *DJANGO_3_2_18,
        "PYSEC-2022-42969",
    }


def test_cli_without_a_lock(cli: Callable[..., Result], lock: Path) -> None:
    lock.unlink()
    result = cli("audit", "--db", OSV_DIR)
    assert result.code == 2
    assert "no lock found" in result.err


def test_cli_sarif_malware_first_each_on_its_lock_line(
    cli: Callable[..., Result], lock: Path
) -> None:
    db = lock.parent / "osv"
    db.mkdir()
    for record_file in [*OSV_DIR.glob("*.json"), *MALWARE_DB.glob("*.json")]:
        (db / record_file.name).write_bytes(record_file.read_bytes())
    early = synthetic("PYSEC-0000-1", "0-early", [{"introduced": "0"}])  # sorts before malware
    (db / "PYSEC-0000-1.json").write_text(json.dumps(early), encoding="utf-8")
    pins = [("django", "3.2.18"), ("123bla", "0.0.1"), ("0-early", "1.0")]
    pylock = write(lock.parent / "pylock.toml", locks.lock(*(locks.package(*p) for p in pins)))
    policy = lock.parent / "safeinstall.toml"
    ignore = '{ id = "PYSEC-2024-47", reason = "not used", until = 2999-01-01 }'
    policy.write_text(f"[audit]\nignore = [{ignore}]\n", encoding="utf-8")
    text = pylock.read_text(encoding="utf-8").splitlines()
    header = {name: text.index(f'name = "{name}"') for name, _ in pins}  # 1-based [[packages]]

    result = cli("audit", "pylock.toml", "--db", db, "--format", "sarif")
    assert result.code == 1  # as in text
    log = assert_valid_sarif(result.out)
    found = results(log)
    assert found[0]["ruleId"] == "MAL-2024-10238" and found[0]["level"] == "error"
    assert located(found[0]) == ("pylock.toml", header["123bla"])
    assert (found[1]["ruleId"], located(found[1])) == (
        "PYSEC-0000-1",
        ("pylock.toml", header["0-early"]),
    )
    django = {r["ruleId"]: r for r in found[2:]}
    assert set(django) == DJANGO_3_2_18
    assert {located(r) for r in django.values()} == {("pylock.toml", header["django"])}
    ignored = django.pop("PYSEC-2024-47")
    assert ignored["level"] == "note"
    assert ignored["suppressions"][0]["justification"] == "ignored until 2999-01-01: not used"
    assert {r["level"] for r in django.values()} == {"error"}
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["PYSEC-2024-47"]["helpUri"].endswith("/PYSEC-2024-47")

    refused = cli("audit", "pylock.toml", "--db", db, "--format", "sarif", "--fix")
    assert refused.code == 2 and "--fix" in refused.err


def test_cli_audits_the_build_requirements_a_lock_pins(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build requirement runs at install (it builds the sdist): a known vulnerability in it is
    reported, named as what it builds, and the fix is the policy's, not a new input."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    builder = locks.package("py", "1.11.0")
    built = BuildSet(NormalizedName("idna"), Version("3.7"), "1" * 64, (builder,))
    runtime = locks.lock(locks.package("idna", "3.7"))
    path = write(tmp_path / "requirements.txt", replace(runtime, builds=(built,)))
    result = cli("audit", path, "--db", OSV_DIR, "--fix")
    assert result.code == 1
    assert "vulnerable: py 1.11.0: PYSEC-2022-42969" in result.out
    assert "    a build requirement of idna==3.7: relock once a fixed version is out" in result.out
    assert "fix: py" not in result.out  # no input to add: it is not a runtime dependency
    report = json.loads(cli("audit", path, "--db", OSV_DIR, "--format", "json").out)
    assert [f["build_requirement_of"] for f in report["findings"] if f["name"] == "py"] == [
        ["idna==3.7"]
    ]
    sarif = cli("audit", path, "--db", OSV_DIR, "--format", "sarif")
    assert sarif.code == 1
    assert_valid_sarif(sarif.out)  # a build requirement has no line of its own: the lock's
