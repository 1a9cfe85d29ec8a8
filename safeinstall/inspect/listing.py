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

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

from safeinstall.index.distfile import DistFile
from safeinstall.index.metadata import MetadataReader
from safeinstall.index.remotezip import Listing, ZipFormatError, ZipMember
from safeinstall.inspect.archive import Unreadable, check_caps, zip_member
from safeinstall.inspect.clobber import clobbering
from safeinstall.inspect.rules import Finding
from safeinstall.inspect.verdict import ScanReport, enforce, judge
from safeinstall.inspect.wheel import Layout, Reader
from safeinstall.policy.model import Policy

if TYPE_CHECKING:
    from safeinstall.resolve.resolver import Resolution

# A wheel not read at resolution (another platform's) costs one ranged read of its tail: as many
# at once as the HTTP pool holds connections (resolve/finder.WORKERS; more fails name lookups).
WORKERS = 16


def refuse_listed(
    resolutions: Sequence[Resolution],
    policy: Policy,
    reader: MetadataReader,
    *,
    notify: Callable[[str], None],
) -> ScanReport:
    """PolicyError when the policy blocks what the member lists of the resolved wheels show;
    the warnings through ``notify``."""
    wheels: dict[str, DistFile] = {}
    for resolution in resolutions:
        for pkg in resolution.packages:
            for file in pkg.files:
                if file.kind == "wheel":
                    wheels.setdefault(_key(file), file)
    with ThreadPoolExecutor(max(1, min(len(wheels), WORKERS)), "safeinstall-list") as pool:
        results = dict(
            zip(wheels, pool.map(partial(_scan, policy, reader), wheels.values()), strict=True)
        )
    found = [f for _, findings in results.values() for f in findings]
    for resolution in resolutions:  # what one target installs together: its best wheel each
        best = [pkg.files[0] for pkg in resolution.packages if pkg.files]
        layouts = [results[_key(f)][0] for f in best if f.kind == "wheel"]
        found += clobbering([layout for layout in layouts if layout is not None])
    unique = list(dict.fromkeys(found))  # the same clash on several targets is said once
    report = ScanReport(tuple(judge(unique, policy)), len(wheels))
    return enforce(report, "lock", notify)


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
