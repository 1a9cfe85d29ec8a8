"""`check`'s findings and unreadable files as SARIF (``safeinstall.sarif`` writes the log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from safeinstall.errors import SafeinstallError
from safeinstall.guard.findings import RULES, Finding
from safeinstall.sarif import Result, Rule, sarif_log

INPUT_ERROR_RULE = "invalid-input"


def to_sarif(findings: Sequence[Finding], errors: Sequence[SafeinstallError]) -> dict[str, Any]:
    rules = [Rule(rule, text) for rule, text in RULES.items()]
    rules.append(
        Rule(
            INPUT_ERROR_RULE,
            "A file could not be read or understood.",
            "Fix the file so that it can be checked; it is treated as failing.",
        )
    )
    results = [
        Result(
            f.rule,
            "error" if f.severity == "error" else "warning",
            f"{f.message}. Fix: {f.fix}",
            f.location.path,
            f.location.line,
        )
        for f in findings
    ]
    for err in errors:
        where = err.location
        results.append(
            Result(
                INPUT_ERROR_RULE,
                "error",
                err.message + (f". {err.hint}" if err.hint else ""),
                where.path if where else None,
                where.line if where else None,
            )
        )
    return sarif_log(rules, results)
