"""How long each phase of an install took: ``SAFEINSTALL_TIMINGS=PATH`` (for benchmarks).

The phases are those the install announces through ``live_status().phase(...)`` ("malware: ...",
"plan: ...", "download: ...", "verify: ...", "inspect: ...", "build: ...", "pip: ...",
"bytecode: ..."): the text before the colon names one. What runs before the first announcement
(reading the policy and the lock) is ``plan`` too. A phase entered twice adds up (``plan``
before and after the known-malware check; a build's requirements are downloaded after the
first download).

At the end of the run, success or failure, ``PATH`` gets a small JSON object, written atomically
(``files/atomic.py``, which refuses to write through a symbolic link)::

    {"version": 1, "ok": true, "total": 12.3, "phases": {"plan": 0.4, "download": 3.1, ...}}

``total``: seconds from the command's start to its end, the sum of the phases; the interpreter's
start-up and exit are outside it. A path that cannot be written is a warning: the install's
result and exit code stay what they were. Without the variable nothing is measured or written.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from safeinstall.errors import InputError, SafeinstallError
from safeinstall.ui import watching_phases

ENV = "SAFEINSTALL_TIMINGS"
FIRST = "plan"  # what runs before the first phase is announced
VERSION = 1


@dataclass(frozen=True, slots=True)
class Timings:
    phases: tuple[tuple[str, float], ...]  # (phase, seconds), in the order first entered
    total: float
    ok: bool

    def to_json(self) -> bytes:
        document = {
            "version": VERSION,
            "ok": self.ok,
            "total": round(self.total, 6),
            "phases": {name: round(seconds, 6) for name, seconds in self.phases},
        }
        return (json.dumps(document, indent=2) + "\n").encode()


def phase_name(text: str) -> str:
    """The phase an announcement starts: ``"download: 3 files, ..."`` -> ``"download"``."""
    name, colon, _ = text.partition(":")
    return name.strip() if colon and name.strip() else "other"


class Stopwatch:
    """Adds up the seconds spent in each phase; called with each announcement's text."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._start = self._since = clock()
        self._current = FIRST
        self._spent: dict[str, float] = {}

    def __call__(self, text: str) -> None:
        name = phase_name(text)
        if name != self._current:
            self._switch(name)

    def stop(self, *, ok: bool) -> Timings:
        end = self._switch(self._current)
        return Timings(tuple(self._spent.items()), end - self._start, ok)

    def _switch(self, name: str) -> float:
        now = self._clock()
        self._spent[self._current] = self._spent.get(self._current, 0.0) + (now - self._since)
        self._current, self._since = name, now
        return now


@contextmanager
def phase_timings(environ: Mapping[str, str], warn: Callable[[str], None]) -> Iterator[None]:
    """Time the phases of the block when ``environ`` sets ``SAFEINSTALL_TIMINGS``, and write
    them there at its end (see the module docstring); otherwise do nothing."""
    target = environ.get(ENV, "")
    if not target:
        yield
        return
    watch = Stopwatch()
    ok = False
    try:
        with watching_phases(watch):
            yield
        ok = True
    finally:
        write_timings(Path(target), watch.stop(ok=ok), warn)


def write_timings(path: Path, timings: Timings, warn: Callable[[str], None]) -> None:
    """``timings`` to ``path``, atomically; a warning (never an error) when that fails."""
    from safeinstall.files.atomic import write_new  # only when asked for

    try:
        _refuse_special(path)
        write_new(path, timings.to_json(), sync=False)
    except (OSError, ValueError, SafeinstallError) as exc:  # ValueError: a NUL in the path
        reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        what = f"could not write the phase timings to {path}: {reason}"
        warn(f"{ENV}: {what} (the install's result stands)")


def _refuse_special(path: Path) -> None:
    """A path that is there and is no file (a device such as /dev/null, a pipe, a directory) is
    never replaced: the atomic write would put a file in its place. A link is for ``write_new``
    to refuse."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise InputError(f"{path} is not a file", hint="give the path of a file to write")
