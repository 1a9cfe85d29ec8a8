"""bench/lock_bench.py's comparison of pins with uv's (the benchmark itself reaches the public
index and is run by hand)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.benchscript import load_bench
from tests.support.paths import ROOT

OURS = """\
# header
celery==5.7.0 \\
    --hash=sha256:aa
    # via apache-airflow
Kombu[redis]==5.7.0 ; python_version >= "3.12" \\
    --hash=sha256:bb
kombu==5.6.2 ; python_version < "3.12"
zope.interface==7.0
"""
THEIRS = """\
celery==5.6.3 \\
    --hash=sha256:cc
kombu==5.6.2 ; python_version < "3.12"
kombu==5.7.0 ; python_version >= "3.12"
zope-interface==7.0
redis==6.4.0
"""


def test_pins_reads_names_canonically_with_every_version_of_a_universal_lock() -> None:
    found = load_bench("lock_bench").pins(OURS)
    assert found == {
        "celery": {"5.7.0"},
        "kombu": {"5.7.0", "5.6.2"},
        "zope-interface": {"7.0"},
    }


def test_pin_differences_names_each_package_pinned_otherwise_or_by_one_tool_only() -> None:
    assert load_bench("lock_bench").pin_differences(OURS, THEIRS) == [
        "celery: 5.7.0 (safeinstall) vs 5.6.3 (uv)",
        "redis: - (safeinstall) vs 6.4.0 (uv)",
    ]


def test_the_same_locks_differ_nowhere() -> None:
    assert load_bench("lock_bench").pin_differences(THEIRS, THEIRS) == []


def test_the_cpu_and_memory_of_processes_a_command_leaves_running_are_counted(
    tmp_path: Path,
) -> None:
    """safeinstall's lock helper ends after the lock has: its CPU and its peak memory count,
    its time does not. (Measured in a process of its own: it becomes the subreaper of what it
    runs.)"""
    burn = (
        "import time\nheld = b'x' * (96 << 20)\n"
        "t = time.process_time()\nwhile time.process_time() - t < 1.0: pass\n"
    )
    leave = (  # as the helper: its output does not go to the command's
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {burn!r}], stdout=-3, stderr=-3)\n"
    )
    script = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'bench')!r})\n"
        "import lock_bench\n"
        f"run = lock_bench.measure([sys.executable, '-c', {leave!r}], dict(os.environ), "
        f"lock_bench.Path({str(tmp_path)!r}))\n"
        "print(run.ok, run.cpu, run.seconds, run.peak_mib)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    ok, cpu, seconds, peak = done.stdout.split()
    assert ok == "True"
    assert float(peak) >= 96  # the left process's memory counts
    assert float(cpu) >= 1.0  # the left process's second of CPU counts
    assert float(seconds) < float(cpu)  # the command's time did not wait for it


def test_each_run_starts_without_the_output_of_an_earlier_one(tmp_path: Path) -> None:
    """uv takes an existing output file's pins as its preferences: a run that found the last
    run's lock would skip the search being timed."""
    out = tmp_path / "boto-uv"
    for name in ("boto-uv.txt", "boto-uv.toml", "boto-uv-old.txt", "boto-safeinstall.txt"):
        (tmp_path / name).write_text("x")
    load_bench("lock_bench").without_output(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boto-safeinstall.txt", "boto-uv-old.txt"]


def test_a_relock_runs_safeinstall_without_upgrade_as_uv_keeps_its_output_pins(
    tmp_path: Path,
) -> None:
    bench = load_bench("lock_bench")
    src, out, venv = Path("set.in"), tmp_path / "set-safeinstall", Path("venv")
    fresh = bench.tools(venv)["safeinstall"](src, out, venv)
    relock = bench.tools(venv, relock=True)["safeinstall"](src, out, venv)
    assert "--upgrade" in fresh
    assert [word for word in fresh if word != "--upgrade"] == relock


def test_a_relock_run_that_finds_no_lock_to_relock_is_counted_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--relock: a tool whose untimed first lock failed leaves nothing to relock, and its timed
    runs would be first locks, compared with the other tools' relocks."""
    bench = load_bench("lock_bench")
    ran: list[list[str]] = []

    def measure(argv: list[str], env: dict[str, str], cwd: Path) -> Any:
        ran.append(argv)
        return bench.Run(1.0, 1.0, 10.0, True)

    monkeypatch.setattr(bench, "measure", measure)
    out, lock = tmp_path / "boto-uv", tmp_path / "boto-uv.txt"
    assert not bench.timed(["uv"], {}, tmp_path, out, relock=True).ok
    lock.write_text("x")
    assert bench.timed(["uv"], {}, tmp_path, out, relock=True).ok
    assert lock.exists()  # a relock finds it
    assert bench.timed(["uv"], {}, tmp_path, out, relock=False).ok
    assert not lock.exists()  # a first lock starts without it
    assert ran == [["uv"]] * 3
