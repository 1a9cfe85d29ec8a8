"""Worker processes of safeinstall's own code, for the scanners that read many files: install's
(``scan.py``: parsing modules) and the lock's (``listing.py``: member lists).

They are spawned, not forked (the parent runs threads), and run safeinstall's code on data:
nothing of a package is imported or run in them. While the pool lives, its processes (and
multiprocessing's resource tracker) start as ``python -c ...``, which puts the working
directory first on ``sys.path`` before they import ``multiprocessing``: a project's own
``multiprocessing.py`` would run in them. ``PYTHONSAFEPATH`` keeps it off (the workers then
take this process's ``sys.path``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor


@contextlib.contextmanager
def own_processes(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` processes (None when none is asked for), shut down on leaving.
    Its processes start on the first ``submit``, which raises OSError where none can start
    (a process limit, no /dev/shm): the caller then does the work itself."""
    if workers < 1:
        yield None
        return
    with _safe_path():
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            yield pool
        finally:
            pool.shutdown(cancel_futures=True)


@contextlib.contextmanager
def _safe_path() -> Iterator[None]:
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before
