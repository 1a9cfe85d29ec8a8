"""Resolution talks on a terminal, and only there: an updating line, -v pins, -vv refusals.

A 154-package lock backtracked for 17 minutes without a word, even with -vv. Progress must show
on a terminal, and must never reach captured output, pipes, logs or JSON.
"""

from __future__ import annotations

import io

import pytest

from safeinstall.ui import UI, Live, live, live_status


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def ui_on(stream: io.StringIO, verbosity: int = 0, fmt: str = "text") -> UI:
    return UI(fmt=fmt, verbosity=verbosity, stdout=io.StringIO(), stderr=stream)


# --- the live status itself ------------------------------------------------------------------


def test_on_a_terminal_one_line_updates_in_place_at_most_ten_times_a_second() -> None:
    now = [100.0]
    term = Terminal()
    status = Live(ui_on(term), clock=lambda: now[0])
    status.update("resolving 1")
    status.update("resolving 2")  # too soon: skipped
    now[0] += 0.2
    status.update("resolving 3")
    status.say("a -v line")  # not asked for
    status.phase("download: 3 files")
    status.clear()
    assert term.getvalue() == ("\rresolving 1\033[K\rresolving 3\033[K\r\033[Kdownload: 3 files\n")


@pytest.mark.parametrize(
    ("stream", "verbosity", "fmt"),
    [(io.StringIO(), 0, "text"), (Terminal(), -1, "text"), (Terminal(), 0, "json")],
    ids=["piped", "quiet", "json"],
)
def test_piped_quiet_or_json_shows_nothing(stream: io.StringIO, verbosity: int, fmt: str) -> None:
    status = Live(ui_on(stream, verbosity, fmt))
    status.update("resolving", force=True)
    status.phase("download: 3 files")
    status.say("pin lib 1.0")
    status.clear()
    assert stream.getvalue() == ""


def test_verbose_lines_stay_piped_or_not_and_clear_the_updating_line() -> None:
    piped = io.StringIO()
    status = Live(ui_on(piped, 2))
    status.update("resolving", force=True)
    status.say("pin lib 1.0")
    status.say("  skip lib 2.0: no wheel", 2)
    status.say("too much", 3)
    status.phase("pip: installing 3 files")
    assert piped.getvalue() == "pin lib 1.0\n  skip lib 2.0: no wheel\npip: installing 3 files\n"
    term = Terminal()
    status = Live(ui_on(term, 1))
    status.update("resolving", force=True)
    status.say("pin lib 1.0")
    assert term.getvalue() == "\rresolving\033[K\r\033[Kpin lib 1.0\n"


def test_the_live_status_belongs_to_the_running_command_only() -> None:
    term = Terminal()
    assert live_status().ui is None
    with live(ui_on(term)) as status:
        assert live_status() is status
        status.update("resolving", force=True)
    assert term.getvalue() == "\rresolving\033[K\r\033[K"  # taken away at the end
    assert live_status().ui is None
