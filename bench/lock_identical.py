"""Resolver work must not change a lock: lock every bench set and compare with saved locks.

    python bench/lock_identical.py --save /tmp/locks-before      # on the commit before
    python bench/lock_identical.py --against /tmp/locks-before   # after: every lock the same?

Each set is locked warm (``--cache``, shared by both runs) with the policy named
``--policies/SET.toml`` (bench/policies when absent there), going on without the known-malware
check where its service cannot be reached, as lock_bench does (``benchenv.bench_policy``). The
header line naming the command (its output path) is left out of the comparison. Prints one line
per set with its wall and CPU seconds; exits 1 when a lock differs or a set fails to lock.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchenv import bench_policy

HERE = Path(__file__).resolve().parent
SETS = (HERE / "sets", HERE.parent.parent / "shared" / "bench" / "sets")
# name, input set, Python versions, platforms
CASES = (
    ("webapp", "webapp", "3.13", ""),
    ("treeherder", "treeherder", "3.13", ""),
    ("airflow", "airflow", "3.12", ""),
    ("airflow-google", "airflow-google", "3.12", ""),
    ("boto", "boto", "3.12", ""),
    ("airflow-9", "airflow", "3.11,3.12,3.13", "linux,macos,windows"),
)


def lock(out: Path, src: str, pythons: str, platforms: str, args: argparse.Namespace) -> str | None:
    """How long locking ``src`` took, or None (after saying why) when it failed."""
    source = next(d / f"{src}.in" for d in SETS if (d / f"{src}.in").exists())
    work = out.parent / "policies" / out.stem
    work.mkdir(parents=True, exist_ok=True)
    own = args.policies if (args.policies / f"{src}.toml").exists() else HERE / "policies"
    policy = bench_policy(src, work, own)
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    env.update(PIP_CONFIG_FILE=os.devnull, SAFEINSTALL_CACHE_DIR=str(args.cache))
    if source.is_relative_to(HERE.parent):  # as written in the lock: run from the repository
        source = source.relative_to(HERE.parent)
    argv = [sys.executable, "-m", "safeinstall", "lock", str(source), "-o", str(out), "-U", "-q"]
    argv += ["--python-version", pythons, *(["--platform", platforms] if platforms else [])]
    argv += ["--policy", str(policy)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, cwd=HERE.parent, capture_output=True, text=True, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        why = proc.stderr.strip()[-2000:]
        print(f"{out.stem}: exit {proc.returncode}:\n{why}", file=sys.stderr)
        return None
    return f"wall {time.perf_counter() - start:5.2f} s, CPU {cpu:5.2f} s"


def body(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if not ln.startswith("#    safeinstall ")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--save", type=Path, help="write the locks here")
    what.add_argument("--against", type=Path, help="compare with the locks saved here")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/resolver/cache"))
    parser.add_argument("--policies", type=Path, default=HERE / "policies")
    parser.add_argument("--only", nargs="*", help="set names (default: all)")
    args = parser.parse_args()
    out_dir = args.save or args.against / "after"
    out_dir.mkdir(parents=True, exist_ok=True)
    differ = False
    for name, src, pythons, platforms in CASES:
        if args.only and name not in args.only:
            continue
        out = out_dir / f"{name}.txt"
        timing = lock(out, src, pythons, platforms, args)
        verdict = "saved"
        if timing is None:
            timing, verdict, differ = "failed", "not made", True
        elif args.against is not None:
            saved = args.against / f"{name}.txt"
            same = out.exists() and saved.exists() and body(out) == body(saved)
            differ |= not same
            verdict = "identical" if same else "DIFFERENT"
        print(f"{name:15} {timing}  lock {verdict}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
