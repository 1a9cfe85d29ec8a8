"""workers.Helper: safeinstall's own functions run in a second process, answers in order (or,
with threads, as each is done), an ended helper said as HelperStopped, and nothing of the
working directory run in it."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from safeinstall import urls, workers
from safeinstall.errors import InputError
from safeinstall.files.atomic import write_new
from safeinstall.files.capped import read_capped
from safeinstall.policy.duration import parse_duration
from safeinstall.workers import Helper, HelperStopped


@pytest.fixture
def helper() -> Iterator[Helper]:
    started = Helper()
    started.start()
    yield started
    started.close()


def test_answers_come_back_in_order(helper: Helper) -> None:
    futures = [helper.submit(parse_duration, f"{n}d") for n in range(1, 6)]
    assert [f.result(timeout=30) for f in futures] == [timedelta(days=n) for n in range(1, 6)]


def test_an_error_is_raised_where_the_answer_is_read(helper: Helper) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        helper.submit(parse_duration, "soon").result(timeout=30)
    failed = helper.submit(urls.check, "https://host:99999/", what="the index URL", location=None)
    with pytest.raises(InputError, match="is not a valid URL") as raised:
        failed.result(timeout=30)
    assert raised.value.hint is not None and "port" in raised.value.hint  # the whole error
    assert helper.submit(parse_duration, "2h").result(timeout=30) == timedelta(hours=2)


def test_only_safeinstall_s_own_functions_run_there(helper: Helper) -> None:
    with pytest.raises(TypeError, match="is not safeinstall's"):
        helper.submit(os.getpid).result(timeout=30)


def test_a_helper_not_started_runs_nothing() -> None:
    with pytest.raises(HelperStopped):
        Helper().submit(parse_duration, "1d").result(timeout=30)


def test_a_helper_that_ended_fails_what_waits_and_what_comes(helper: Helper) -> None:
    assert helper.submit(parse_duration, "1d").result(timeout=30) == timedelta(days=1)
    assert helper._proc is not None
    helper._proc.kill()
    helper._proc.wait()
    with pytest.raises(HelperStopped):
        helper.submit(parse_duration, "1d").result(timeout=30)


def test_a_module_in_the_working_directory_does_not_run_in_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper starts as `python -I -c ...`: the working directory is not on its path while
    it imports what it boots with, and it then takes this process's sys.path (which has it only
    if this process has: what runs there would have run here first)."""
    marker = tmp_path / "ran"
    planted = f"open({str(marker)!r}, 'w').write('planted code ran')\nraise SystemExit(1)\n"
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pickle.py", "encodings.py", "safeinstall.py", "threading.py", "subprocess.py"):
        (project / name).write_text(planted)
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    started = Helper()
    started.start()
    try:
        assert started.submit(parse_duration, "3w").result(timeout=30) == timedelta(weeks=3)
    finally:
        started.close()
    assert not marker.exists()
    assert "PYTHONSAFEPATH" not in os.environ  # nothing of this process's environment changed


def test_closing_ends_the_process(helper: Helper) -> None:
    assert helper.submit(parse_duration, "1s").result(timeout=30) == timedelta(seconds=1)
    proc = helper._proc
    helper.close()  # returns at once: a lock does not wait for the process to exit
    assert proc is not None and proc.wait(timeout=30) == 0


def test_closing_returns_at_once_and_a_helper_stuck_in_a_call_is_killed(
    helper: Helper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(workers, "STOP_WAIT", 0.5)
    helper.submit(read_capped, fifo, 100, what="the fifo", hint="")  # never written
    writer = _reading(fifo)
    proc = helper._proc
    helper.close()
    try:
        assert proc is not None and proc.poll() is None  # close() did not wait for its end
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        os.close(writer)


def _reading(fifo: Path) -> int:
    """The write end of ``fifo``, once the helper's call has opened it to read (it has begun)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            assert time.monotonic() < deadline, "the helper never began the call"
            time.sleep(0.01)


def test_large_calls_and_answers_cross_without_waiting_on_each_other(helper: Helper) -> None:
    """Calls and answers larger than a pipe holds: the writer of a call never holds what the
    reader of answers needs, so neither process waits on the other for good."""
    big = "https://example.org/" + "a" * (4 << 20)
    futures = [helper.submit(urls.redact, big) for _ in range(4)]
    assert all(f.result(timeout=60) == big for f in futures)


def test_calls_are_taken_off_the_pipe_while_an_earlier_one_runs(
    helper: Helper, tmp_path: Path
) -> None:
    """The lock's fetch threads send calls as they read metadata: a send must not wait for
    the helper to be done with the calls before it (a pipe holds 64 KiB)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    blocked = helper.submit(read_capped, fifo, 100, what="the fifo", hint="")  # until written
    big = "https://example.org/" + "a" * (1 << 20)
    sent = threading.Event()

    def send() -> None:
        for _ in range(8):
            helper.submit(urls.redact, big)
        sent.set()

    threading.Thread(target=send, daemon=True).start()
    try:
        assert sent.wait(timeout=30), "a send waited for the helper to finish a call"
    finally:
        fifo.write_bytes(b"done")
    assert blocked.result(timeout=30) == b"done"


def test_closing_drops_the_calls_not_yet_begun(helper: Helper, tmp_path: Path) -> None:
    """At the end of a lock the helper may have scans queued that nobody will read: closing
    it does not wait for them to run."""
    fifo, late = tmp_path / "fifo", tmp_path / "late"
    os.mkfifo(fifo)
    helper.submit(read_capped, fifo, 100, what="the fifo", hint="")  # runs until written
    helper.submit(write_new, late, b"ran")  # queued behind it
    writer = _reading(fifo)

    def write_and_close() -> None:
        os.write(writer, b"done")
        os.close(writer)

    opener = threading.Timer(0.5, write_and_close)
    opener.start()
    proc = helper._proc
    helper.close()  # while the first call runs
    opener.join()
    assert proc is not None and proc.wait(timeout=30) == 0
    assert not late.exists()


def test_what_start_gives_runs_first_with_its_arguments() -> None:
    started = Helper()
    started.start(parse_duration, "2h")
    try:
        later = started.submit(parse_duration, "1d")
        assert later.result(timeout=30) == timedelta(days=1)
        assert started.ready  # the call given at the start was done before the one after it
        assert started._warm is not None and started._warm.result() == timedelta(hours=2)
    finally:
        started.close()


def test_with_threads_a_call_that_waits_holds_up_no_other(tmp_path: Path) -> None:
    """The lock's helper scans wheels whose member lists it must fetch: one slow server must not
    hold up the scans queued behind it."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = Helper(2)
    started.start()
    try:
        blocked = started.submit(read_capped, fifo, 100, what="the fifo", hint="")
        writer = _reading(fifo)
        later = [started.submit(parse_duration, f"{n}d") for n in range(1, 4)]
        assert [f.result(timeout=30) for f in later] == [timedelta(days=n) for n in range(1, 4)]
        assert not blocked.done()
        os.write(writer, b"done")
        os.close(writer)
        assert blocked.result(timeout=30) == b"done"
    finally:
        started.close()


def test_pending_counts_the_calls_not_answered_yet(tmp_path: Path) -> None:
    """What the lock asks before it gives the helper a page (``finder.PagesThere``)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = Helper()
    started.start()
    try:
        started.submit(parse_duration, "1d").result(timeout=30)
        assert started.pending == 0
        blocked = started.submit(read_capped, fifo, 100, what="the fifo", hint="")
        queued = started.submit(parse_duration, "2d")
        assert started.pending == 2  # one running, one waiting its turn
        writer = _reading(fifo)
        os.close(writer)
        blocked.result(timeout=30)
        queued.result(timeout=30)
        assert started.pending == 0
    finally:
        started.close()


def test_with_threads_what_start_gives_runs_alone_first(tmp_path: Path) -> None:
    """The start call sets up what the calls after it use (the reader, the policy): none of
    them begins before it is done."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = Helper(4)
    started.start(read_capped, fifo, 100, what="the fifo", hint="")
    try:
        later = started.submit(parse_duration, "1d")
        writer = _reading(fifo)
        with pytest.raises(TimeoutError):
            later.result(timeout=0.5)
        os.write(writer, b"done")
        os.close(writer)
        assert later.result(timeout=30) == timedelta(days=1)
        assert started.ready
    finally:
        started.close()


def test_with_threads_closing_drops_the_calls_not_yet_begun(tmp_path: Path) -> None:
    fifos = [tmp_path / "one", tmp_path / "two"]
    late = tmp_path / "late"
    started = Helper(2)
    started.start()
    for fifo in fifos:
        os.mkfifo(fifo)
        started.submit(read_capped, fifo, 100, what="the fifo", hint="")  # both threads busy
    started.submit(write_new, late, b"ran")  # queued behind them
    writers = [_reading(fifo) for fifo in fifos]

    def write_and_close() -> None:
        for writer in writers:
            os.write(writer, b"done")
            os.close(writer)

    opener = threading.Timer(0.5, write_and_close)
    opener.start()
    proc = started._proc
    started.close()  # while both calls run
    opener.join()
    assert proc is not None and proc.wait(timeout=30) == 0
    assert not late.exists()


# -- one malloc arena ----------------------------------------------------------------------------

ARENAS = """
import ctypes, re, sys, tempfile, threading
from safeinstall.workers import one_malloc_arena
if sys.argv[1] == "one":
    assert one_malloc_arena()
together = threading.Barrier(6)
def churn():
    together.wait()  # all alive at once: a thread that ended hands its arena on
    kept = [bytearray(20_000) for _ in range(50)]
    together.wait()
threads = [threading.Thread(target=churn) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fdopen.restype = ctypes.c_void_p
with tempfile.TemporaryFile() as out:
    stream = ctypes.c_void_p(libc.fdopen(out.fileno(), b"w"))
    libc.malloc_info(0, stream)
    libc.fflush(stream)
    out.seek(0)
    print(len(re.findall(rb"<heap nr=", out.read())))
"""


@pytest.mark.parametrize(("how", "arenas"), [("one", 1), ("default", 7)])
def test_with_one_malloc_arena_the_threads_share_it(how: str, arenas: int) -> None:
    """What a thread frees stays in its arena: with one, the other threads' allocations reuse
    it. (Six threads that allocate make six arenas besides the main one, by default.)"""
    if not os.confstr("CS_GNU_LIBC_VERSION"):
        pytest.skip("not glibc: malloc's arenas are glibc's")
    path = os.pathsep.join(sys.path)
    counted = subprocess.run(
        [sys.executable, "-c", ARENAS, how],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": path, "PATH": os.environ.get("PATH", "")},
    )
    assert int(counted.stdout) == arenas


def test_other_c_libraries_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_name(name: str) -> str:
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(os, "confstr", no_such_name)
    assert workers.one_malloc_arena() is False


def test_the_helper_keeps_one_malloc_arena_from_before_its_threads(
    monkeypatch: pytest.MonkeyPatch, arena_and_threads: list[str]
) -> None:
    """``serve``, the helper's loop, sets it first (here, given no call)."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with open(os.devnull, "w") as devnull:
        monkeypatch.setattr(sys, "stdout", devnull)
        workers.serve()
    assert arena_and_threads == ["arena", "thread"]
