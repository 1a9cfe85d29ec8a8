"""bench/lock_bench.py's comparison of pins with uv's (the benchmark itself reaches the public
index and is run by hand)."""

from __future__ import annotations

from tests.support.benchscript import load_bench

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
