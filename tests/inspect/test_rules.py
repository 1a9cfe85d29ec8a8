"""Every scanner rule against a real hostile wheel or sdist, and the honest files it must pass.

These call the scanner on built files directly; tests/inspect/test_install.py drives the same
files through install, sync, download and `scan` with real pip and a loopback index.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from safeinstall.index.fetch import Artifact, parse_filename
from safeinstall.inspect import wheel as inspect_wheel
from safeinstall.inspect.code import MAX_SOURCE_BYTES
from safeinstall.inspect.rules import BLOCK, RULES, WARN, Finding
from safeinstall.inspect.scan import scan_files
from safeinstall.inspect.verdict import ScanReport, grouped
from safeinstall.policy.model import InspectPolicy, Policy, StartupFile
from tests.inspect.hostile import (
    BLOCKING_CASES,
    CODE,
    COVERAGE_PTH,
    FINDER,
    FINDER_CODE,
    PTH,
    SETUP_PY,
    SETUPTOOLS_PTH,
    code_wheel,
    hostile_wheels,
    rewritten,
    sdist,
    wheel,
)


def artifact(path: Path) -> Artifact:
    parsed = parse_filename(path.name)
    assert parsed is not None
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return Artifact(parsed[0], parsed[1], path.name, sha256)


def scan(
    paths: Sequence[Path],
    policy: Policy | None = None,
    *,
    cache: Path | None = None,
    projects: Sequence[str] = (),
) -> ScanReport:
    files = [(artifact(p), p) for p in paths]
    return scan_files(files, policy or Policy(), cache=cache, projects=projects)


def rules(report: ScanReport) -> set[tuple[str, str]]:
    return {(f.rule, f.severity) for f in report.findings}


@pytest.mark.parametrize("case", BLOCKING_CASES)
def test_each_blocking_rule_catches_its_hostile_wheel(tmp_path: Path, case: str) -> None:
    report = scan(hostile_wheels(tmp_path)[case])
    rule = next(r for r in RULES if case.startswith(r))
    assert [f.rule for f in report.blocked] == [rule], report.findings
    finding = report.blocked[0]
    assert finding.package == "evil-pkg"  # the offender, not its victim
    assert finding.file  # names the file inside the artifact
    assert finding.message


@pytest.mark.parametrize(
    "member", ["./evil_init.pth", "evil_pkg-1.0.data/purelib//x.pth", "EVIL.PTH"]
)
def test_a_start_up_file_under_an_odd_spelling_is_still_one(tmp_path: Path, member: str) -> None:
    """pip normalises "./x.pth" to x.pth; Windows reads X.PTH as a .pth file."""
    report = scan([wheel(tmp_path, "evil-pkg", {member: PTH})])
    assert [f.rule for f in report.blocked] == ["startup-pth"]


def test_a_start_up_file_with_a_very_long_name_is_still_one(tmp_path: Path) -> None:
    """Names past the length whose reading is kept for the run are read each time, alike."""
    member = f"{'x' * 600}.pth"
    report = scan([wheel(tmp_path, "evil-pkg", {member: PTH})])
    assert [(f.rule, f.file) for f in report.blocked] == [("startup-pth", member)]


@pytest.mark.parametrize(
    "under",
    [
        "lib64/python3.13/site-packages",  # a venv's lib64 is a link to lib
        "lib/python3.13t/site-packages",
        "local/lib/python3.13/dist-packages",  # Debian's, with the data root at /usr
        "lib/python3/dist-packages",
        "Lib/site-packages",
        "lib/site-packages",  # Windows: Lib, whatever the case
    ],
)
@pytest.mark.parametrize("member", ["x.pth", "sitecustomize.py"])
def test_a_start_up_file_through_the_data_scheme_is_one_however_spelled(
    tmp_path: Path, under: str, member: str
) -> None:
    """The data scheme's root is the environment's prefix: these land in site-packages."""
    report = scan([wheel(tmp_path, "evil-pkg", {f"evil_pkg-1.0.data/data/{under}/{member}": PTH})])
    assert [f.rule for f in report.blocked] == [
        "startup-pth" if member.endswith(".pth") else "startup-customize"
    ]


def test_a_start_up_file_in_a_venvs_lib64_lands_in_site_packages(tmp_path: Path) -> None:
    """What the test above assumes, on this machine: a venv's lib64 is its lib."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    lib64 = tmp_path / "v" / "lib64"
    if not lib64.is_symlink():
        pytest.skip("this platform's venvs have no lib64 link")
    assert lib64.resolve() == (tmp_path / "v" / "lib").resolve()


def test_a_finding_names_package_file_line_and_rule(tmp_path: Path) -> None:
    """What SARIF will need: rule id, severity, package, artifact, file, line, message."""
    [found] = scan(hostile_wheels(tmp_path)["startup-pth"]).findings
    assert found.to_json() == {
        "rule": "startup-pth",
        "severity": "block",
        "package": "evil-pkg",
        "artifact": "evil_pkg-1.0-py3-none-any.whl",
        "file": "evil_init.pth",
        "line": 1,
        "message": found.message,
    }
    assert "evil_init.pth runs code at every interpreter start-up" in found.message
    # the policy entry that would allow exactly these bytes, if trusted
    assert f'sha256 = "{hashlib.sha256(PTH).hexdigest()}"' in found.message


def _metadata_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_requires_dist_in_the_description_is_text_not_a_dependency(
    tmp_path: Path, end: str
) -> None:
    """The description after the header block says what it likes: pip and the resolver read
    headers only, and so does the rule, whatever line ends the file uses; a direct URL in
    the headers is still found on its line."""
    plain = wheel(
        tmp_path / "a", "docs-pkg", {}, requires_dist=["helper @ https://127.0.0.1/h.whl"]
    )
    lines = _metadata_of(plain).decode().splitlines()
    body = ["", "Requires-Dist: other @ https://127.0.0.1/o.whl", "Requires-Dist: third"]
    text = end.join([*lines, *body, ""]).encode()
    path = rewritten(plain, "METADATA", _metadata_of(plain), text)
    assert _metadata_of(path) == text
    [found] = scan([path]).findings
    assert (found.rule, found.line) == (
        "meta-url-dependency",
        lines.index("Requires-Dist: helper @ https://127.0.0.1/h.whl") + 1,
    )


@pytest.mark.parametrize("hidden", ["\x0b", "\x0c", "\x1c", "\u0085", "\u2028"])
def test_a_line_break_only_python_strings_know_is_no_header(tmp_path: Path, hidden: str) -> None:
    """str.splitlines breaks at a form feed or U+2028; the email parser (pip's, the resolver's)
    does not: after one, "Requires-Dist: ..." is part of the Summary, neither a dependency
    nor a direct URL, and the line numbers the rule reports are the parser's."""
    plain = wheel(tmp_path / "a", "docs-pkg", {}, requires_dist=["helper @ https://127.0.0.1/h"])
    lines = _metadata_of(plain).decode().splitlines()
    summary = f"Summary: docs{hidden}Requires-Dist: other @ https://127.0.0.1/o.whl"
    text = "\n".join([*lines[:1], summary, *lines[1:], ""]).encode()
    path = rewritten(plain, "METADATA", _metadata_of(plain), text)
    [found] = scan([path]).findings
    assert (found.rule, found.line) == (
        "meta-url-dependency",
        lines.index("Requires-Dist: helper @ https://127.0.0.1/h") + 2,
    )


def test_a_header_block_of_unusual_size_is_read_but_not_kept() -> None:
    """Header blocks are kept once read (the platform wheels of a lock share them), but only
    of a usual size: hostile METADATA cannot make the scanner hold megabytes for later."""
    head = b"Metadata-Version: 2.4\nName: big\nVersion: 1.0\nKeywords: " + b"x" * 70_000 + b"\n"
    facts = inspect_wheel._metadata_facts(head + b"\nthe description\n")
    assert (facts.name, facts.version) == ("big", "1.0")
    assert head not in inspect_wheel._FACTS
    small = b"Metadata-Version: 2.4\nName: small\nVersion: 1.0\n"
    assert inspect_wheel._metadata_facts(small + b"\ntext\n") is inspect_wheel._FACTS[small]


def test_wheels_sharing_metadata_bytes_are_each_judged_by_their_own_name(tmp_path: Path) -> None:
    """The rules read each METADATA once per run (a lock's platforms share it): what is read
    is the header's name, and each wheel is still held to its own file name."""
    honest = wheel(tmp_path / "a", "requests", {})
    forged = rewritten(
        wheel(tmp_path / "b", "evil-pkg", {}), "METADATA", b"Name: evil-pkg", b"Name: requests"
    )
    assert _metadata_of(honest) == _metadata_of(forged)
    report = scan([honest, forged])
    assert [(f.rule, f.package) for f in report.blocked] == [("meta-mismatch", "evil-pkg")]


@pytest.mark.parametrize("rule", sorted(CODE))
def test_each_code_rule_warns_by_default(tmp_path: Path, rule: str) -> None:
    report = scan([code_wheel(tmp_path, rule)])
    assert rules(report) == {(rule, WARN)}
    [found] = report.findings
    assert found.file == "evil_pkg/__init__.py"
    assert found.line is not None


@pytest.mark.parametrize("rule", sorted(CODE))
def test_each_code_rule_blocks_when_the_policy_says_so(tmp_path: Path, rule: str) -> None:
    policy = Policy(inspect=InspectPolicy(block=(rule,)))
    assert rules(scan([code_wheel(tmp_path, rule)], policy)) == {(rule, BLOCK)}


def test_setup_py_that_downloads_and_runs_a_program(tmp_path: Path) -> None:
    report = scan([sdist(tmp_path, "evil-build", {"setup.py": SETUP_PY})])
    hits = [(f.rule, f.file, f.line) for f in report.findings]
    assert hits == [
        ("code-setup-runs", "setup.py", 4),  # urlretrieve
        ("code-setup-runs", "setup.py", 5),  # os.system
    ]


def test_sdist_code_and_metadata_are_read_without_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    os.environ.pop("SAFEINSTALL_SCAN_PWNED", None)
    files = {
        "evil_build/__init__.py": CODE["code-exec-decoded"],
        "sitecustomize.py": f"open({str(marker)!r}, 'w')\n".encode(),
        "PKG-INFO": b"Metadata-Version: 2.2\nName: other\nVersion: 1.0\n\n",
    }
    report = scan([sdist(tmp_path, "evil-build", files)])
    assert rules(report) == {
        ("code-exec-decoded", WARN),
        ("startup-customize", BLOCK),
        ("meta-mismatch", BLOCK),
    }
    assert not marker.exists()


def test_an_unreadable_sdist_is_blocked(tmp_path: Path) -> None:
    bad = tmp_path / "broken-1.0.tar.gz"
    bad.write_bytes(b"\x1f\x8b" + os.urandom(200))
    report = scan([bad])
    assert rules(report) == {("archive-unreadable", BLOCK)}


def test_a_truncated_sdist_is_blocked_not_an_internal_error(tmp_path: Path) -> None:
    """The tar stream breaks inside a member the rules are reading."""
    module = os.urandom(300_000).hex().encode()  # incompressible: the cut lands inside it
    whole = sdist(tmp_path / "whole", "cut-short", {"cut_short/__init__.py": module})
    cut = tmp_path / whole.name
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    [found] = scan([cut]).findings
    assert (found.rule, found.severity) == ("archive-unreadable", BLOCK)


def test_a_too_large_module_is_reported_not_parsed(tmp_path: Path) -> None:
    big = b"x = 1\n" * (MAX_SOURCE_BYTES // 6 + 10)
    report = scan([wheel(tmp_path, "big-pkg", {"big_pkg/huge.py": big})])
    [found] = report.findings
    assert (found.rule, found.severity, found.file) == (
        "code-uninspectable",
        WARN,
        "big_pkg/huge.py",
    )
    assert "too large to inspect" in found.message


# --- honest files ---------------------------------------------------------------------------
def test_setuptools_and_coverage_start_up_files_pass(tmp_path: Path) -> None:
    files = [
        wheel(tmp_path, "setuptools", {"distutils-precedence.pth": SETUPTOOLS_PTH}),
        wheel(tmp_path, "coverage", {"a1_coverage.pth": COVERAGE_PTH}),
        wheel(tmp_path, "paths-only", {"paths_only.pth": b"/opt/extra\n./lib\n"}),
    ]
    assert scan(files).findings == ()


def test_a_known_start_up_file_from_another_owner_is_blocked(tmp_path: Path) -> None:
    impostor = wheel(tmp_path, "evil-pkg", {"distutils-precedence.pth": SETUPTOOLS_PTH})
    [found] = scan([impostor]).blocked
    assert found.rule == "startup-pth"
    assert "named like a known start-up file (setuptools)" in found.message


def test_startup_files_key_is_the_one_allowance(tmp_path: Path) -> None:
    """The same rule verify applies: removing the built-ins blocks setuptools' file too, and
    an exact { owner, file, sha256 } entry allows a file of one's own."""
    setuptools = wheel(tmp_path, "setuptools", {"distutils-precedence.pth": SETUPTOOLS_PTH})
    assert [f.rule for f in scan([setuptools], Policy(startup_files=())).blocked] == ["startup-pth"]
    own = wheel(tmp_path, "acme", {"acme.pth": PTH})
    entry = StartupFile("acme", "acme.pth", hashlib.sha256(PTH).hexdigest())
    assert scan([own], Policy(startup_files=(entry,))).findings == ()
    other = StartupFile("acme", "acme.pth", hashlib.sha256(b"import x\n").hexdigest())
    assert scan([own], Policy(startup_files=(other,))).blocked


def test_editable_finder_of_the_users_own_project_passes(tmp_path: Path) -> None:
    files = {
        "__editable__.my_proj-1.0.pth": f"import {FINDER}; {FINDER}.install()".encode(),
        f"{FINDER}.py": FINDER_CODE,
    }
    editable = wheel(tmp_path, "my-proj", files)
    assert scan([editable], projects=("my-proj",)).findings == ()
    # the same wheel from an index is no editable install of the user's: blocked
    assert [f.rule for f in scan([editable]).blocked] == ["startup-pth"]


def test_allow_drops_one_rule_for_one_package(tmp_path: Path) -> None:
    case = hostile_wheels(tmp_path)["clobber-script-other"]
    allowed = Policy(inspect=InspectPolicy(allow=(("evil-pkg", ("clobber-script",)),)))
    assert scan(case, allowed).findings == ()
    other = Policy(inspect=InspectPolicy(allow=(("acme-deploy", ("clobber-script",)),)))
    assert scan(case, other).blocked


@pytest.mark.parametrize("command", ["python.cmd", "PIP.BAT", "bash.com", "python3.exe"])
def test_a_command_shadows_under_any_extension_windows_runs(tmp_path: Path, command: str) -> None:
    evil = wheel(tmp_path, "evil-pkg", {f"evil_pkg-1.0.data/scripts/{command}": b"@echo off\n"})
    assert [f.rule for f in scan([evil]).blocked] == ["clobber-script"]


def test_a_command_belongs_to_the_project_of_that_name_whatever_the_order(tmp_path: Path) -> None:
    tool, evil = hostile_wheels(tmp_path)["clobber-script-other"]
    for order in ([tool, evil], [evil, tool]):
        [found] = scan(order).blocked
        assert (found.rule, found.package) == ("clobber-script", "evil-pkg")
        assert "shadows the one acme_deploy-1.0-py3-none-any.whl installs" in found.message


def test_paths_that_differ_only_in_case_clobber(tmp_path: Path) -> None:
    files = [
        wheel(tmp_path, "victim", {"Common.py": b""}),
        wheel(tmp_path, "evil-pkg", {"common.py": b""}),
    ]
    assert [f.rule for f in scan(files).blocked] == ["clobber-path"]


def test_warn_moves_a_blocking_rule_to_a_warning(tmp_path: Path) -> None:
    case = hostile_wheels(tmp_path)["clobber-path"]
    report = scan(case, Policy(inspect=InspectPolicy(warn=("clobber-path",))))
    assert rules(report) == {("clobber-path", WARN)}


def test_namespace_packages_and_one_projects_own_files_do_not_clobber(tmp_path: Path) -> None:
    files = [
        wheel(tmp_path, "ns-one", {"acme/one/__init__.py": b""}),
        wheel(tmp_path, "ns-two", {"acme/two/__init__.py": b""}),
    ]
    assert scan(files).findings == ()


@pytest.mark.slow
def test_the_projects_own_dev_dependencies_are_not_blocked() -> None:
    """False positives matter: no wheel of the dev wheelhouse (pip, mypy, pytest, urllib3,
    hypothesis...) is blocked by the default policy; the warnings are the known ones."""
    house = Path(os.environ.get("SAFEINSTALL_TEST_WHEELHOUSE", "/work/wheelhouse"))
    wheels = sorted(house.glob("*.whl"))
    if not wheels:
        pytest.skip("no wheelhouse")
    report = scan(wheels)
    assert report.blocked == ()
    assert {f.rule for f in report.warnings} <= {"code-secrets-sent", "code-startup-write"}


def test_grouped_joins_only_what_says_the_same_of_several_files_of_one_artifact() -> None:
    def hit(rule: str, file: str | None, message: str, line: int | None = None) -> Finding:
        return Finding(rule, "p", "p-1.whl", file, line, message, "warn")

    owned = "it writes into the package q, which q-1.whl owns"
    findings = [
        hit("clobber-package", "q/a.py", owned),
        hit("code-exec-decoded", "p/m.py", "exec of decoded data", 3),
        hit("clobber-package", "q/b.py", owned),
        hit("code-exec-decoded", "p/n.py", "exec of decoded data", 9),
        hit("clobber-path", "x.py", "q-1.whl writes it too"),
    ]
    assert [line for _, line in grouped(findings)] == [
        f"[clobber-package] p: p-1.whl: 2 files (q/a.py, q/b.py): {owned}",
        "[code-exec-decoded] p: p-1.whl:p/m.py:3: exec of decoded data",
        "[code-exec-decoded] p: p-1.whl:p/n.py:9: exec of decoded data",
        "[clobber-path] p: p-1.whl:x.py: q-1.whl writes it too",
    ]
