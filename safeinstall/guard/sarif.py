"""SARIF 2.1.0 output of `check`, for code-scanning UIs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from safeinstall import __version__
from safeinstall.errors import SafeinstallError
from safeinstall.guard.findings import RULES, Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INPUT_ERROR_RULE = "invalid-input"


def _uri(path: str) -> str:
    """Repository-relative forward-slash path when under the current directory."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    return p.as_posix().replace(os.sep, "/")


def _result(rule: str, text: str, path: str | None, line: int | None, level: str) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": rule, "level": level, "message": {"text": text}}
    if path is not None:
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(path)}}
        if line is not None:
            location["region"] = {"startLine": line}
        result["locations"] = [{"physicalLocation": location}]
    return result


def to_sarif(findings: Sequence[Finding], errors: Sequence[SafeinstallError]) -> dict[str, Any]:
    rules = [
        {"id": rule, "shortDescription": {"text": text}, "help": {"text": text}}
        for rule, text in RULES.items()
    ]
    rules.append(
        {
            "id": INPUT_ERROR_RULE,
            "shortDescription": {"text": "A file could not be read or understood."},
            "help": {"text": "Fix the file so that it can be checked; it is treated as failing."},
        }
    )
    results = [
        _result(
            f.rule,
            f"{f.message}. Fix: {f.fix}",
            f.location.path,
            f.location.line,
            "error" if f.severity == "error" else "warning",
        )
        for f in findings
    ]
    for err in errors:
        where = err.location
        results.append(
            _result(
                INPUT_ERROR_RULE,
                err.message + (f". {err.hint}" if err.hint else ""),
                where.path if where else None,
                where.line if where else None,
                "error",
            )
        )
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "safeinstall", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }
