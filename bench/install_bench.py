"""Install benchmark: safeinstall against pip and uv installing the same hashed lock, by phase.

For each set, one lock is made (``safeinstall lock``, for the bench interpreter's Python, under
the set's policy, ``bench_policy``): the same files for every tool, and the build sets
safeinstall builds an sdist from (comment lines, which pip and uv ignore). Each tool then
installs it into a FRESH venv, cold (empty caches) and warm (the caches of the cold run):

- safeinstall: ``safeinstall install -r LOCK --python VENV`` (compiles .pyc, on every core)
- pip:         ``pip install --require-hashes --no-deps -r LOCK`` (compiles .pyc, its default)
- pip-local:   pip from a local wheelhouse (``--no-index --find-links``): the warm floor
- uv:          ``uv pip sync --compile-bytecode LOCK`` (uv writes no .pyc by default: with
  ``--compile-bytecode`` every tool leaves the same kind of environment behind)

Prints, per set, the median wall seconds of ``--runs`` runs (default 1) of each tool, cold and
warm, their ratios to uv and to pip, and where safeinstall's time goes: the median seconds of
each phase of its install (``SAFEINSTALL_TIMINGS``, install/timings.py), and what is outside
them (interpreter start-up and exit). ``--json PATH`` writes the same numbers. A tool that fails
is reported with the end of what it said, never left out silently. Not run by the tests (it
reaches the public index, pip's default).

    python bench/install_bench.py [--sets small treeherder] [--runs 3] [--json out.json]

Setup (once): ``python3.13 -m venv /tmp/bench-venv`` with the hash-pinned tools
(``env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null /tmp/bench-venv/bin/pip install
--require-hashes -r bench/requirements.txt``), and safeinstall importable by the interpreter
that runs this script.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchenv import bench_policy, clean_env

HERE = Path(__file__).resolve().parent
SETS = HERE.parent.parent / "shared" / "bench" / "sets"
BENCH_VENV = Path("/tmp/bench-venv")
TOOLS = ("safeinstall", "pip", "pip-local", "uv")
KINDS = ("cold", "warm")
BASES = ("uv", "pip")  # the tools every other is compared with
OUTSIDE = "outside the phases"  # interpreter start-up and exit: the wall time minus the phases
UV_FLAGS = ("--compile-bytecode",)

Command = Callable[[Path, Path, Path], list[str]]  # (lock, venv python, wheelhouse) -> argv


@dataclass(frozen=True, slots=True)
class Args:
    sets: tuple[str, ...]
    runs: int
    tools: tuple[str, ...]
    json: Path | None


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["small"], help="names in the sets folder")
    parser.add_argument("--runs", type=_positive, default=1, help="runs of each (the median)")
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the numbers here too")
    ns = parser.parse_args(argv)
    return Args(tuple(ns.sets), ns.runs, tuple(dict.fromkeys(ns.tools)), ns.json)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of runs")
    return value


@dataclass(frozen=True, slots=True)
class SetResult:
    """What one set measured: the wall seconds of each (tool, kind) run, safeinstall's phases
    (seconds of each run, ``OUTSIDE`` included) and why runs failed."""

    name: str
    packages: int
    runs: int
    tools: tuple[str, ...]
    seconds: Mapping[tuple[str, str], tuple[float, ...]]
    phases: Mapping[str, Mapping[str, tuple[float, ...]]] = field(default_factory=dict)
    failures: tuple[str, ...] = ()

    def median(self, tool: str, kind: str) -> float | None:
        runs = self.seconds.get((tool, kind), ())
        return statistics.median(runs) if runs else None

    def ratio(self, tool: str, kind: str, base: str) -> float | None:
        mine, theirs = self.median(tool, kind), self.median(base, kind)
        return mine / theirs if mine is not None and theirs else None

    def phase_medians(self, kind: str) -> dict[str, float]:
        return {name: statistics.median(v) for name, v in self.phases.get(kind, {}).items() if v}


def read_timings(path: Path) -> dict[str, float] | None:
    """The phases (seconds) of a SAFEINSTALL_TIMINGS file, with ``total``; None when it is
    missing, not what safeinstall writes, or the install failed."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(document, dict)
        or document.get("version") != 1
        or document.get("ok") is not True
    ):
        return None
    phases, total = document.get("phases"), _seconds(document.get("total"))
    if not isinstance(phases, dict) or total is None:
        return None
    seconds = {k: _seconds(v) for k, v in phases.items()}
    if "total" in seconds or not all(
        isinstance(k, str) and v is not None for k, v in seconds.items()
    ):
        return None
    return {**{k: v for k, v in seconds.items() if v is not None}, "total": total}


def _seconds(value: object) -> float | None:
    """``value`` as seconds: a finite number, not negative (None: it is none)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def with_outside(timings: Mapping[str, float], wall: float) -> dict[str, float]:
    """The phases, and ``OUTSIDE``: what the wall time has beyond the install's own ``total``."""
    phases = {k: v for k, v in timings.items() if k != "total"}
    return {**phases, OUTSIDE: max(wall - timings["total"], 0.0)}


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(result: SetResult) -> str:
    """The set's tools (wall seconds and ratios), safeinstall's phases, and its failures."""
    head = f"{'tool':<12} {'cold s':>8} {'warm s':>8}"
    head += "".join(f" {f'{kind}/{base}':>10}" for base in BASES for kind in KINDS)
    lines = [
        f"{result.name} ({result.packages} packages): median wall seconds of {result.runs} "
        f"run{'s' * (result.runs > 1)}, fresh venv each; every tool compiles .pyc "
        f"(uv {' '.join(UV_FLAGS)})",
        head,
    ]
    for tool in result.tools:
        row = f"{tool:<12}" + "".join(f" {_cell(result.median(tool, k), '.2f'):>8}" for k in KINDS)
        for base in BASES:
            for kind in KINDS:
                ratio = result.ratio(tool, kind, base)
                row += f" {_cell(ratio, '.2f') + ('x' if ratio is not None else ''):>10}"
        lines.append(row)
    cold, warm = result.phase_medians("cold"), result.phase_medians("warm")
    if cold or warm:
        lines += ["", f"{'safeinstall phases (median s)':<32} {'cold':>8} {'warm':>8}"]
        names = [n for n in {**cold, **warm} if n != OUTSIDE] + [OUTSIDE]
        for name in names:
            row = f"{name:<32} {_cell(cold.get(name), '.2f'):>8} {_cell(warm.get(name), '.2f'):>8}"
            lines.append(row)
    if result.failures:
        lines += ["", "failures:", *(f"  {failure}" for failure in result.failures)]
    return "\n".join(lines)


def to_json(results: Sequence[SetResult]) -> dict[str, Any]:
    """The numbers the tables print (medians, every run, ratios, phases, failures)."""
    return {
        "uv_flags": list(UV_FLAGS),
        "sets": [
            {
                "name": r.name,
                "packages": r.packages,
                "runs": r.runs,
                "tools": {
                    tool: {
                        kind: {
                            "median": r.median(tool, kind),
                            "seconds": list(r.seconds.get((tool, kind), ())),
                            **{f"ratio_to_{b}": r.ratio(tool, kind, b) for b in BASES},
                        }
                        for kind in KINDS
                    }
                    for tool in r.tools
                },
                "safeinstall_phases": {kind: r.phase_medians(kind) for kind in KINDS},
                "failures": list(r.failures),
            }
            for r in results
        ],
    }


# --- running the tools -----------------------------------------------------------------------


def commands(policy: list[str]) -> dict[str, Command]:
    uv = str(BENCH_VENV / "bin" / "uv")
    pip = ["-m", "pip", "install", "-q", "--require-hashes", "--no-deps"]
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
        "pip": lambda lock, py, _w: [str(py), *pip, "-r", str(lock)],
        "pip-local": lambda lock, py, wheels: [
            str(py),
            *pip,
            "--no-index",
            "--find-links",
            str(wheels),
            "-r",
            str(lock),
        ],
        "uv": lambda lock, py, _w: [
            uv,
            "pip",
            "sync",
            "-q",
            *UV_FLAGS,
            "--python",
            str(py),
            str(lock),
        ],
    }


def run(argv: list[str], env: dict[str, str]) -> tuple[float, str | None]:
    """Wall seconds, and why it failed (None: it did not)."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        said = " | ".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        return elapsed, f"exited {done.returncode}: {said[-1200:]}"
    return elapsed, None


def target_python() -> str:
    """X.Y of the bench interpreter, which every fresh venv is made with."""
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    argv = [str(BENCH_VENV / "bin" / "python"), "-c", code]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def make_lock(name: str, work: Path, policy: list[str]) -> Path:
    """One lock for every tool, made by safeinstall (its build sets are comments to pip and uv)."""
    lock = work / f"{name}.txt"
    # setuptools too: the sets' sdists build with it, and pip-local (no index) finds it only in
    # the wheelhouse, which holds what the lock pins
    source = work / f"{name}.in"
    source.write_text((SETS / f"{name}.in").read_text() + "\nsetuptools\n")
    argv = [
        sys.executable,
        "-m",
        "safeinstall",
        "lock",
        "-q",
        *policy,
        str(source),
        "-o",
        str(lock),
    ]
    argv += ["--python-version", target_python()]
    subprocess.run(argv, env=clean_env(work / "lock-cache"), check=True, cwd=work)
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


def wheelhouse(lock: Path, work: Path) -> Path:
    wheels = work / f"{lock.stem}-wheels"
    argv = [str(BENCH_VENV / "bin" / "python"), "-m", "pip", "download", "-q", "--no-deps"]
    argv += ["--require-hashes", "-r", str(lock), "-d", str(wheels)]
    subprocess.run(argv, env=clean_env(work / "dl-cache"), check=True)
    return wheels


def bench_set(name: str, runs: int, tools: Sequence[str], work: Path) -> SetResult:
    policy = ["--policy", str(bench_policy(name, work))]
    lock = make_lock(name, work, policy)
    wheels = wheelhouse(lock, work) if "pip-local" in tools else work
    cmds = commands(policy)
    seconds: dict[tuple[str, str], list[float]] = {}
    phases: dict[str, dict[str, list[float]]] = {}
    failures: list[str] = []
    for n in range(1, runs + 1):
        for tool in tools:  # alternating: a slow spell of the machine or the network hits all
            cache = work / f"cache-{tool}"
            shutil.rmtree(cache, ignore_errors=True)
            for kind in KINDS:
                python = fresh_venv(work / f"venv-{tool}")
                env = clean_env(cache)
                timings_file = work / f"timings-{tool}-{kind}.json"
                timings_file.unlink(missing_ok=True)
                if tool == "safeinstall":
                    env["SAFEINSTALL_TIMINGS"] = str(timings_file)
                wall, failed = run(cmds[tool](lock, python, wheels), env)
                if failed is not None:
                    failures.append(f"{tool} {kind} (run {n}): {failed}")
                    print(f"  ! {tool} {kind}: {failed}", file=sys.stderr)
                    continue
                seconds.setdefault((tool, kind), []).append(wall)
                timings = read_timings(timings_file) if tool == "safeinstall" else None
                for phase, spent in with_outside(timings, wall).items() if timings else ():
                    phases.setdefault(kind, {}).setdefault(phase, []).append(spent)
    packages = sum(
        1 for line in lock.read_text().splitlines() if "==" in line and line[:1].isalnum()
    )
    return SetResult(
        name,
        packages,
        runs,
        tuple(tools),
        {k: tuple(v) for k, v in seconds.items()},
        {kind: {p: tuple(v) for p, v in by.items()} for kind, by in phases.items()},
        tuple(failures),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="install-bench-") as tmp:
        for name in args.sets:
            work = Path(tmp) / name
            work.mkdir()
            results.append(bench_set(name, args.runs, args.tools, work))
            print("\n" + table(results[-1]), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(results), indent=2) + "\n")
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
