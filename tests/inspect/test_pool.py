"""Parsing in worker processes: the same findings in the same order as in one process, and a
worker that dies leaves its artifacts to be read in the main process (nothing skipped)."""

from __future__ import annotations

import concurrent.futures
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, ClassVar

import pytest

from safeinstall.inspect import scan as scanner
from safeinstall.inspect.verdict import ScanReport
from tests.inspect.hostile import CODE, SETUP_PY, code_wheel, hostile_wheels, sdist
from tests.inspect.test_rules import scan
from tests.support.paths import WHEELHOUSE


def _wheels(tmp_path: Path) -> list[Path]:
    """Real wheels of the dev wheelhouse, a start-up .pth, every code rule, an sdist."""
    real = sorted(WHEELHOUSE.glob("*.whl"))[:6]
    if not real:
        pytest.skip(f"no wheels in {WHEELHOUSE}")
    hostile = hostile_wheels(tmp_path / "h")["startup-pth"]
    code = [code_wheel(tmp_path / "c", rule) for rule in sorted(CODE)[:3]]
    return [*real, *hostile, *code, sdist(tmp_path / "s", "evil-setup", {"setup.py": SETUP_PY})]


def _lines(report: ScanReport) -> list[tuple[str, str, str, str | None, int | None]]:
    return [(f.rule, f.severity, f.artifact, f.file, f.line) for f in report.findings]


class _Counting(ProcessPoolExecutor):
    started: ClassVar[list[int]] = []

    def __init__(self, workers: int, **kw: Any) -> None:
        _Counting.started.append(workers)
        super().__init__(workers, **kw)


class _Dying(ProcessPoolExecutor):
    """A pool whose every worker dies (as one killed for memory would)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return future


def _pool_of_two(monkeypatch: pytest.MonkeyPatch, pool: type[ProcessPoolExecutor]) -> None:
    """Make the scan parse in ``pool`` with two workers, however little code there is."""
    monkeypatch.setattr(scanner, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(scanner, "_processes", lambda size, count: min(2, count))
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", pool)  # as workers.py takes it


def test_worker_processes_give_the_same_findings_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _wheels(tmp_path)
    alone = scan(paths)
    _pool_of_two(monkeypatch, _Counting)
    pooled = scan(paths)
    assert _Counting.started == [2]  # the parse did go to two processes
    assert _lines(pooled) == _lines(alone)
    assert "startup-pth" in {f.rule for f in pooled.blocked}
    assert {"code-setup-runs", *sorted(CODE)[:3]} <= {f.rule for f in pooled.findings}


def test_a_dead_worker_leaves_its_artifacts_to_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _wheels(tmp_path)
    alone = scan(paths)
    _pool_of_two(monkeypatch, _Dying)
    assert _lines(scan(paths)) == _lines(alone)


def test_little_code_to_parse_starts_no_process(tmp_path: Path) -> None:
    assert scanner._processes(scanner.POOL_MIN_BYTES - 1, 40) == 0
    assert scanner._processes(scanner.POOL_MIN_BYTES, 1) <= 1  # one artifact: no pool


class _Unstartable(ProcessPoolExecutor):
    """A pool that cannot start a process (a process limit, no /dev/shm)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        raise OSError(11, "Resource temporarily unavailable")


def test_a_pool_that_cannot_start_leaves_the_scan_to_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _wheels(tmp_path)
    alone = scan(paths)
    _pool_of_two(monkeypatch, _Unstartable)
    assert _lines(scan(paths)) == _lines(alone)


def test_a_module_in_the_working_directory_does_not_run_in_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers start as `python -c ...`, which puts the working directory first on sys.path
    before they import multiprocessing: a project's own `multiprocessing.py` (a checked-out
    pull request, say) must not run when safeinstall scans or installs in it."""
    paths = _wheels(tmp_path)
    alone = scan(paths)
    project = tmp_path / "project"
    project.mkdir()
    marker = tmp_path / "ran"
    planted = f"open({str(marker)!r}, 'w').write('planted code ran')\nraise SystemExit(1)\n"
    for name in ("multiprocessing.py", "concurrent.py", "safeinstall.py", "encodings.py"):
        (project / name).write_text(planted)
    monkeypatch.chdir(project)
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    _pool_of_two(monkeypatch, _Counting)
    pooled = scan(paths)
    assert not marker.exists()
    assert _lines(pooled) == _lines(alone)
    assert "PYTHONSAFEPATH" not in __import__("os").environ  # the run's environment as it was
