"""Derive safeinstall/guard/data/popular-names.txt (and its look-alike index) from a download CSV.

Usage: python bench/derive_popular_names.py CSV OUT [--protect N]
       python bench/derive_popular_names.py --index-only OUT


CSV has the columns ``download_count,project`` (30-day download counts on the public index). OUT
gets one canonical name per line, by descending downloads (ties by name), the N most downloaded
marked with a leading ``+``: those are typosquat targets; every listed name is known-legitimate.
The output is a function of the CSV and N only, so re-running it gives the same bytes. Next to OUT
the script writes ``popular-index.txt``, the look-alike index of the protected names that the
typosquat rule reads (``safeinstall.guard.names.index_text``), and ``popular-sorted.txt``, the
names sorted for ``is_listed`` (``safeinstall.guard.popular.sorted_text``); ``--index-only``
rewrites just those two from an existing OUT.
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


def write_index(out: Path) -> Path:
    """Write the look-alike index and the sorted copy of the list ``out`` next to it; return
    the index's path."""
    from safeinstall.guard.names import index_text, parse_popular_names
    from safeinstall.guard.popular import sorted_text

    protected = parse_popular_names(out.read_text(encoding="utf-8")).protected
    index = out.with_name("popular-index.txt")
    index.write_text(index_text(protected), encoding="ascii", newline="\n")
    listed = out.with_name("popular-sorted.txt")
    listed.write_text(sorted_text(out.read_bytes()), encoding="ascii", newline="\n")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, nargs="?")
    parser.add_argument("out", type=Path)
    parser.add_argument("--protect", type=int, default=DEFAULT_PROTECT, metavar="N")
    parser.add_argument("--index-only", action="store_true", help="rewrite OUT's index only")
    args = parser.parse_args(argv)
    if args.index_only == (args.csv is not None):
        parser.error("give CSV and OUT, or --index-only and OUT")
    if args.csv is not None:
        text = derive(read_csv(args.csv), args.protect, args.csv.name)
        args.out.write_text(text, encoding="utf-8", newline="\n")
    write_index(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
