"""`audit --status` reports the PEP 792 status each locked project has on its index now: a
project quarantined since locking fails the audit, an archived one is shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project
from tests.support.sarif import assert_valid_sarif, located, results


@pytest.fixture
def project(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    assert project.lock().code == 0
    (tmp_path / "osv").mkdir()  # an offline OSV database with no advisories
    return project


def audit(project: LockProject, *extra: str) -> Any:
    osv = project.root.parent / "osv"
    return project.run("audit", "--policy", project.policy_path, "--db", osv, *extra)


def test_a_project_quarantined_since_locking_fails_the_audit(project: LockProject) -> None:
    assert audit(project, "--status").code == 0
    project.server.set_status("a", "dep", "quarantined", "\x1b[2Jmalware")
    result = audit(project, "--status")
    assert result.code == 1, result.err
    assert "quarantined: dep 1.0: index 'local' marks dep quarantined: [2Jmalware" in result.out
    assert "\x1b" not in result.out + result.err
    assert audit(project).code == 0  # without --status the index is not asked


def test_an_archived_project_is_shown_and_in_the_json(project: LockProject) -> None:
    project.server.set_status("a", "demo", "archived")
    result = audit(project, "--status")
    assert result.code == 0, result.err
    assert "archived: demo 1.0: index 'local' marks demo archived" in result.out + result.err
    data = json.loads(audit(project, "--status", "--format", "json").out)
    assert data["statuses"] == [
        {
            "name": "demo",
            "version": "1.0",
            "status": "archived",
            "action": "warn",
            "message": "index 'local' marks demo archived",
        }
    ]


def test_sarif_puts_each_status_on_its_lock_line(project: LockProject) -> None:
    project.server.set_status("a", "dep", "quarantined")
    project.server.set_status("a", "demo", "archived")
    result = audit(project, "--status", "--format", "sarif")
    assert result.code == 1, result.err  # the quarantine is denied, as in text
    lock = project.root / "requirements.txt"
    text = lock.read_text().splitlines()
    line = {
        name: next(n for n, t in enumerate(text, 1) if t.startswith(f"{name}=="))
        for name in ("demo", "dep")
    }
    found = results(assert_valid_sarif(result.out))
    assert sorted((r["ruleId"], r["level"], located(r)) for r in found) == [
        ("project-status", "error", ("requirements.txt", line["dep"])),
        ("project-status", "warning", ("requirements.txt", line["demo"])),
    ]
