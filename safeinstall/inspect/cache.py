"""Cached code-pattern results, by artifact sha256 and rule-set version.

Parsing every module of a big wheel is the scanner's one slow step, so its result (the
``code-*`` findings, which depend on the bytes alone) is kept in ``<cache>/inspect/<sha256>``.

Whoever can write the cache directory can write an entry saying "nothing found" for a hostile
artifact (a restored CI cache is such a writer). So an entry is never what lets a file through:

- only ``code-*`` findings are cached; the rules that block by default (start-up files,
  clobbering, metadata) run afresh on every scan;
- an entry is used only when no code rule would block that package under the policy in force:
  where one would, the files are parsed again (``scan.py``);
- an entry that is not exactly what ``store`` writes (its artifact sha256 and the rule-set
  version inside, well-formed findings of known rules for that artifact) is ignored, as if
  absent, and replaced.

At worst, a forged entry hides warnings.
"""

from __future__ import annotations

import json
from pathlib import Path

from safeinstall.digests import is_sha256
from safeinstall.files.cachedir import private_dir, read_entry, write_entry
from safeinstall.inspect.rules import CODE_RULES, RULESET_VERSION, Finding

MAX_ENTRY_BYTES = 8 * 1024 * 1024


def _entry(cache: Path, sha256: str) -> Path | None:
    if not is_sha256(sha256):
        return None
    return private_dir(private_dir(cache) / "inspect") / sha256


def load(cache: Path, sha256: str, artifact: str) -> list[Finding] | None:
    """The cached code findings of the artifact ``sha256`` (named ``artifact``); None when
    there is no usable entry."""
    path = _entry(cache, sha256)
    raw = read_entry(path) if path is not None else None
    if raw is None or len(raw) > MAX_ENTRY_BYTES:
        return None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("sha256") != sha256:
            return None
        if data.get("rules") != RULESET_VERSION or not isinstance(data.get("findings"), list):
            return None
        findings = [Finding.from_json(f) for f in data["findings"]]
    except ValueError:  # JSON errors too
        return None
    if any(f.rule not in CODE_RULES or f.artifact != artifact for f in findings):
        return None
    return findings


def store(cache: Path, sha256: str, findings: list[Finding]) -> None:
    """Keep the code findings of ``sha256``; a cache that cannot be written is skipped."""
    path = _entry(cache, sha256)
    if path is None:
        return
    data = {
        "sha256": sha256,
        "rules": RULESET_VERSION,
        "findings": [f.to_json() for f in findings if f.rule in CODE_RULES],
    }
    try:
        write_entry(path, json.dumps(data, sort_keys=True).encode())
    except OSError:  # a full disk, a directory removed meanwhile: not cached
        return
