"""Worker processes of safeinstall's own code, for the scanners that read many files: install's
pool (``own_processes``, ``scan.py``: parsing modules) and the lock's helper (``Helper``,
``listing.py``: member lists).

They run safeinstall's code on data: nothing of a package is imported or run in them, and they
take this process's ``sys.path``. The pool's processes are spawned by multiprocessing (the
parent runs threads): while the pool lives, they (and multiprocessing's resource tracker) start
as ``python -c ...``, which puts the working directory first on ``sys.path`` before they import
``multiprocessing``: a project's own ``multiprocessing.py`` would run in them.
``PYTHONSAFEPATH`` keeps it off. The helper lives through a lock, while builds may start, so it
changes no environment variable: it starts as ``python -I``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from queue import SimpleQueue
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

_T = TypeVar("_T")


@contextlib.contextmanager
def own_processes(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` processes (None when none is asked for), shut down on leaving.
    Its processes start on the first ``submit``, which raises OSError where none can start
    (a process limit, no /dev/shm): the caller then does the work itself."""
    if workers < 1:
        yield None
        return
    import multiprocessing  # the lock's path has no use for it (``Helper``)
    from concurrent.futures import ProcessPoolExecutor

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


class HelperStopped(Exception):
    """The helper process ended (killed, out of memory) before it answered."""


class Helper:
    """One worker process of safeinstall's own code that lives through a run: started when
    there is work ahead (``start``, idempotent), it runs module-level functions of safeinstall
    on pickled arguments (``submit``), one at a time, in the order given.

    It starts as ``python -I`` (no working directory, user site or ``PYTHON*`` variable on its
    path) and then takes this process's ``sys.path``: it imports what this process imports,
    from the same places, and the environment is never changed (builds may start meanwhile).
    Arguments and answers cross its pipes pickled: it trusts this process, which started it,
    and this process trusts the answers of its own code.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._warm: Future[object] | None = None
        self._reader: threading.Thread | None = None
        self._waiting: deque[Future[Any]] = deque()
        self._guard = threading.Lock()  # of the fields; never held while a pipe is written
        self._sending = threading.Lock()  # calls go out in the order their futures wait
        self._stopped = False

    @property
    def ready(self) -> bool:
        """Started, and done with what ``start`` gave it to do first."""
        warm = self._warm
        return warm is not None and warm.done() and warm.exception() is None

    def start(self, warm: Callable[..., object] | None = None, /, *args: object) -> None:
        """Start the process (once); ``warm(*args)``: what it runs first (imports, and what the
        calls after it share)."""
        self._begin()
        if warm is not None and self._proc is not None and self._warm is None:
            self._warm = self.submit(warm, *args)

    def _begin(self) -> None:
        with self._guard:
            if self._proc is not None or self._stopped:
                return
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-I", "-c", _BOOT],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
                assert self._proc.stdin is not None
                _send(self._proc.stdin, pickle.dumps(sys.path))
            except OSError:  # no process can be started here: the work is done in this one
                self._stopped = True
                return
            self._reader = threading.Thread(
                target=self._read, name="safeinstall-helper", daemon=True
            )
            self._reader.start()

    def submit(self, fn: Callable[..., _T], /, *args: object, **kwargs: object) -> Future[_T]:
        """``fn(*args, **kwargs)`` in the helper; HelperStopped (from the future) when it is
        gone."""
        done: Future[_T] = Future()
        call = pickle.dumps((fn, args, kwargs))
        # a full pipe blocks the write until the helper reads; it may first have to write an
        # answer, which the reading thread takes without waiting for this lock
        with self._sending:
            with self._guard:
                proc = self._proc
                if proc is None or proc.stdin is None or self._stopped:
                    done.set_exception(HelperStopped("the helper process is not running"))
                    return done
                self._waiting.append(done)
            try:
                _send(proc.stdin, call)
            except (OSError, ValueError):  # its pipe is closed: it ended
                with self._guard:
                    if done in self._waiting:
                        self._waiting.remove(done)
                if not done.done():
                    done.set_exception(HelperStopped("the helper process stopped reading"))
        return done

    def close(self) -> None:
        """Close its pipe, which ends it once the call it is in is done (the others are
        dropped), and return: a thread waits for its end, and kills it after ``STOP_WAIT``
        seconds (a call stuck on a slow server). A lock does not wait for it to exit."""
        with self._guard:
            self._stopped = True
            proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
        ending = threading.Thread(target=self._end, args=(proc,), name="safeinstall-end")
        ending.daemon = True
        ending.start()

    def _end(self, proc: subprocess.Popen[bytes]) -> None:
        try:
            proc.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=STOP_WAIT)

    def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        while (frame := _frame(self._proc.stdout)) is not None:
            with self._guard:
                done = self._waiting.popleft() if self._waiting else None
            if done is None:
                break
            try:
                ok, value = pickle.loads(frame)  # noqa: S301 - the answer of its own code
            except Exception as exc:  # an answer that does not unpickle: as if it had died
                done.set_exception(HelperStopped(f"its answer did not load ({exc})"))
                continue
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)
        with self._guard:
            self._stopped = True
            waiting, self._waiting = self._waiting, deque()
        for done in waiting:
            done.set_exception(HelperStopped("the helper process ended"))
        self._proc.stdout.close()


_BOOT = (
    "import sys, pickle; n = int.from_bytes(sys.stdin.buffer.read(4), 'big'); "
    "sys.path[:] = pickle.loads(sys.stdin.buffer.read(n)); "
    "from safeinstall.workers import serve; serve()"
)
MAX_FRAME = 1 << 30
STOP_WAIT = 5.0  # seconds a closed helper has to end before it is killed


def serve() -> None:
    """The helper's loop (``_BOOT``): one call a frame, its answer a frame, until stdin ends
    (the calls not yet begun then are dropped: nobody waits for them). A thread takes the calls
    off the pipe as they come, so that the threads sending them never wait for the calls before
    theirs to be done."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # nothing printed by accident lands among the frames
    calls: SimpleQueue[bytes | None] = SimpleQueue()
    ended = threading.Event()  # this process's end of the pipe was closed: nobody waits

    def take() -> None:
        while (frame := _frame(sys.stdin.buffer)) is not None:
            calls.put(frame)
        ended.set()
        calls.put(None)

    threading.Thread(target=take, name="safeinstall-calls", daemon=True).start()
    while (frame := calls.get()) is not None and not ended.is_set():
        try:
            fn, args, kwargs = pickle.loads(frame)  # noqa: S301 - from the process that started it
            if not str(getattr(fn, "__module__", "")).startswith("safeinstall."):
                raise TypeError(f"{fn!r} is not safeinstall's")
            answer = pickle.dumps((True, fn(*args, **kwargs)))
        except Exception as exc:
            try:
                answer = pickle.dumps((False, exc))
            except Exception:  # an error that does not pickle: said by its type and text
                answer = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        _send(out, answer)


def _send(stream: IO[bytes], data: bytes) -> None:
    stream.write(len(data).to_bytes(4, "big") + data)
    stream.flush()


def _frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    size = int.from_bytes(head, "big")
    data = stream.read(size) if size <= MAX_FRAME else b""
    return data if len(data) == size else None
