"""Scan benchmark: the scanner's findings on the most-downloaded projects' wheels, and its cost.

For each of the top ``--top`` projects of ``top-pypi-packages.csv`` (default 100): the newest
final, unyanked release that admits the target Python, and its wheel the target prefers most
(``--python-version``/``--platform``, default CPython 3.11 on x86_64 Linux; a pure-Python wheel
when that is all there is). The wheel is downloaded into ``--cache`` (hash-checked against the
index's sha256, as ``install`` does) and all of them are scanned together with the real scanner
(``inspect.scan.scan_files``) under the built-in default policy, as one lock would be: first with
an empty scan cache (cold), then again with the cache the first pass wrote (cached).

It prints, per rule, how many findings block and how many warn; every finding with its package,
file, line, message and the rule's explanation; the projects with no wheel for the target (sdist
only, or no file for it), the wheels skipped for size (``--max-mb``) and the projects that could
not be fetched; and the two scan timings. ``--json FILE`` writes the same as JSON.

It reaches the index pip is configured with by default (read from pip at run time); run it with
no pip configuration so that is the public one:

    env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null python bench/scan_bench.py [--top 100]

Exit 1 when a finding is blocked, else 0. Not run by the tests (``tests/bench/`` tests its parts).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall import frozen
from safeinstall.errors import SafeinstallError
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.index.fetch import Artifact, Store, fetch_all
from safeinstall.inspect.rules import BLOCK, RULES, WARN, Finding
from safeinstall.inspect.scan import scan_files
from safeinstall.inspect.verdict import ScanReport
from safeinstall.install.plan import Network, open_network
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.policy.pipconfig import default_index
from safeinstall.targets import Target, tag_ranks, target_for

HERE = Path(__file__).resolve().parent
CSV = HERE.parent.parent / "shared" / "data" / "top-pypi-packages.csv"
CACHE = Path(tempfile.gettempdir()) / "safeinstall-scan-bench"


@dataclasses.dataclass(frozen=True, slots=True)
class Pick:
    """What the benchmark scans of one project: ``file`` None says why not (``why``)."""

    project: NormalizedName
    version: Version | None
    file: DistFile | None
    why: str = ""


def top_names(path: Path, count: int) -> list[NormalizedName]:
    """The first ``count`` distinct projects of the CSV (``download_count,project``, most
    downloaded first), canonical."""
    names: list[NormalizedName] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            name = canonicalize_name(row["project"].strip())
            if name and name not in names:
                names.append(name)
            if len(names) == count:
                break
    return names


def choose_wheel(page: ProjectPage, target: Target) -> Pick:
    """The newest final release with an unyanked file that admits ``target``'s Python (the
    newest prerelease when there is no such release, as pip does), and its wheel ``target``
    prefers most; no wheel: the release and why (sdist only, or none fits)."""
    ranks = tag_ranks(target)
    finals = [v for v in page.releases() if not v.is_prerelease]
    pres = [v for v in page.releases() if v.is_prerelease]
    for version in [*finals, *pres]:
        files = [f for f in page.files_of(version) if f.yanked is None and _admits(f, target)]
        if not files:
            continue
        wheels = [
            (min(ranks.get(t, len(ranks)) for t in f.tags), f)
            for f in files
            if f.kind == "wheel" and f.tags
        ]
        fitting = sorted((rank, f.filename, f) for rank, f in wheels if rank < len(ranks))
        if fitting:
            return Pick(page.project, version, fitting[0][2])
        why = "sdist only" if not wheels else f"no wheel for {target.name}"
        return Pick(page.project, version, None, why)
    return Pick(page.project, None, None, "no release for the target")


def _admits(file: DistFile, target: Target) -> bool:
    spec = file.requires_python
    return spec is None or spec.contains(target.python_version, prereleases=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Fetched:
    pick: Pick
    path: Path | None
    why: str = ""  # set when path is None: skipped or failed


def fetch_project(
    name: NormalizedName, target: Target, net: Network, store: Store, max_bytes: int
) -> Fetched:
    """One project's page, its chosen wheel and (verified) bytes; every failure is an answer."""
    try:
        pick = choose_wheel(net.client.project(name), target)
    except SafeinstallError as exc:
        return Fetched(Pick(name, None, None), None, f"page: {exc}")
    file = pick.file
    if file is None:
        return Fetched(pick, None, pick.why)
    if file.sha256 is None:
        return Fetched(pick, None, "the index gives no sha256")
    if file.size is not None and file.size > max_bytes:
        return Fetched(pick, None, f"skipped: {file.size / 2**20:.0f} MiB")
    artifact = Artifact(name, file.version, file.filename, file.sha256, file.url, file.size)
    try:
        got = fetch_all([artifact], store, net.http, workers=1)
    except SafeinstallError as exc:
        return Fetched(pick, None, f"download: {exc}")
    return Fetched(pick, got[file.sha256])


def per_rule(report: ScanReport) -> dict[str, dict[str, int]]:
    """rule -> {"block": findings, "warn": findings, "projects": distinct packages}, every rule."""
    table = {rule: {BLOCK: 0, WARN: 0, "projects": 0} for rule in RULES}
    projects: dict[str, set[str]] = {rule: set() for rule in RULES}
    for f in report.findings:
        table[f.rule][f.severity] += 1
        projects[f.rule].add(f.package)
    for rule, names in projects.items():
        table[rule]["projects"] = len(names)
    return table


def _finding(f: Finding) -> dict[str, object]:
    return {**f.to_json(), "explanation": RULES[f.rule].summary}


def _network_policy(policy: Policy) -> Policy:
    """``policy`` with pip's default index only (never a configured mirror): the files scanned
    are the public ones whatever pip.conf says."""
    url, file_host = default_index()
    index = IndexSpec(name="pip-index", url=url, file_hosts=(file_host,))
    return frozen.replace(policy, indexes=(index,))


def run(args: argparse.Namespace) -> dict[str, object]:
    target = target_for(args.python_version, args.platform)
    names = top_names(args.csv, args.top)
    policy = Policy()  # the built-in default, as `install` has with no policy file
    cache: Path = args.cache
    store = Store(cache)
    start = time.perf_counter()
    with open_network(_network_policy(policy), cache) as net, ThreadPoolExecutor(8) as pool:
        done = list(
            pool.map(lambda n: fetch_project(n, target, net, store, args.max_mb * 2**20), names)
        )
    fetch_seconds = time.perf_counter() - start
    files = [
        (
            Artifact(
                d.pick.project,
                d.pick.file.version,
                d.pick.file.filename,
                d.pick.file.sha256 or "",
                size=d.pick.file.size,
            ),
            d.path,
        )
        for d in done
        if d.path is not None and d.pick.file is not None
    ]
    with tempfile.TemporaryDirectory(prefix="scan-bench-") as tmp:
        scan_cache = Path(tmp)
        timings = {}
        for phase in ("cold", "cached"):
            start = time.perf_counter()
            report = scan_files(files, policy, cache=scan_cache)
            timings[phase] = time.perf_counter() - start
    return {
        "target": target.name,
        "projects": len(names),
        "scanned": len(files),
        "megabytes": round(sum(p.stat().st_size for _, p in files) / 2**20, 1),
        "fetch_seconds": round(fetch_seconds, 1),
        "scan_seconds": {k: round(v, 2) for k, v in timings.items()},
        "rules": per_rule(report),
        "findings": [_finding(f) for f in report.findings],
        "not_scanned": [
            {
                "project": d.pick.project,
                "version": str(d.pick.version) if d.pick.version else None,
                "why": d.why,
            }
            for d in done
            if d.path is None
        ],
        "wheels": {d.pick.project: d.pick.file.filename for d in done if d.path and d.pick.file},
    }


def text(result: dict[str, object]) -> str:
    """The human-readable report of ``run``'s result."""
    rules: dict[str, dict[str, int]] = result["rules"]  # type: ignore[assignment]
    findings: list[dict[str, object]] = result["findings"]  # type: ignore[assignment]
    skipped: list[dict[str, object]] = result["not_scanned"]  # type: ignore[assignment]
    timing: dict[str, float] = result["scan_seconds"]  # type: ignore[assignment]
    out = [
        f"{result['projects']} projects, {result['scanned']} wheels scanned for "
        f"{result['target']} ({result['megabytes']} MiB, fetched in {result['fetch_seconds']} s)",
        f"scan: cold {timing['cold']:.2f} s, cached {timing['cached']:.2f} s",
        "",
        f"{'rule':<24} {'default':>7} {'blocked':>8} {'warned':>7} {'projects':>9}",
    ]
    for rule, row in rules.items():
        out.append(
            f"{rule:<24} {RULES[rule].severity:>7} {row[BLOCK]:>8} {row[WARN]:>7} "
            f"{row['projects']:>9}"
        )
    blocked = sum(row[BLOCK] for row in rules.values())
    warned = sum(row[WARN] for row in rules.values())
    out += [f"{'total':<24} {'':>7} {blocked:>8} {warned:>7}", ""]
    for f in findings:
        line = f":{f['line']}" if f["line"] is not None else ""
        place = f"{f['artifact']}:{f['file']}{line}" if f["file"] else str(f["artifact"])
        out += [
            f"{f['severity']}: [{f['rule']}] {f['package']}: {place}",
            f"    {f['message']}",
            f"    ({f['explanation']})",
        ]
    out.append("")
    for item in sorted(skipped, key=lambda i: str(i["why"])):
        out.append(f"not scanned: {item['project']} {item['version'] or ''}: {item['why']}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--top", type=int, default=100, help="how many projects (default 100)")
    parser.add_argument("--csv", type=Path, default=CSV, help="top-pypi-packages.csv")
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--platform", default="linux")
    parser.add_argument("--max-mb", type=int, default=100, help="skip larger wheels (MiB)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="downloads and index pages")
    parser.add_argument("--fresh", action="store_true", help="empty --cache first")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the result here")
    args = parser.parse_args(argv)
    if args.fresh:
        shutil.rmtree(args.cache, ignore_errors=True)
    result = run(args)
    print(text(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    rules: dict[str, dict[str, int]] = result["rules"]  # type: ignore[assignment]
    return 1 if any(row[BLOCK] for row in rules.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
