"""Measure typosquat false positives and lookup speed on real names.

Usage: python bench/names_false_positives.py [SHARED_DIR]   (default: ../shared beside the repo)

Prints, for safeinstall.guard.names and its shipped list: findings on real requirement
files (must be 0), findings over every listed name (must be 0), how many listed but unprotected
names would be
flagged if they were not listed (how aggressive the rules are), and timings.
"""

from __future__ import annotations

import re
import sys
import time
import timeit
from pathlib import Path

from safeinstall.guard import names

_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_names(path: Path) -> list[str]:
    """Project names at the start of each requirement line (no options, comments, continuations)."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _REQUIREMENT.match(line)
        if match:
            found.append(match.group(1))
    return found


def main(argv: list[str]) -> int:
    shared = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "shared"
    sets = shared / "bench" / "sets"
    files = [sets / "treeherder.upstream.txt", *sorted(sets.glob("*.in"))]
    for path in files:
        found = {n: names.typosquat_of(n) for n in requirement_names(path)}
        flagged = {n: t for n, t in found.items() if t is not None}
        print(f"{path.name}: {len(found)} names, {len(flagged)} flagged {flagged or ''}")

    popular = names.popular_names()
    listed = sorted(popular.known)
    flagged_known = [n for n in listed if names.typosquat_of(n) is not None]
    print(f"listed names: {len(listed)}, flagged: {len(flagged_known)}")

    protected = set(popular.protected)
    unprotected = [n for n in _ranked(shared) if n in popular.known and n not in protected]
    would = {n: names.imitation_among_protected(n) for n in unprotected}
    hits = {n: i for n, i in would.items() if i is not None}
    share = 100 * len(hits) / max(1, len(unprotected))
    print(
        f"unprotected listed names flagged if they were not listed: {len(hits)} of "
        f"{len(unprotected)} ({share:.1f}%)"
    )
    by_how: dict[str, int] = {}
    for imitation in hits.values():
        by_how[imitation.how] = by_how.get(imitation.how, 0) + 1
    for how, count in sorted(by_how.items(), key=lambda item: -item[1]):
        print(f"  {count:5d}  {how}")
    for name, imitation in list(hits.items())[:: max(1, len(hits) // 40)]:
        print(f"    {name} -> {imitation.target} ({imitation.how})")

    # Speed: 300 names that are all listed (a real lock), and 300 that are not (worst case).
    sample_known = listed[:: len(listed) // 300][:300]
    sample_unknown = [n + "x" for n in unprotected[:300]]
    for label, sample in (("listed", sample_known), ("unlisted", sample_unknown)):
        run = lambda s=sample: [names.typosquat_of(n) for n in s]  # noqa: E731
        seconds = min(timeit.repeat(run, number=5, timer=time.process_time))
        print(f"300 {label} names: {1000 * seconds / 5:.2f} ms of CPU")
    return 0


def _ranked(shared: Path) -> list[str]:
    rows = (shared / "data" / "top-pypi-packages.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [row.split(",", 1)[1].strip('"').lower() for row in rows]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
