"""All terminal output: results on stdout, messages on stderr; colour per NO_COLOR/FORCE_COLOR/tty.

No other module prints. Commands hand the UI either text lines or a JSON-able object, and the UI
writes them in the format the user chose, at the verbosity the user chose (the levels below).
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from safeinstall.errors import SafeinstallError

# Verbosity: each -v adds one, each -q takes one away (cli.py). What each level shows is decided
# here, by the kind of line a command hands over, and nowhere else:
DETAIL = 1  # -v: also details (what was kept, pip's own output as it runs)
ITEMS = 0  # default: a line per package, file or change, and the summary
SUMMARY = -1  # -q: one summary line per command, warnings and errors
ERRORS = -2  # -qq: errors only; nothing at all on success
# At every level: errors, the problems a command fails on (findings, mismatches), and a command's
# answer (`why`, `tree`, a policy printed by `init --dry-run`, any JSON or SARIF): the payload.

_RED, _YELLOW, _GREEN, _BOLD, _RESET = "\033[31m", "\033[33m", "\033[32m", "\033[1m", "\033[0m"


def use_colour(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Colour follows the conventions: NO_COLOR wins, then FORCE_COLOR, then whether it is a tty."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class UI:
    def __init__(
        self,
        *,
        fmt: str = "text",
        verbosity: int = 0,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.format = fmt
        self.verbosity = verbosity
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self._colour = use_colour(self.stderr)
        self._colour_out = use_colour(self.stdout)

    def _paint(self, text: str, code: str, *, out: bool = False) -> str:
        on = self._colour_out if out else self._colour
        return f"{code}{text}{_RESET}" if on else text

    def shows(self, level: int) -> bool:
        """Whether lines of ``level`` are shown at the chosen verbosity."""
        return self.verbosity >= level

    # results (stdout)
    def line(self, text: str = "") -> None:
        """One line of a command's answer (what `why` and `tree` print): shown at every level."""
        self.stdout.write(text + "\n")

    def item(self, text: str) -> None:
        """A line about one package, file or change (`install x==1`): not with -q."""
        if self.shows(ITEMS):
            self.stdout.write(text + "\n")

    def problem(self, text: str) -> None:
        """A line about one thing the command fails on (a finding): shown at every level."""
        self.stdout.write(text + "\n")

    def bad(self, text: str) -> str:
        return self._paint(text, _RED, out=True)

    def good(self, text: str) -> str:
        return self._paint(text, _GREEN, out=True)

    def strong(self, text: str) -> str:
        return self._paint(text, _BOLD, out=True)

    def json(self, obj: Any) -> None:
        import json  # start-up time: the hook path prints text

        json.dump(obj, self.stdout, indent=2, sort_keys=False)
        self.stdout.write("\n")

    # messages (stderr)
    def progress(self, text: str, *, done: bool = False) -> None:
        """A transient status line on stderr (terminals only, text format, not quiet)."""
        isatty = getattr(self.stderr, "isatty", None)
        if self.format != "text" or not self.shows(ITEMS) or not (isatty and isatty()):
            return
        self.stderr.write("\r" + text + "\033[K" + ("\n" if done else ""))
        self.stderr.flush()

    def summary(self, text: str, *, stdout: bool = False) -> None:
        """The one line that sums up a command's run, success or failure: not with -qq."""
        if self.shows(SUMMARY) and self.format == "text":
            (self.stdout if stdout else self.stderr).write(text + "\n")

    def info(self, text: str) -> None:
        """What the command is doing (`Resolving...`): not with -q."""
        if self.shows(ITEMS) and self.format == "text":
            self.stderr.write(text + "\n")

    def debug(self, text: str) -> None:
        """A detail: only with -v."""
        if self.shows(DETAIL):
            self.stderr.write(text + "\n")

    def tool_output(self, text: str) -> None:
        """A line another program (pip) writes, as it writes it: only with -v."""
        self.debug(text)

    def warn(self, text: str) -> None:
        """Not with -qq."""
        if self.shows(SUMMARY):
            self.stderr.write(self._paint("warning: ", _YELLOW) + text + "\n")

    def fail(self, text: str) -> None:
        """Why the command fails, when that is no exception (`sync --check`): at every level."""
        self.stderr.write(self._paint("error: ", _RED + _BOLD) + text + "\n")

    def error(self, err: SafeinstallError) -> None:
        """Always shown: what another program said (pip's lines, indented), then the error and
        its hint, so that a hint saying "the error shown above" has it above."""
        for detail in err.detail:
            self.stderr.write(f"  {detail}\n")
        self.stderr.write(self._paint("error: ", _RED + _BOLD) + str(err) + "\n")
        if err.hint:
            self.stderr.write(self._paint("hint: ", _BOLD) + err.hint + "\n")


# --- live status: what a long step is doing ----------------------------------------------------
# (a separate block: the resolver and the install pipeline report through ``live_status()``)

import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from contextvars import ContextVar  # noqa: E402
from threading import RLock  # noqa: E402


class Live:
    """What a long step is doing. On a terminal (text format, not quiet): one line that updates
    in place, at most every ``every`` seconds. With -v (``level`` 1) or -vv (2): lines that stay,
    on stderr, terminal or not. Phases (download, verify, pip...): a line each on a terminal or
    with -v. Nothing else ever: captured, piped and JSON output stay as they were."""

    def __init__(
        self,
        ui: UI | None = None,
        *,
        every: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ui = ui
        self.every = every
        self.clock = clock
        self._last = -every
        self._shown = False
        self.writing = RLock()  # held while writing: fetch threads warn too (commands/lock.py)
        isatty = getattr(ui.stderr, "isatty", None) if ui is not None else None
        self.terminal = bool(
            ui is not None and ui.format == "text" and ui.verbosity >= 0 and isatty and isatty()
        )

    @property
    def detail(self) -> int:
        """The -v count (0 without a UI or with -q)."""
        return max(self.ui.verbosity, 0) if self.ui is not None else 0

    def update(self, text: str, *, force: bool = False) -> None:
        """The updating line (terminals only); skipped when the last was under ``every`` ago."""
        if self.ui is None or not self.terminal:
            return
        now = self.clock()
        if not force and now - self._last < self.every:
            return
        self._last = now
        import shutil  # start-up time: the hook path never shows progress

        width = shutil.get_terminal_size((80, 24)).columns - 1
        with self.writing:
            self.ui.stderr.write("\r" + text[:width] + "\033[K")
            self.ui.stderr.flush()
            self._shown = True

    def say(self, text: str, level: int = 1) -> None:
        """A line that stays, with at least ``level`` -v."""
        if self.ui is not None and self.detail >= level:
            self._write(text)

    def phase(self, text: str) -> None:
        """A line saying which step starts: on a terminal, or with -v. The text goes to the
        phase watcher too, if one watches (``watching_phases``)."""
        watch = _WATCHER.get()
        if watch is not None:
            watch(text)
        if self.ui is not None and (self.terminal or self.detail >= 1):
            self._write(text)

    def clear(self) -> None:
        """Take the updating line away (before a result or an error is written)."""
        with self.writing:
            if self.ui is not None and self._shown:
                self.ui.stderr.write("\r\033[K")
                self.ui.stderr.flush()
                self._shown = False

    def _write(self, text: str) -> None:
        assert self.ui is not None
        with self.writing:
            self.clear()
            self.ui.stderr.write(text + "\n")
            self.ui.stderr.flush()


_LIVE: ContextVar[Live | None] = ContextVar("safeinstall_live", default=None)
_SILENT = Live()
_WATCHER: ContextVar[Callable[[str], None] | None] = ContextVar("safeinstall_phases", default=None)


@contextmanager
def live(ui: UI) -> Iterator[Live]:
    """Make ``live_status()`` report through ``ui`` while the block runs (one command)."""
    status = Live(ui)
    token = _LIVE.set(status)
    try:
        yield status
    finally:
        status.clear()
        _LIVE.reset(token)


def live_status() -> Live:
    """The running command's live status; a silent one outside ``live``."""
    return _LIVE.get() or _SILENT


@contextmanager
def watching_phases(watch: Callable[[str], None]) -> Iterator[None]:
    """Hand the text of each phase that starts to ``watch`` while the block runs, whatever the
    verbosity (``install/timings.py`` times them)."""
    token = _WATCHER.set(watch)
    try:
        yield
    finally:
        _WATCHER.reset(token)
