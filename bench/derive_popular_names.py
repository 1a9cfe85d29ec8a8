"""Derive safeinstall/guard/data/popular-names.txt from a download-count CSV.

Usage: python bench/derive_popular_names.py CSV OUT [--protect N]

CSV has the columns ``download_count,project`` (30-day download counts on the public index). OUT
gets one canonical name per line, by descending downloads (ties by name), the N most downloaded
marked with a leading ``+``: those are typosquat targets; every listed name is known-legitimate.
The output is a function of the CSV and N only, so re-running it gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

# Protect the top names only: a name outside the list then has at most this list's smallest count,
# and the protected names (>= ~800k downloads a month at N=5000, 2026-04) dwarf it about 14 times.
DEFAULT_PROTECT = 5000
_VALID = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE | re.ASCII)


def derive(rows: list[tuple[int, str]], protect: int, source: str) -> str:
    counts: dict[str, int] = {}
    for count, project in rows:
        if not _VALID.match(project):
            continue
        name = canonicalize_name(project)
        counts[name] = max(count, counts.get(name, 0))
    ordered = sorted(counts, key=lambda name: (-counts[name], name))
    header = [
        f"# Popular project names, derived from {source} by bench/derive_popular_names.py.",
        "# One canonical name per line, by descending downloads. '+' marks a protected name",
        f"# (one of the top {min(protect, len(ordered))}: a typosquat target); all are known.",
        "# Do not edit by hand: re-run the script.",
    ]
    body = [("+" if rank < protect else "") + name for rank, name in enumerate(ordered)]
    return "\n".join(header + body) + "\n"


def read_csv(path: Path) -> list[tuple[int, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"download_count", "project"} <= set(reader.fieldnames):
            raise SystemExit(f"{path}: expected the columns download_count,project")
        return [(int(row["download_count"]), row["project"].strip()) for row in reader]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--protect", type=int, default=DEFAULT_PROTECT, metavar="N")
    args = parser.parse_args(argv)
    text = derive(read_csv(args.csv), args.protect, args.csv.name)
    args.out.write_text(text, encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
