"""Lock benchmark: safeinstall against uv, pip-compile and pip lock on the same sets, in one run.

Each tool locks each set for the same target Python, with hashes, cold (empty caches) and warm
(caches from the previous run), alternating tools so that network noise hits all of them alike.
Every run starts with no output file (``without_output``): a first lock, for every tool.
``--relock`` times the other common case: each tool finds the output of a first lock (made once,
untimed) and prefers its pins, uv as it does by default, safeinstall without ``--upgrade``.
Prints whole-process medians, peak memory and ratios to uv, then, per set, every package pinned
at another version than uv pinned it (``--pins``: the issue asks that each difference be explained).

    python bench/lock_bench.py [--sets small treeherder] [--runs 3] [--tools safeinstall uv]
    python bench/lock_bench.py --sets airflow --python-version 3.11,3.12,3.13 \
        --platform linux,macos,windows --tools safeinstall uv   # nine targets; uv: --universal

Sets are looked up in bench/sets (composed here, origin in each file's header), then in the
shared sets folder.

Setup (once): a Python 3.13 venv with the hash-pinned tools,
    python3.13 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install --require-hashes -r bench/requirements.txt
and safeinstall installed in the interpreter that runs this script. pip-compile downloads every file
to hash it (minutes per cold run on treeherder): it is only run when named in --tools.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from benchenv import bench_policy, clean_env

HERE = Path(__file__).resolve().parent
SETS = (HERE / "sets", HERE.parent.parent / "shared" / "bench" / "sets")
TARGET = "3.13"


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float  # user + system seconds of the command and of every process it started
    peak_mib: float
    ok: bool


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> Run:
    """The command's wall time, and the CPU of it and of every process it started, those it
    left running included (safeinstall's lock helper ends once its pipe closes, after the lock
    has): on Linux they are reparented to this process and waited for here. Peak memory is the
    command's own peak plus the peak of each process it left: the lock's helper works through
    the lock, and the sum bounds what both held at once."""
    _adopt_orphans()
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    with proc.stdout:
        output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = output.decode(errors="replace")[-2000:]
        print(f"  ! {' '.join(argv[:3])} exited {proc.returncode}:\n{tail}", file=sys.stderr)
    left_cpu, left_peak = _reap_left()
    cpu = usage.ru_utime + usage.ru_stime + left_cpu
    return Run(elapsed, cpu, (usage.ru_maxrss + left_peak) / 1024, proc.returncode == 0)


def _adopt_orphans() -> None:
    """Be the subreaper of the commands' processes (PR_SET_CHILD_SUBREAPER, Linux)."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)


def _reap_left(wait: float = 30.0) -> tuple[float, int]:
    """The CPU seconds of the processes a command left, once they have all ended, and the sum
    of their peak memory (KiB)."""
    cpu, peak, stop = 0.0, 0, time.monotonic() + wait
    while time.monotonic() < stop:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break  # none left
        if pid == 0:
            time.sleep(0.01)
            continue
        cpu += usage.ru_utime + usage.ru_stime
        peak += usage.ru_maxrss
    return cpu, peak


# a pinned line of a requirements.txt: name, extras, version (markers and hashes after it)
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([^\s;\\]+)")


def pins(text: str) -> dict[str, set[str]]:
    """Every package a requirements.txt lock pins, by canonical name, with its versions (a
    universal lock may pin one at two versions, under disjoint markers)."""
    out: dict[str, set[str]] = {}
    for line in text.splitlines():
        found = _PIN.match(line)
        if found:
            name = re.sub(r"[-_.]+", "-", found[1]).lower()
            out.setdefault(name, set()).add(found[2])
    return out


def pin_differences(ours: str, theirs: str) -> list[str]:
    """One line per package the two locks pin differently, or that only one of them pins."""
    a, b = pins(ours), pins(theirs)
    out = []
    for name in sorted(a.keys() | b.keys()):
        left, right = sorted(a.get(name, {"-"})), sorted(b.get(name, {"-"}))
        if left != right:
            out.append(f"{name}: {', '.join(left)} (safeinstall) vs {', '.join(right)} (uv)")
    return out


def without_output(out: Path) -> None:
    """Remove what a tool wrote to ``out`` (any suffix) in an earlier run: each run locks from
    nothing, as a first lock does. uv pip compile takes the pins of an output file that exists
    as its preferences (uv's log says ``[preference]``): its search goes straight to the last
    answer (boto, cold: 0.36 s instead of 2.3 s), while safeinstall runs with --upgrade."""
    for old in out.parent.glob(f"{out.name}.*"):
        old.unlink()


def timed(argv: list[str], env: dict[str, str], cwd: Path, out: Path, *, relock: bool) -> Run:
    """One timed run of a tool writing to ``out``: a first lock (``without_output``), or with
    ``relock`` a relock of the output it finds there. A relock that finds none (the untimed
    first lock failed) timed a first lock: it is reported and counted as failed."""
    if not relock:
        without_output(out)
    found = any(out.parent.glob(f"{out.name}.*"))
    run = measure(argv, env, cwd)
    if relock and not found:
        print(f"  ! {out.name}: no lock to relock: the run is counted as failed", file=sys.stderr)
        return replace(run, ok=False)
    return run


Command = Callable[[Path, Path, Path], list[str]]  # (input, output, bench venv) -> argv


def tools(
    bench_venv: Path, pythons: str = TARGET, platforms: str = "", *, relock: bool = False
) -> dict[str, Command]:
    """Each tool's command line. ``relock``: safeinstall without --upgrade, so that it prefers
    the pins of the lock it finds as uv prefers those of its output file."""
    bin_ = bench_venv / "bin"
    several = "," in pythons or "," in platforms
    # uv locks several targets in one universal resolution, from the lowest Python
    uv_targets = ["--universal"] if several else []
    lowest = min(pythons.split(","), key=lambda v: tuple(map(int, v.split("."))))
    return {
        "safeinstall": lambda src, out, _v: [
            sys.executable,
            "-m",
            "safeinstall",
            "lock",
            str(src),
            "-o",
            str(out.with_suffix(".txt")),
            "--python-version",
            pythons,
            *(["--platform", platforms] if platforms else []),
            *([] if relock else ["--upgrade"]),
            "--policy",
            str(bench_policy(src.stem, out.parent)),
        ],
        "uv": lambda src, out, _v: [
            str(bin_ / "uv"),
            "pip",
            "compile",
            "-q",
            "--generate-hashes",
            "--python-version",
            lowest,
            *uv_targets,
            str(src),
            "-o",
            str(out.with_suffix(".txt")),
        ],
        "pip-lock": lambda src, out, _v: [
            str(bin_ / "python"),
            "-m",
            "pip",
            "lock",
            "-q",
            "-r",
            str(src),
            "-o",
            str(out.with_suffix(".toml")),
        ],
        "pip-compile": lambda src, out, _v: [
            str(bin_ / "pip-compile"),
            "-q",
            "--generate-hashes",
            "--rebuild",
            "--output-file",
            str(out.with_suffix(".txt")),
            str(src),
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["small", "treeherder"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", nargs="+", default=["safeinstall", "uv", "pip-lock"])
    parser.add_argument("--bench-venv", type=Path, default=Path("/tmp/bench-venv"))
    parser.add_argument("--python-version", default=TARGET, help="X.Y[,X.Y...]")
    parser.add_argument("--platform", default="", help="safeinstall's --platform list")
    parser.add_argument(
        "--pins", action="store_true", help="list the pins that differ from uv's, per set"
    )
    parser.add_argument(
        "--relock",
        action="store_true",
        help="time relocks: each tool keeps its output of an untimed first lock and prefers "
        "its pins (safeinstall without --upgrade)",
    )
    args = parser.parse_args()
    commands = tools(args.bench_venv, args.python_version, args.platform, relock=args.relock)
    results: dict[tuple[str, str, str], list[Run]] = {}
    pin_report: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for set_name in args.sets:
            src = next(d / f"{set_name}.in" for d in SETS if (d / f"{set_name}.in").exists())
            for round_ in range(args.runs):
                for tool in args.tools:
                    cache = work / f"cache-{tool}"
                    shutil.rmtree(cache, ignore_errors=True)
                    out = work / f"{set_name}-{tool}"
                    env = clean_env(cache)
                    # the target's interpreter on PATH, as on a developer's machine: without it,
                    # uv spends seconds trying to download one before building an sdist
                    env["PATH"] = f"{args.bench_venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
                    command = commands[tool](src, out, args.bench_venv)
                    if args.relock and round_ == 0:  # the lock to relock, its caches dropped
                        without_output(out)
                        measure(command, env, work)
                        shutil.rmtree(cache, ignore_errors=True)
                    for phase in ("cold", "warm"):
                        run = timed(command, env, work, out, relock=args.relock)
                        results.setdefault((set_name, tool, phase), []).append(run)
            locks = {t: work / f"{set_name}-{t}.txt" for t in ("safeinstall", "uv")}
            if args.pins and all(p.exists() for p in locks.values()):
                ours, theirs = (p.read_text() for p in locks.values())
                differ = pin_differences(ours, theirs) or ["the same pins"]
                pin_report.append(f"{set_name}: " + "; ".join(differ))
    where = f"Python {args.python_version}" + (f" on {args.platform}" if args.platform else "")
    where += ", relock" if args.relock else ""
    print(f"| set | tool | phase | median s | CPU s | peak MiB | vs uv | ok |  ({where})")
    print("|---|---|---|---|---|---|---|---|")
    for (set_name, tool, phase), runs in results.items():
        median = statistics.median(r.seconds for r in runs)
        cpu = statistics.median(r.cpu for r in runs)
        peak = max(r.peak_mib for r in runs)
        uv = results.get((set_name, "uv", phase))
        ratio = f"{median / statistics.median(r.seconds for r in uv):.2f}x" if uv else "-"
        ok = sum(r.ok for r in runs)
        print(
            f"| {set_name} | {tool} | {phase} | {median:.2f} | {cpu:.2f} | {peak:.0f} | {ratio} | "
            f"{ok}/{len(runs)} |"
        )
    for line in pin_report:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
