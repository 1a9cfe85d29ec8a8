"""`safeinstall lock` applies the policy to PEP 792 project statuses served by the index, and
min-release-age with its exemptions (packages, indexes), through the real CLI and loopback index.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project

FRESH = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def project(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    return demo_project(tmp_path, index_server, cli, monkeypatch)


def test_a_quarantined_dependency_fails_the_lock_and_leaves_it_untouched(
    project: LockProject,
) -> None:
    assert project.lock().code == 0
    project.server.set_status("a", "dep", "quarantined", "malware found")
    before = project.snapshot()
    result = project.lock("--upgrade")
    project.assert_failed_safely(result, before)
    assert "index 'local' marks dep quarantined: malware found, which the policy denies" in (
        result.err
    )


def test_an_archived_project_locks_with_one_warning(project: LockProject) -> None:
    project.server.set_status("a", "dep", "archived", "no longer maintained")
    result = project.lock()
    assert result.code == 0, result.err
    warning = "index 'local' marks dep archived: no longer maintained"
    assert result.err.count(warning) == 1, result.err
    assert "dep==1.0" in (project.root / "requirements.txt").read_text()


def test_the_policy_decides_per_status(project: LockProject) -> None:
    project.server.set_status("a", "dep", "archived")
    project.write_policy('project-status = { archived = "deny" }')
    refused = project.lock()
    assert refused.code == 1
    assert "marks dep archived, which the policy denies" in refused.err
    project.server.set_status("a", "dep", "quarantined")
    project.write_policy('project-status = { quarantined = "allow" }')
    allowed = project.lock()
    assert allowed.code == 0, allowed.err
    assert "quarantined" not in allowed.err


def test_an_unknown_status_is_denied_unless_the_policy_names_it(project: LockProject) -> None:
    project.server.set_status("a", "dep", "compromised")
    assert project.lock().code == 1
    project.write_policy('project-status = { compromised = "warn" }')
    assert project.lock().code == 0


def test_a_hostile_status_reason_reaches_the_terminal_without_escapes(
    project: LockProject,
) -> None:
    project.server.set_status("a", "dep", "deprecated", "\x1b[2J\x1b]0;owned\x07use " + "x" * 900)
    result = project.lock()
    assert result.code == 0, result.err
    assert "\x1b" not in result.err and "\x07" not in result.err
    line = next(x for x in result.err.splitlines() if "marks dep deprecated" in x)
    assert "[2J]0;owneduse xxx" in line
    assert len(line) < 400


def test_min_release_age_exempts_a_package(project: LockProject) -> None:
    project.publish("dep", "2.0", upload_time=FRESH)
    project.write_policy('min-release-age = "7 days"')
    assert project.lock().code == 0
    assert "dep==1.0" in (project.root / "requirements.txt").read_text()
    project.write_policy('min-release-age = { age = "7 days", exempt = ["dep"] }')
    assert project.lock("--upgrade").code == 0
    assert "dep==2.0" in (project.root / "requirements.txt").read_text()


def test_an_index_that_serves_no_upload_times_can_be_exempt(project: LockProject) -> None:
    project.publish("internal", "1.0", index="corp", upload_time=None)
    (project.root / "requirements.in").write_text("demo\ninternal\n")
    corp = ("corp", project.server.index_url("corp"), 'packages = ["internal"]')
    local = ("local", project.server.index_url("a"), "")
    project.write_policy('min-release-age = "7 days"', indexes=[local, corp])
    refused = project.lock()
    assert refused.code == 1
    assert "does not say when its files were uploaded" in refused.err
    assert 'exempt-indexes = ["corp"]' in refused.err  # the hint names the way out
    project.write_policy(
        'min-release-age = { age = "7 days", exempt-indexes = ["corp"] }', indexes=[local, corp]
    )
    result = project.lock()
    assert result.code == 0, result.err
    assert "internal==1.0" in (project.root / "requirements.txt").read_text()
