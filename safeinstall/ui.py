"""All terminal output: results on stdout, messages on stderr; colour per NO_COLOR/FORCE_COLOR/tty.

No other module prints. Commands hand the UI either text lines or a JSON-able object, and the UI
writes them in the format the user chose.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from safeinstall.errors import SafeinstallError

FORMATS = ("text", "json")

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

    # results (stdout)
    def line(self, text: str = "") -> None:
        """One line of a text result."""
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
        if self.format != "text" or self.verbosity < 0 or not (isatty and isatty()):
            return
        self.stderr.write("\r" + text + "\033[K" + ("\n" if done else ""))
        self.stderr.flush()

    def info(self, text: str) -> None:
        if self.verbosity >= 0 and self.format == "text":
            self.stderr.write(text + "\n")

    def debug(self, text: str) -> None:
        if self.verbosity > 0:
            self.stderr.write(text + "\n")

    def warn(self, text: str) -> None:
        if self.verbosity >= 0:
            self.stderr.write(self._paint("warning: ", _YELLOW) + text + "\n")

    def error(self, err: SafeinstallError) -> None:
        self.stderr.write(self._paint("error: ", _RED + _BOLD) + str(err) + "\n")
        if err.hint:
            self.stderr.write(self._paint("hint: ", _BOLD) + err.hint + "\n")
