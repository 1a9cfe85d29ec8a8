"""The resolver's view of the indexes: process-wide settings made before its threads start,
and the pages read in the lock's helper process."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from safeinstall.index import client
from safeinstall.inspect import listing
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.resolve import finder
from safeinstall.workers import Helper, HelperStopped
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project

# -- pages read in the lock's helper (``PagesThere``) --------------------------------------

NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    """Six projects on the loopback index, a chain (alpha needs bravo, which needs charlie...):
    each page is asked for once the one before it is read; none locked yet."""
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    for name, after in zip(NAMES, [*NAMES[1:], None], strict=True):
        for version in ("1.0", "2.0"):
            project.publish(name, version, requires_dist=[after] if after else [])
    (project.root / "requirements.in").write_text("alpha\n")
    return project


def _lock(proj: LockProject) -> Result:
    """A lock with an empty cache (every page fetched, parsed, and kept by its bytes)."""
    shutil.rmtree(proj.root.parent / "cache", ignore_errors=True)
    result: Result = proj.lock("requirements.in", "-o", "requirements.txt", "--upgrade")
    return result


def _here(proj: LockProject, monkeypatch: pytest.MonkeyPatch) -> Result:
    """The lock with every page read in this process (the helper never starts for pages)."""
    with monkeypatch.context() as patch:
        patch.setattr(finder, "PAGES_START", 1 << 30)
        return _lock(proj)


def _pages_there(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The helper starts at the first page and is ready before that page is read (its first
    call waited for); returns the projects whose pages it is given."""
    monkeypatch.setattr(finder, "PAGES_START", 1)
    started, counted = Helper.start, Helper.submit
    given: list[str] = []

    def start(self: Helper, *args: Any, **kwargs: Any) -> None:
        started(self, *args, **kwargs)
        deadline = time.monotonic() + 60
        while not self.ready and time.monotonic() < deadline:
            time.sleep(0.01)

    def submit(self: Helper, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        if fn is finder._thinned_there:
            given.append(args[1])
        return counted(self, fn, *args, **kwargs)

    monkeypatch.setattr(Helper, "start", start)
    monkeypatch.setattr(Helper, "submit", submit)
    return given


def test_pages_read_in_the_helper_make_the_same_lock(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _here(proj, monkeypatch)
    assert here.code == 0, here.err
    alone = (proj.root / "requirements.txt").read_bytes()
    given = _pages_there(monkeypatch)
    there = _lock(proj)
    assert there.code == 0, there.err
    assert (proj.root / "requirements.txt").read_bytes() == alone
    assert given == NAMES  # the first page started it: it was ready before it was read


def _ended() -> Future[Any]:
    failed: Future[Any] = Future()
    failed.set_exception(HelperStopped("the helper process ended"))
    return failed


@pytest.mark.parametrize(
    "answer",
    [_ended, Future],
    ids=["ended", "never-answers"],
)
def test_pages_the_helper_does_not_give_back_are_read_here(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch, answer: Callable[[], Future[Any]]
) -> None:
    """A helper that ended (killed, out of memory) fails the pages it holds; one stuck in a
    call (alive, never answering) holds each for ``ELSEWHERE_WAIT`` seconds. Either way the
    lock reads them itself and makes the same lock."""
    assert _here(proj, monkeypatch).code == 0
    alone = (proj.root / "requirements.txt").read_bytes()
    given = _pages_there(monkeypatch)
    counted = Helper.submit

    def unanswered(self: Helper, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        real: Future[Any] = counted(self, fn, *args, **kwargs)
        return answer() if fn is finder._thinned_there else real

    monkeypatch.setattr(Helper, "submit", unanswered)
    monkeypatch.setattr(client, "ELSEWHERE_WAIT", 0.2)
    result = _lock(proj)
    assert result.code == 0, result.err
    assert (proj.root / "requirements.txt").read_bytes() == alone
    assert given == NAMES


def test_an_index_error_met_there_is_the_locks_error_here(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index refuses one page: read in the helper, the lock fails as it does when it reads
    the page itself, with the same message, and leaves every file as it was."""
    proj.server.misbehave("*/simple/echo/*", status=403)
    here = _here(proj, monkeypatch)
    assert here.code == 1
    assert "refused access" in here.err
    given = _pages_there(monkeypatch)
    before = proj.snapshot()
    there = _lock(proj)
    proj.assert_failed_safely(there, before)
    assert "echo" in given
    assert there.code == here.code
    assert there.err == here.err


class _FakeHelper:
    """``ready`` when told; every call answered by the test (``pending``: those it has not)."""

    def __init__(self) -> None:
        self.ready = False
        self.starts: list[tuple[Any, ...]] = []
        self.calls: list[Future[Any]] = []

    @property
    def pending(self) -> int:
        return sum(not call.done() for call in self.calls)

    def start(self, *args: Any) -> None:
        self.starts.append(args)

    def submit(self, fn: Any, /, *args: Any) -> Future[Any]:
        self.calls.append(Future())
        return self.calls[-1]


def _setup() -> finder.ReaderSetup:
    from safeinstall.net.settings import NetSettings

    return finder.ReaderSetup((), (), NetSettings(), Path("cache"))


INDEX = IndexSpec("pypi", "https://index.example/simple")


def test_the_helper_starts_at_the_pages_start_th_page_and_takes_pages_once_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(finder, "PAGES_START", 3)
    helper, policy = _FakeHelper(), Policy()
    there = finder.PagesThere(helper, _setup(), policy)  # type: ignore[arg-type]
    assert there(INDEX, canonicalize_name("a")) is None
    assert there(INDEX, canonicalize_name("b")) is None
    assert helper.starts == []  # a small lock: no helper
    assert there(INDEX, canonicalize_name("c")) is None  # started, not ready: read here
    assert helper.starts == [(finder.helper_setup, _setup(), policy)]
    helper.ready = True
    assert there(INDEX, canonicalize_name("d")) is helper.calls[0]
    assert len(helper.starts) == 1


def test_a_lock_of_a_few_packages_starts_no_helper(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper costs a process (~20-40 MiB) that a lock of seven pages would not use."""
    starts: list[object] = []
    monkeypatch.setattr(Helper, "start", lambda self, *args, **kwargs: starts.append(args))
    assert _lock(proj).code == 0
    assert starts == []


def test_a_page_is_given_to_the_helper_only_while_it_has_fewer_than_pages_there_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its calls are answered in turn: a page given to a helper busy with member lists (a
    relock gives it hundreds at once) would wait behind them. It is read here meanwhile;
    each call answered frees a place."""
    monkeypatch.setattr(finder, "PAGES_START", 1)
    monkeypatch.setattr(finder, "PAGES_THERE", 3)
    helper = _FakeHelper()
    helper.ready = True
    there = finder.PagesThere(helper, _setup(), Policy())  # type: ignore[arg-type]
    helper.submit(listing._scan_ahead)  # a member list given to it
    answers = [there(INDEX, canonicalize_name(n)) for n in "abc"]
    assert answers == [helper.calls[1], helper.calls[2], None]
    helper.calls[0].set_result(None)  # the member list is done
    assert there(INDEX, canonicalize_name("d")) is helper.calls[3]
    assert there(INDEX, canonicalize_name("e")) is None
    helper.calls[1].set_exception(HelperStopped("ended"))  # a failed answer frees it too
    assert there(INDEX, canonicalize_name("f")) is helper.calls[4]
