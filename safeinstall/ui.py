"""All terminal output: results on stdout, messages on stderr; colour per NO_COLOR/FORCE_COLOR/tty.

No other module prints. Commands hand the UI either text lines or a JSON-able object, and the UI
writes them in the format the user chose, at the verbosity the user chose (the levels below).
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from safeinstall.errors import SafeinstallError

FORMATS = ("text", "json")

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
