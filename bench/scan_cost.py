"""What the scan adds to an install: the scan of a lock cold and cached, and the same offline
install with the scan cold and with the scan already cached.

On copies in ``--work`` (the lock, the policy and the wheelhouse are copied there once; nothing
is written where they came from), with the real CLI in subprocesses, as a user runs it:

- scan, cold:     ``safeinstall scan LOCK --offline --find-links WHEELS --python TARGET``,
                  empty cache
- scan, cached:   the same again, with the cache the cold scan wrote
- install, scan cold:   ``safeinstall install -r LOCK --offline --find-links WHEELS --python
                  VENV`` into a fresh venv, empty cache
- install, scan cached: the same into another fresh venv, the cache holding only the scan's
                  results (``<cache>/inspect``) from the cold scan: the difference between the
                  two installs is the scan, nothing else

It prints wall time and the user and system CPU of each command (its children included: pip,
the scan's worker processes), the median of ``--runs`` runs, and the scan's share of the cold
install. Not run by the tests (``tests/bench/test_scan_cost.py`` tests its table).

    python bench/scan_cost.py --lock /tmp/th/requirements.txt --wheels /tmp/th/wheels \\
        --policy /tmp/th/pol.toml --python python3.12 [--work /tmp/scancost-bench] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchenv import clean_env

STEPS = ("scan, cold", "scan, cached", "install, scan cold", "install, scan cached")


@dataclasses.dataclass(frozen=True, slots=True)
class Cost:
    wall: float
    user: float
    system: float


def timed(argv: list[str], env: dict[str, str]) -> Cost:
    """Run ``argv`` to completion; its wall time and its (and its children's) CPU time. Exit
    1 is a scan's blocked finding and still counts; any other failure stops the benchmark."""
    os.sync()  # the last step's deleted venv is written back now, not during this one
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv[:4])} exited {done.returncode}: {done.stderr[-2000:]}")
    return Cost(wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)


def median(costs: list[Cost]) -> Cost:
    return Cost(
        statistics.median(c.wall for c in costs),
        statistics.median(c.user for c in costs),
        statistics.median(c.system for c in costs),
    )


def table(costs: dict[str, Cost]) -> str:
    """The costs of each step, and what the scan adds to the cold install (when both installs
    were run)."""
    lines = [f"{'step':<24}{'wall s':>9}{'user s':>9}{'sys s':>8}"]
    lines += [f"{k:<24}{c.wall:>9.1f}{c.user:>9.1f}{c.system:>8.1f}" for k, c in costs.items()]
    cold, cached = costs.get("install, scan cold"), costs.get("install, scan cached")
    if cold is not None and cached is not None and cold.wall > 0 and cold.user > 0:
        wall, user = cold.wall - cached.wall, cold.user - cached.user
        lines.append(
            f"the cold scan adds {wall:.1f} s wall ({wall / cold.wall:.0%}) and {user:.1f} s "
            f"user CPU ({user / cold.user:.0%}) to the cold install"
        )
    return "\n".join(lines)


def _copy(source: Path, dest: Path) -> Path:
    if not dest.exists():
        if source.is_dir():
            shutil.copytree(source, dest)
        else:
            shutil.copy2(source, dest)
    return dest


def _venv(python: str, path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def run(args: argparse.Namespace) -> dict[str, Cost]:
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    lock = _copy(args.lock, work / args.lock.name)
    wheels = _copy(args.wheels, work / "wheels")
    policy = _copy(args.policy, work / "policy.toml")
    cache, kept = work / "cache", work / "scan-results"
    env = clean_env(work / "tool-cache") | {"SAFEINSTALL_CACHE_DIR": str(cache)}
    target = _venv(args.python, work / "target")
    cli = [sys.executable, "-m", "safeinstall"]
    files = ["--offline", "--find-links", str(wheels), "--policy", str(policy)]
    scan = [*cli, "scan", str(lock), "--python", str(target), *files]
    runs: dict[str, list[Cost]] = {step: [] for step in STEPS}
    for _ in range(args.runs):
        shutil.rmtree(cache, ignore_errors=True)
        runs["scan, cold"].append(timed(scan, env))
        runs["scan, cached"].append(timed(scan, env))
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(cache / "inspect", kept)
        if args.scan_only:
            continue
        for step, scan_cache in (("install, scan cold", None), ("install, scan cached", kept)):
            shutil.rmtree(cache, ignore_errors=True)
            if scan_cache is not None:
                cache.mkdir(mode=0o700)
                shutil.copytree(scan_cache, cache / "inspect")
            venv = _venv(args.python, work / "venv")
            install = [*cli, "install", "-r", str(lock), "--python", str(venv), *files]
            runs[step].append(timed(install, env))
    return {step: median(costs) for step, costs in runs.items() if costs}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", type=Path, required=True, help="a hashed requirements lock")
    parser.add_argument("--wheels", type=Path, required=True, help="its files (a wheelhouse)")
    parser.add_argument("--policy", type=Path, required=True, help="the policy to install with")
    parser.add_argument("--python", required=True, help="the interpreter to make venvs with")
    parser.add_argument("--work", type=Path, default=Path("/tmp/scancost-bench"))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--scan-only", action="store_true", help="no installs")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(table(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
