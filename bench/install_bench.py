"""Install benchmark: safeinstall against pip and uv installing the same hashed lock, in one run.

For each set, a hashed lock is made once (``uv pip compile --generate-hashes``). Each tool then
installs it into a FRESH venv, cold (empty caches) and warm (the caches of the cold run):

- safeinstall: ``safeinstall install -r LOCK --python VENV``
- pip:         ``pip install --require-hashes --no-deps -r LOCK``
- pip-local:   pip from a local wheelhouse (``--no-index --find-links``): the warm floor
- uv:          ``uv pip sync LOCK``

Prints medians of ``--runs`` runs (default 1) and ratios to pip. Not run by the tests (it reaches
the index pip is configured with).

    python bench/install_bench.py [--sets small treeherder] [--runs 3]

Setup (once): ``python3.13 -m venv /tmp/bench-venv`` with the hash-pinned tools
(``/tmp/bench-venv/bin/pip install --require-hashes -r bench/requirements.txt``), and safeinstall
importable by the interpreter that runs this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchenv import clean_env

HERE = Path(__file__).resolve().parent
SETS = HERE.parent.parent / "shared" / "bench" / "sets"
POLICIES = HERE / "policies"
BENCH_VENV = Path("/tmp/bench-venv")
TOOLS = ("safeinstall", "pip", "pip-local", "uv")

Command = Callable[[Path, Path, Path], list[str]]  # (lock, venv python, wheelhouse) -> argv


def commands(policy: list[str]) -> dict[str, Command]:
    uv = str(BENCH_VENV / "bin" / "uv")
    return {
        "safeinstall": lambda lock, py, _w: [
            sys.executable,
            "-m",
            "safeinstall",
            "install",
            "-q",
            *policy,
            "-r",
            str(lock),
            "--python",
            str(py),
        ],
        "pip": lambda lock, py, _w: [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(lock),
        ],
        "pip-local": lambda lock, py, wheels: [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheels),
            "--require-hashes",
            "--no-deps",
            "-r",
            str(lock),
        ],
        "uv": lambda lock, py, _w: [uv, "pip", "sync", "-q", "--python", str(py), str(lock)],
    }


def run(argv: list[str], env: dict[str, str]) -> float | None:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(
            f"  ! {' '.join(argv[:4])} exited {done.returncode}: {done.stderr[-1500:]}",
            file=sys.stderr,
        )
        return None
    return elapsed


def make_lock(name: str, work: Path, env: dict[str, str]) -> Path:
    lock = work / f"{name}.txt"
    # setuptools too: the sets' sdists build with it, and safeinstall builds without isolation
    # (which would fetch it unhashed), so every tool gets it from the same hashed lock
    source = work / f"{name}.in"
    source.write_text((SETS / f"{name}.in").read_text() + "\nsetuptools\n")
    argv = [
        str(BENCH_VENV / "bin" / "uv"),
        "pip",
        "compile",
        "-q",
        "--generate-hashes",
        "--python",
        str(BENCH_VENV / "bin" / "python"),
        str(source),
        "-o",
        str(lock),
    ]
    subprocess.run(argv, env=clean_env(work / "lock-cache"), check=True)
    return lock


def fresh_venv(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run(
        [str(BENCH_VENV / "bin" / "python"), "-m", "venv", "--without-pip", str(path)], check=True
    )
    # pip for the target: the pip tools run it from the venv; safeinstall needs it there too
    subprocess.run(
        [str(path / "bin" / "python"), "-m", "ensurepip"], check=True, capture_output=True
    )
    return path / "bin" / "python"


def bench_set(name: str, runs: int, tools: list[str], work: Path) -> None:
    lock = make_lock(name, work, os.environ.copy())
    wheels = work / f"{name}-wheels"
    subprocess.run(
        [
            str(BENCH_VENV / "bin" / "python"),
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(lock),
            "-d",
            str(wheels),
        ],
        env=clean_env(work / "dl-cache"),
        check=True,
    )
    policy_file = POLICIES / f"{name}.toml"
    cmds = commands(["--policy", str(policy_file)] if policy_file.exists() else [])
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(runs):
        for tool in tools:
            cache = work / f"cache-{tool}"
            shutil.rmtree(cache, ignore_errors=True)
            for phase in ("cold", "warm"):
                python = fresh_venv(work / f"venv-{tool}")
                seconds = run(cmds[tool](lock, python, wheels), clean_env(cache))
                if seconds is not None:
                    results.setdefault((tool, phase), []).append(seconds)
    print(f"\n{name} ({sum(1 for _ in lock.read_text().splitlines() if '==' in _)} packages)")
    print(f"{'tool':<12} {'cold s':>8} {'warm s':>8} {'cold/pip':>9} {'warm/pip-local':>15}")
    med = {k: statistics.median(v) for k, v in results.items()}
    for tool in tools:
        cold, warm = med.get((tool, "cold")), med.get((tool, "warm"))
        base_cold, base_warm = med.get(("pip", "cold")), med.get(("pip-local", "warm"))
        ratio_c = f"{cold / base_cold:.2f}x" if cold and base_cold else "-"
        ratio_w = f"{warm / base_warm:.2f}x" if warm and base_warm else "-"
        print(f"{tool:<12} {cold or 0:>8.2f} {warm or 0:>8.2f} {ratio_c:>9} {ratio_w:>15}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["small"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="install-bench-") as tmp:
        for name in args.sets:
            bench_set(name, args.runs, args.tools, Path(tmp))


if __name__ == "__main__":
    main()
