"""Page-parsing micro-benchmark: the CPU a lock spends turning project pages into candidates.

    python bench/page_bench.py save LOCK DIR    # fetch the pages of LOCK's packages into DIR
    python bench/page_bench.py parse DIR [--runs 3] [--profile] [--cache CACHE_DIR]

Run both with ``env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null``: ``save`` asks the index the
default policy trusts (pip's configuration) for each package's page and keeps the bodies and
content types as served. ``parse`` parses them as ``lock --python-version 3.13`` does (the same
file filter), reads the pinned release of each page (what the resolver asks for at least) and
prints the process CPU time per run. With ``--cache``, pages go through the parsed-page cache in
that directory: a run that finds it empty writes the entries, later runs read them (warm). Runs
after the first in one process find the shared version and tag caches filled: compare first
runs, one process each (``--runs 1``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import sys
import time
from pathlib import Path

from packaging.version import Version

from safeinstall.index.client import ACCEPT, MAX_PAGE_BYTES
from safeinstall.index.filenames import FileFilter
from safeinstall.index.pages import parse_page
from safeinstall.net.http import Http
from safeinstall.policy.hosts import HostPolicy
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.policy.pipconfig import trusted_indexes
from safeinstall.targets import target_for

_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)", re.MULTILINE)


def save(lock: Path, out: Path) -> None:
    index = trusted_indexes(Policy())[0]
    http = Http(allowed=HostPolicy((index,)))
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, version in _PIN.findall(lock.read_text()):
        url = f"{index.url}/{name}/"
        reply = http.get(url, headers={"Accept": ACCEPT}, max_bytes=MAX_PAGE_BYTES)
        if reply.status != 200:
            sys.exit(f"{url}: HTTP {reply.status}")
        (out / name).write_bytes(reply.body)
        manifest[name] = {
            "version": version,
            "url": reply.url or url,
            "content_type": reply.headers.get("content-type", ""),
        }
    (out / "manifest.json").write_text(json.dumps({"index": index.url, "pages": manifest}))
    size = sum((out / n).stat().st_size for n in manifest)
    print(f"{len(manifest)} pages, {size / 1e6:.1f} MB in {out}")


def parse_all(folder: Path, index: IndexSpec, cache: Path | None) -> int:
    manifest = json.loads((folder / "manifest.json").read_text())
    keep = FileFilter(target_for("3.13", None).tags, lambda name: True)
    memo = None
    if cache is not None:  # imported here: the bench also runs against trees without the cache
        from safeinstall.files.cachedir import DerivedCache

        memo = DerivedCache(cache / "parsed")
    files = 0
    for name, entry in manifest["pages"].items():
        page = parse_page(
            (folder / name).read_bytes(),
            entry["content_type"],
            page_url=entry["url"],
            project=name,
            index=index,
            fits=keep,
            **({"memo": memo} if memo is not None else {}),  # type: ignore[arg-type]
        )
        page.releases()
        files += len(page.files_of(Version(entry["version"])))
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save")
    s.add_argument("lock", type=Path)
    s.add_argument("dir", type=Path)
    p = sub.add_parser("parse")
    p.add_argument("dir", type=Path)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--cache", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        save(args.lock, args.dir)
        return
    url = json.loads((args.dir / "manifest.json").read_text())["index"]
    index = next(i for i in trusted_indexes(Policy()) if i.url == url)
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(parse_all, args.dir, index, args.cache)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        return
    for run in range(args.runs):
        start = time.process_time()
        files = parse_all(args.dir, index, args.cache)
        print(f"run {run + 1}: {time.process_time() - start:.3f} s CPU, {files} files")


if __name__ == "__main__":
    main()
