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

``one_malloc_arena``: a process whose threads handle megabytes sets it before they start.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
    on pickled arguments (``submit``). What ``start`` gives it runs first, alone; then up to
    ``threads`` calls at once (one: in the order given), each answer coming back when it is
    done: a call that waits on the network holds up no other.

    It starts as ``python -I`` (no working directory, user site or ``PYTHON*`` variable on its
    path) and then takes this process's ``sys.path``: it imports what this process imports,
    from the same places, and the environment is never changed (builds may start meanwhile).
    Arguments and answers cross its pipes pickled: it trusts this process, which started it,
    and this process trusts the answers of its own code.
    """

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._proc: subprocess.Popen[bytes] | None = None
        self._warm: Future[object] | None = None
        self._reader: threading.Thread | None = None
        self._waiting: dict[int, Future[Any]] = {}  # by call number
        self._calls = 0  # the number of the next call
        self._guard = threading.Lock()  # of the fields; never held while a pipe is written
        self._sending = threading.Lock()  # one call written to the pipe at a time
        self._stopped = False

    @property
    def ready(self) -> bool:
        """Started, and done with what ``start`` gave it to do first."""
        warm = self._warm
        return warm is not None and warm.done() and warm.exception() is None

    @property
    def pending(self) -> int:
        """Calls given to it and not answered yet (running there, or waiting their turn)."""
        with self._guard:
            return len(self._waiting)

    def start(
        self, warm: Callable[..., object] | None = None, /, *args: object, **kwargs: object
    ) -> None:
        """Start the process (once); ``warm(*args, **kwargs)``: what it runs first, before any
        other call begins (imports, and what the calls after it share)."""
        with self._sending:  # no other call goes out before it
            self._begin()
            if self._proc is not None and self._warm is None:
                self._warm = self._submit(pickle.dumps((warm or _nothing, args, kwargs)))

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
                _send(self._proc.stdin, pickle.dumps((sys.path, self._threads)))
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
        call = pickle.dumps((fn, args, kwargs))
        with self._sending:
            return self._submit(call)

    def _submit(self, call: bytes) -> Future[Any]:
        done: Future[Any] = Future()
        # a full pipe blocks the write until the helper reads; it may first have to write an
        # answer, which the reading thread takes without waiting for ``_sending``
        with self._guard:
            proc = self._proc
            if proc is None or proc.stdin is None or self._stopped:
                done.set_exception(HelperStopped("the helper process is not running"))
                return done
            number, self._calls = self._calls, (self._calls + 1) % (1 << 32)
            self._waiting[number] = done
        try:
            _send(proc.stdin, call, number)
        except (OSError, ValueError):  # its pipe is closed: it ended
            with self._guard:
                self._waiting.pop(number, None)
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
        while (got := _frame(self._proc.stdout)) is not None:
            number, frame = got
            with self._guard:
                done = self._waiting.pop(number, None)
            if done is None:
                break  # an answer to no call: as if it had ended
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
            waiting, self._waiting = self._waiting, {}
        for done in waiting.values():
            done.set_exception(HelperStopped("the helper process ended"))
        self._proc.stdout.close()


_BOOT = (
    "import sys, pickle; n = int.from_bytes(sys.stdin.buffer.read(8)[:4], 'big'); "
    "sys.path[:], threads = pickle.loads(sys.stdin.buffer.read(n)); "
    "from safeinstall.workers import serve; serve(threads)"
)
MAX_FRAME = 1 << 30
STOP_WAIT = 5.0  # seconds a closed helper has to end before it is killed


def serve(threads: int = 1) -> None:
    """The helper's loop (``_BOOT``): one call a frame, its answer a frame with the call's
    number, until stdin ends (the calls not yet begun then are dropped: nobody waits for them).
    The first call (``start``'s) runs alone, then ``threads`` at a time. A thread takes the
    calls off the pipe as they come, so that the threads sending them never wait for the calls
    before theirs to be done."""
    one_malloc_arena()  # before its threads
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # nothing printed by accident lands among the frames
    calls: SimpleQueue[tuple[int, bytes] | None] = SimpleQueue()
    ended = threading.Event()  # this process's end of the pipe was closed: nobody waits
    writing = threading.Lock()

    def take() -> None:
        while (got := _frame(sys.stdin.buffer)) is not None:
            calls.put(got)
        ended.set()
        calls.put(None)

    def answer(number: int, frame: bytes) -> None:
        reply = _run(frame)
        with writing:
            _send(out, reply, number)

    threading.Thread(target=take, name="safeinstall-calls", daemon=True).start()
    with out:
        if (first := calls.get()) is None:
            return
        answer(*first)
        with ThreadPoolExecutor(threads, "safeinstall-call") as pool:
            while (got := calls.get()) is not None and not ended.is_set():
                pool.submit(answer, *got)
            pool.shutdown(cancel_futures=True)


def _nothing() -> None:
    """The first call of a helper started with nothing to do first."""


def _run(frame: bytes) -> bytes:
    """The pickled answer to one call: (True, its value) or (False, the error it raised)."""
    try:
        fn, args, kwargs = pickle.loads(frame)  # noqa: S301 - from the process that started it
        if not str(getattr(fn, "__module__", "")).startswith("safeinstall."):
            raise TypeError(f"{fn!r} is not safeinstall's")
        return pickle.dumps((True, fn(*args, **kwargs)))
    except Exception as exc:
        try:
            return pickle.dumps((False, exc))
        except Exception:  # an error that does not pickle: said by its type and text
            return pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _send(stream: IO[bytes], data: bytes, number: int = 0) -> None:
    stream.write(len(data).to_bytes(4, "big") + number.to_bytes(4, "big") + data)
    stream.flush()


def _frame(stream: IO[bytes]) -> tuple[int, bytes] | None:
    """(call number, bytes) of the next frame; None at the end of the stream or a torn frame."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head[:4], "big")
    data = stream.read(size) if size <= MAX_FRAME else b""
    return (int.from_bytes(head[4:], "big"), data) if len(data) == size else None


def one_malloc_arena() -> bool:
    """Let glibc's malloc keep one arena for all the threads (its default: one per thread, up
    to eight per core). Threads handle megabytes of page bodies, JSON and zips; in arenas of
    their own, what one frees stays with the process, out of the others' reach. Set before the
    threads start (at the lock's start, in the helper before its threads), it lowered the
    peak memory of a cold airflow lock, its process and its helper, from ~170 to ~155 MiB in
    the same time (two arenas: ~160). Returns whether the setting was made (False off glibc,
    where nothing is changed)."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
    except (ValueError, OSError):
        return False
    import ctypes

    return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1))


_M_ARENA_MAX = -8  # from glibc's malloc.h
