"""bench/scan_cost.py: its table and its timing of a real command; the benchmark itself
installs a whole lock and is run by hand."""

from __future__ import annotations

import sys

from tests.support.benchscript import load_bench


def test_the_table_gives_what_the_scan_adds_to_the_install() -> None:
    bench = load_bench("scan_cost")
    costs = {
        "scan, cold": bench.Cost(10.0, 8.0, 1.0),
        "scan, cached": bench.Cost(2.0, 1.5, 0.2),
        "install, scan cold": bench.Cost(60.0, 40.0, 5.0),
        "install, scan cached": bench.Cost(51.0, 32.0, 5.0),
    }
    text = bench.table(costs)
    assert "install, scan cached         51.0     32.0     5.0" in text
    assert "adds 9.0 s wall (15%) and 8.0 s user CPU (20%)" in text


def test_a_command_is_timed_with_its_children() -> None:
    bench = load_bench("scan_cost")
    child = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'sum(range(10**7))'])"
    cost = bench.timed([sys.executable, "-c", child], {})
    assert cost.wall > 0 and cost.user > 0.05  # the grandchild's CPU is counted
