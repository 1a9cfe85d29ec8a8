"""The scanner at lock time: each locked wheel judged by its zip central directory, unfetched.

``refuse_listed`` runs after resolution and before a lock is written (``lock/make.py``): every
wheel file of every target's resolution is read as a member list (``MetadataReader.listing``: the
ranges its metadata was read with, the cache, or one ranged read of the zip's tail), and the
member rules of ``wheel.py`` run over it as they do over a downloaded wheel, so start-up files,
``.data`` landings, sitecustomize modules, console scripts and metadata are found by the same
code. A member's bytes are read only when a rule asks for them (METADATA, entry_points.txt, a
``.pth`` landing in site-packages), with a range each, at most as many bytes as that rule reads.
The cross-wheel rules (``clobber.py``) run per target over the wheel each package installs there
(its best). Findings are judged by the policy's ``inspect`` key as at install (``verdict.judge``,
``verdict.enforce``): a blocked one fails the lock, warnings go through ``notify``.

The code rules need every source file and stay with install's scan of the verified bytes; so does
the final word: ranges are not covered by a wheel's sha256 (see ``index/metadata.py``).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

from safeinstall.index.distfile import DistFile
from safeinstall.index.metadata import MetadataReader
from safeinstall.index.remotezip import Listing, RemoteBytes, ZipFormatError, ZipMember
from safeinstall.inspect.archive import Unreadable, check_caps, zip_member
from safeinstall.inspect.clobber import clobbering
from safeinstall.inspect.rules import Finding
from safeinstall.inspect.verdict import ScanReport, enforce, judge
from safeinstall.inspect.wheel import Layout, Reader
from safeinstall.policy.model import Policy
from safeinstall.resolve.finder import ReaderSetup, helper_setup, there
from safeinstall.workers import Helper, HelperStopped

if TYPE_CHECKING:
    from safeinstall.resolve.resolver import Resolution

# A wheel not read at resolution (another platform's) costs one ranged read of its tail: as many
# at once as the HTTP pool holds connections (resolve/finder.WORKERS; more fails name lookups).
WORKERS = 16
# Reading member lists holds the GIL. The lock's helper process (``workers.Helper``) is started
# once resolution has read the metadata of ``START`` projects (``Ahead``): a large lock. During
# resolution it is given each wheel read, with the zip tail the read holds (a first lock's) or
# to read itself (a relock's, from the cache); it runs ``HELPER_THREADS`` of those calls at once,
# so that one waiting on the network holds up no other. At the scan, when it is ready and done
# with every scan ahead (else batches would queue behind them), it reads batches of the other
# wheels (another platform's) from the end of the list while this process reads from the start:
# ``IN_FLIGHT`` batches of ``BATCH`` queued there, so that it never waits for this process (whose
# threads share one GIL) to hand it more. The wheels whose zips are held here come first: there
# they would cost a request. A few threads on each side wait on the network when it is needed.
BATCH = 16
IN_FLIGHT = 6
HERE_THREADS = 4
THERE_THREADS = 4
HELPER_THREADS = 4
_Result = tuple[Layout | None, list[Finding]]
Spans = tuple[tuple[int, bytes], ...]
# projects whose metadata was read before the helper starts (not files: a resolver that reads
# fifty releases of one project makes no more wheels to scan); fewer are scanned here
START = 24
OFFER_BYTES = 1 << 20  # of a zip's tail given to the helper; a larger one is scanned here


def refuse_listed(
    resolutions: Sequence[Resolution],
    policy: Policy,
    reader: MetadataReader,
    *,
    notify: Callable[[str], None],
    helper: Helper | None = None,
    ahead: Mapping[str, Future[_Result]] | None = None,
) -> ScanReport:
    """PolicyError when the policy blocks what the member lists of the resolved wheels show;
    the warnings through ``notify``. ``helper``: the lock's helper process, started (by
    ``Ahead``) or not; ``ahead``: the scans it was given during resolution, by sha256."""
    wheels: dict[str, DistFile] = {}
    for resolution in resolutions:
        for pkg in resolution.packages:
            for file in pkg.files:
                if file.kind == "wheel":
                    wheels.setdefault(_key(file), file)
    scanned = _scan_all(list(wheels.values()), policy, reader, helper, ahead or {})
    results = dict(zip(wheels, scanned, strict=True))
    found = [f for _, findings in results.values() for f in findings]
    for resolution in resolutions:  # what one target installs together: its best wheel each
        best = [pkg.files[0] for pkg in resolution.packages if pkg.files]
        layouts = [results[_key(f)][0] for f in best if f.kind == "wheel"]
        found += clobbering([layout for layout in layouts if layout is not None])
    unique = list(dict.fromkeys(found))  # the same clash on several targets is said once
    report = ScanReport(tuple(judge(unique, policy)), len(wheels))
    return enforce(report, "lock", notify)


def _scan_all(
    files: list[DistFile],
    policy: Policy,
    reader: MetadataReader,
    helper: Helper | None,
    ahead: Mapping[str, Future[_Result]],
) -> list[_Result]:
    """``_scan`` of each of ``files``, in order; a share of them in the helper process when it
    runs and there are enough. The wheels whose zips ``reader`` holds are read here (there
    they would cost a request). What the helper could not read (it ended, or failed) is read
    here. Of the scans it was given ahead, those it has answered are taken; the others are
    done here, never waited for (it may be slow, or stuck on a slow server)."""
    early = {i: ahead[_key(f)] for i, f in enumerate(files) if _key(f) in ahead}
    given = {key: n for n, key in enumerate(ahead)}
    backlog = _Ends(sorted(early, key=lambda i: given[_key(files[i])]))
    rest = [i for i in range(len(files)) if i not in early]
    order = sorted(rest, key=lambda i: not reader.holds(files[i]))
    ends = _Ends(order)
    results: dict[int, _Result] = {}
    behind = not all(scan.done() for scan in ahead.values())  # busy there: give it no more
    split = helper is not None and helper.ready and len(order) > BATCH and not behind

    def here() -> None:
        while (i := ends.first()) is not None:
            results[i] = _scan(policy, reader, files[i])
        while taken := backlog.last(1):  # it begins them in order: from the end here
            i = taken[0]
            results[i] = _answer(early[i]) or _scan(policy, reader, files[i])

    there = _There(partial(_submit, helper, files), ends) if split and helper else None
    # this process's threads wait on the network; with a helper, only a few take the GIL from
    # the one that feeds it
    threads = min(len(order) + behind, HERE_THREADS if there else WORKERS)
    with ThreadPoolExecutor(max(1, threads), "safeinstall-list") as local:
        jobs = [local.submit(here) for _ in range(threads)]
        if there is not None:
            there.finish(results)
        for job in jobs:
            job.result()
    here()  # what the helper gave back after the threads here were done
    return [results[i] for i in range(len(files))]


def _answer(scan: Future[_Result]) -> _Result | None:
    """The helper's answer, if it has given one (None: not yet, or it failed there)."""
    if not scan.done() or scan.exception() is not None:
        return None
    return scan.result()


class Ahead:
    """The helper through resolution (``read`` is the reader's ``on_read``, ``pinned`` the
    resolver's): started once the metadata of ``START`` projects is read (a large lock), and
    given each wheel whose metadata was read, to scan on the other core while this one
    resolves: with the zip's tail that the read holds (a first lock's), else by its own reader
    (the member list cached by an earlier lock, or a ranged read of its own); and the other
    wheels of each release pinned (another tag for the same target: locked with it, their
    metadata unread). Only the scans of locked wheels are looked at (``close``: the scans, by
    sha256); any that failed there or is not done is done again here."""

    def __init__(
        self,
        helper: Helper,
        setup: ReaderSetup | None,
        policy: Policy,
        reader: MetadataReader | None = None,
    ) -> None:
        """``reader``: this process's, which drops the zip of each wheel the helper has scanned
        with the spans it was given (kept till then: read here if the helper fails)."""
        self._helper, self._setup, self._policy = helper, setup, policy
        self._reader = reader
        self._projects: set[str] = set()  # those whose metadata was read
        # each wheel, with the size and the spans of the zip its read holds (None: none held)
        self._waiting: list[tuple[DistFile, tuple[int, Spans] | None]] = []
        self._given: set[str] = set()
        self._closed = False
        self._guard = threading.Lock()
        self.scans: dict[str, Future[_Result]] = {}

    def close(self) -> dict[str, Future[_Result]]:
        """The scans given, once resolution is over; none is given after (metadata reads that
        the resolver started ahead may still end, on other threads, while they are looked at)."""
        with self._guard:
            self._closed = True
            return dict(self.scans)

    def read(self, file: DistFile, zf: RemoteBytes | None) -> None:
        if self._setup is None:
            return
        with self._guard:
            if self._closed:
                return
            if file.project not in self._projects:
                self._projects.add(file.project)
                if len(self._projects) == START:
                    self._helper.start(helper_setup, self._setup, self._policy)
            if zf is None or zf.held <= OFFER_BYTES:  # a larger zip is read here: no request
                self._give(file, (zf.size, zf.spans) if zf is not None else None)
            self._send()

    def pinned(self, files: Sequence[DistFile]) -> None:
        """The files of a release the resolver pins for a target, its best (read) first."""
        if self._setup is None:
            return
        with self._guard:
            if self._closed:
                return
            for file in files[1:]:
                self._give(file, None)
            self._send()

    def _give(self, file: DistFile, held: tuple[int, Spans] | None) -> None:
        if file.kind == "wheel" and _key(file) not in self._given:
            self._given.add(_key(file))
            self._waiting.append((file, held))

    def _send(self) -> None:
        if len(self._projects) >= START:
            for wheel, held in self._waiting:
                scan = self._helper.submit(_scan_ahead, wheel, held)
                if held is not None and self._reader is not None:
                    scan.add_done_callback(partial(_scanned, self._reader, wheel))
                self.scans[_key(wheel)] = scan
            self._waiting.clear()


def _scanned(reader: MetadataReader, file: DistFile, scan: Future[_Result]) -> None:
    if not scan.cancelled() and scan.exception() is None:
        reader.release(file)


def _submit(helper: Helper, files: list[DistFile], batch: list[int]) -> Future[list[_Result]]:
    return helper.submit(_scan_there, [files[i] for i in batch])


class _There:
    """Batches from the end of ``ends`` to the helper, ``IN_FLIGHT`` of them queued there from
    the start (before this process's threads take any), more as each comes back."""

    def __init__(self, submit: Callable[[list[int]], Future[list[_Result]]], ends: _Ends) -> None:
        self._submit = submit
        self._ends = ends
        self._flying: deque[tuple[list[int], Future[list[_Result]]]] = deque()
        self._usable = True
        self._fill()

    def _fill(self) -> None:
        while self._usable and len(self._flying) < IN_FLIGHT and (batch := self._ends.last(BATCH)):
            self._flying.append((batch, self._submit(batch)))

    def finish(self, results: dict[int, _Result]) -> None:
        """Collect every batch into ``results``; one the helper could not read (it ended:
        killed, out of memory...) is given back to be read here, and no more is sent."""
        while self._flying:
            batch, future = self._flying.popleft()
            try:
                results.update(zip(batch, future.result(), strict=True))
            except HelperStopped:
                self._usable = False
                self._ends.give_back(batch)
            self._fill()


class _Ends:
    """Indexes taken from both ends of one list, each once, by several threads."""

    def __init__(self, order: list[int]) -> None:
        self._order = order
        self._lo, self._hi = 0, len(order)
        self._back: list[int] = []  # given back: read here
        self._guard = threading.Lock()

    def first(self) -> int | None:
        with self._guard:
            if self._back:
                return self._back.pop()
            if self._lo >= self._hi:
                return None
            self._lo += 1
            return self._order[self._lo - 1]

    def last(self, count: int) -> list[int]:
        with self._guard:
            start = max(self._lo, self._hi - count)
            batch, self._hi = self._order[start : self._hi], start
            return batch

    def give_back(self, batch: list[int]) -> None:
        with self._guard:
            self._back.extend(batch)


def _scan_ahead(file: DistFile, held: tuple[int, Spans] | None) -> _Result:
    """``_scan`` in the helper of the wheel ``file``; ``held``: the size of its zip and the
    spans this process read of it (for its metadata), else its reader reads it (its cached
    member list, or ranges). What else a rule needs is read with ranges."""
    if held is not None:
        zf = RemoteBytes(held[0])
        for start, data in held[1]:
            zf.add(start, data)
        there().reader.adopt(file, zf)
    return _scan(there().policy, there().reader, file)


def _scan_there(files: list[DistFile]) -> list[_Result]:
    """``_scan`` of each of ``files`` in the helper process."""
    with ThreadPoolExecutor(max(1, min(len(files), THERE_THREADS)), "safeinstall-list") as pool:
        return list(pool.map(partial(_scan, there().policy, there().reader), files))


def _key(file: DistFile) -> str:
    return file.sha256 or file.url


def _scan(
    policy: Policy, reader: MetadataReader, file: DistFile
) -> tuple[Layout | None, list[Finding]]:
    rules = Reader(file.project, file.version, file.filename, policy.startup_files)
    listing: Listing | None = None
    try:
        listing = reader.listing(file)
        check_caps(len(listing.members), sum(m.size for m in listing.members))
        for entry in listing.members:
            member = zip_member(entry.name, entry.size, entry.mode, partial(_read, listing, entry))
            if member is not None:
                rules.feed(member)
    except (Unreadable, ZipFormatError) as exc:
        why = exc.message if isinstance(exc, ZipFormatError) else str(exc)
        hit = Finding("archive-unreadable", file.project, file.filename, None, None, why)
        return None, [hit]
    finally:
        if listing is not None:
            reader.keep_listing(file, listing)
    return rules.finish()


def _read(listing: Listing, entry: ZipMember, limit: int) -> bytes:
    return listing.read(entry, limit)
