"""Time the pre-commit hooks, `safeinstall check` and `safeinstall lock --check`, on a real lock.

The lock is bench/locks/treeherder/requirements.txt: Mozilla Treeherder's requirements
(``requirements.in``, from /work/shared/bench/sets) locked by ``safeinstall lock`` for CPython 3.13
under the policy next to it, 153 packages, some of them not on the shipped popular-name list (so
`check` runs the look-alike rules on them). Each hook runs with no policy (``lock --check``: the
policy the lock was made under) and under bench/policies/every-key.toml, a policy that sets every
key (``lock --check`` then finds the lock stale: the same work, exit 1).

Compares the whole-process median against the floor `python -c "import packaging.requirements"`
(interleaved runs, same interpreter) and prints the ratio, of wall time and of the child's CPU
time (steadier on a busy machine). With --callgrind, counts each case's instructions once under
valgrind instead (deterministic: compare those across commits). Target: <= 1.5x for every case.

    python bench/check_bench.py [--runs 21] [--callgrind]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import safeinstall

BENCH = Path(__file__).parent
LOCK_DIR = BENCH / "locks" / "treeherder"
EVERY_KEY = BENCH / "policies" / "every-key.toml"
LOCK_POLICY = LOCK_DIR / "safeinstall.toml"

# as installed: bytecode cached (some environments set PYTHONDONTWRITEBYTECODE, which would
# recompile every module of ours on every run and measure that instead)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PIP_CONFIG_FILE"] = os.devnull


def cases() -> dict[str, list[str]]:
    # the console script, as pre-commit runs it, with a hook's args after the command
    script = str(Path(sys.executable).parent / "safeinstall")
    check = [script, "check", "requirements.txt"]
    relock = ["requirements.in", "-o", "requirements.txt", "--python-version", "3.13", "--check"]
    return {
        "floor": [sys.executable, "-c", "import packaging.requirements"],
        "check, no policy": check,
        "check, every-key": [script, "check", "--policy", str(EVERY_KEY), "requirements.txt"],
        "lock --check": [script, "lock", "--policy", str(LOCK_POLICY), *relock],
        "lock --check, every-key": [script, "lock", "--policy", str(EVERY_KEY), *relock],
    }


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # findings (every-key) and a stale lock are expected
        sys.exit(
            f"{argv} failed ({done.returncode}):\n{done.stdout.decode()}{done.stderr.decode()}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def instructions(argv: list[str], cwd: Path) -> int:
    """Instructions the process runs, counted by callgrind (valgrind must be installed)."""
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command = [sys.executable, *argv] if argv[0] != sys.executable else argv
    done = subprocess.run(
        [*valgrind, *command], cwd=cwd, env=ENV, capture_output=True, text=True, check=False
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None or done.returncode not in (0, 1):
        sys.exit(f"{command} under callgrind failed ({done.returncode}):\n{done.stderr}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    args = parser.parse_args()
    runs = cases()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / ".git").mkdir()  # stop policy discovery here: "no policy" means none
        for name in ("requirements.in", "requirements.txt"):
            shutil.copy(LOCK_DIR / name, cwd / name)
        timed(
            [sys.executable, "-m", "compileall", "-q", str(Path(safeinstall.__file__).parent)], cwd
        )
        if args.callgrind:
            counts = {label: instructions(argv, cwd) for label, argv in runs.items()}
            floor = counts.pop("floor")
            print(f"floor (import packaging.requirements): {floor / 1e6:.0f}M instructions")
            for label, count in counts.items():
                ratio = count / floor
                print(f"{label:>24}: {count / 1e6:.0f}M, ratio {ratio:.2f}x (target <= 1.5x)")
            return 0
        for argv in runs.values():
            timed(argv, cwd)  # warm the OS file cache
        # interleaved, so that a slow moment of the machine falls on every case alike
        wall: dict[str, list[float]] = {label: [] for label in runs}
        cpu: dict[str, list[float]] = {label: [] for label in runs}
        for _ in range(args.runs):
            for label, argv in runs.items():
                elapsed, used = timed(argv, cwd)
                wall[label].append(elapsed)
                cpu[label].append(used)
    floor_wall, floor_cpu = statistics.median(wall.pop("floor")), statistics.median(cpu["floor"])
    print(f"floor (import packaging.requirements): median {floor_wall * 1000:.0f} ms wall")
    for label, walls in wall.items():
        m_wall, m_cpu = statistics.median(walls), statistics.median(cpu[label])
        print(
            f"{label:>24}: median {m_wall * 1000:.0f} ms wall, ratio {m_wall / floor_wall:.2f}x; "
            f"CPU ratio {m_cpu / floor_cpu:.2f}x (target <= 1.5x)"
        )
    print(f"{args.runs} interleaved runs each, on {LOCK_DIR.relative_to(BENCH.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
