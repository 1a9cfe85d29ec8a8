"""The `audit` policy key: ignores need an id, a reason and an expiry date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from safeinstall.errors import PolicyConfigError
from safeinstall.policy.load import load_policy
from safeinstall.policy.model import AuditIgnore


def load(tmp_path: Path, body: str) -> tuple[AuditIgnore, ...]:
    path = tmp_path / "safeinstall.toml"
    path.write_text(body, encoding="utf-8")
    return load_policy(str(path), environ={}).audit_ignores


def problem(tmp_path: Path, body: str) -> str:
    with pytest.raises(PolicyConfigError) as info:
        load(tmp_path, body)
    return str(info.value)


def test_ignores_with_toml_date_or_string(tmp_path: Path) -> None:
    body = """
[audit]
ignore = [
  { id = "PYSEC-2024-47", reason = "we never call truncatewords_html", until = 2026-12-31 },
  { id = "CVE-2023-1", reason = " dev only ", until = "2025-01-31" },
]
"""
    assert load(tmp_path, body) == (
        AuditIgnore("PYSEC-2024-47", "we never call truncatewords_html", date(2026, 12, 31)),
        AuditIgnore("CVE-2023-1", "dev only", date(2025, 1, 31)),
    )


def test_no_audit_key_means_no_ignores(tmp_path: Path) -> None:
    assert load(tmp_path, "") == ()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{ id = "PYSEC-1", until = 2026-01-01 }', "ignoring PYSEC-1 needs a non-empty reason"),
        ('{ id = "PYSEC-1", reason = " ", until = 2026-01-01 }', "needs a non-empty reason"),
        ('{ id = "PYSEC-1", reason = "r" }', "ignoring PYSEC-1 needs an expiry date"),
        ('{ id = "PYSEC-1", reason = "r", until = "next year" }', "needs an expiry date"),
        ('{ id = "PYSEC-1", reason = "r", until = 2026-01-01T00:00:00 }', "needs an expiry date"),
        ('{ reason = "r", until = 2026-01-01 }', "must be an advisory id"),
        ('{ id = "../x", reason = "r", until = 2026-01-01 }', "must be an advisory id"),
        ('{ id = "PYSEC-1", reason = "r", until = 2026-01-01, note = "x" }', "unknown key 'note'"),
    ],
)
def test_invalid_ignore(tmp_path: Path, entry: str, message: str) -> None:
    text = problem(tmp_path, f"[audit]\nignore = [{entry}]\n")
    assert message in text
    assert "safeinstall.toml:2" in text  # the line of the entry


def test_duplicate_ignore(tmp_path: Path) -> None:
    entry = '{ id = "PYSEC-1", reason = "r", until = 2026-01-01 }'
    assert "'PYSEC-1' is ignored twice" in problem(
        tmp_path, f"audit = {{ ignore = [{entry}, {entry}] }}\n"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('audit = "off"\n', "'audit' must be a table"),
        ("[audit]\nignore = 1\n", "'audit.ignore' must be an array of tables"),
        ("[audit]\nignores = []\n", "unknown key 'ignores' in 'audit' (did you mean 'ignore'?)"),
    ],
)
def test_invalid_audit_table(tmp_path: Path, body: str, message: str) -> None:
    assert message in problem(tmp_path, body)


def test_active_through_its_last_day() -> None:
    ignore = AuditIgnore("X", "r", date(2026, 1, 1))
    assert ignore.active(date(2026, 1, 1))
    assert not ignore.active(date(2026, 1, 2))
