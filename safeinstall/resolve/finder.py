"""The resolver's view of the trusted indexes: listings and metadata, fetched concurrently.

``open_finder(policy)`` wires the pieces together: one pooled ``Http`` whose every request and
redirect is checked against the policy's hosts, the ``IndexClient`` that binds each name to one
index, the ``MetadataReader``, and a bounded thread pool that prefetches metadata of the
candidates the resolver is likely to try next and the project pages of their dependencies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from packaging.metadata import Metadata
from packaging.tags import Tag
from packaging.utils import NormalizedName

from safeinstall import urls
from safeinstall.errors import SafeinstallError
from safeinstall.files.cachedir import cache_root
from safeinstall.index.client import IndexClient, Thinned
from safeinstall.index.coremeta import NeedsBuild
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.index.filenames import FileFilter
from safeinstall.index.metadata import MetadataReader
from safeinstall.net.http import Http
from safeinstall.net.settings import NetSettings, current_settings
from safeinstall.policy.hosts import HostPolicy
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.policy.pipconfig import index_credentials, trusted_indexes
from safeinstall.workers import Helper, one_malloc_arena

WORKERS = 16
# pages asked for before the helper starts: a lock of a few packages does without it (a
# process of ~20-40 MiB); from the fourth page on, it made a 10-package lock no faster
PAGES_START = 24
PAGES_THERE = 8  # calls in the helper's hands when it is given a page, at most


@dataclass(frozen=True, slots=True)
class ReaderSetup:
    """What another process needs to read pages, metadata and member lists as this run does:
    the trusted indexes (the only hosts its ``Http`` may reach), their credentials, the network
    settings, the cache and the files of a page kept. It pickles; its credentials go to a worker
    process over its pipe only, and are never shown (``repr``)."""

    indexes: tuple[IndexSpec, ...]
    credentials: tuple[str, ...] = field(repr=False)
    settings: NetSettings
    cache: Path
    keep: FileFilter | None = None

    def http(self) -> Http:
        return Http(
            allowed=HostPolicy(self.indexes),
            credentials=self.credentials,
            pool_size=WORKERS,
            settings=self.settings,
        )


@dataclass(frozen=True, slots=True)
class Helping:
    """What the lock's helper process (``workers.Helper``) reads pages (``PagesThere``) and
    member lists (``inspect/listing.py``) with, as the lock does: made by ``helper_setup``,
    its first call."""

    client: IndexClient
    reader: MetadataReader
    policy: Policy


_THERE: list[Helping] = []


def helper_setup(setup: ReaderSetup, policy: Policy) -> None:
    """In the helper, first: its page client and its reader (one ``Http``), and the policy."""
    http = setup.http()
    client = IndexClient(setup.indexes, http, cache_dir=setup.cache, keep=setup.keep)
    _THERE[:] = [Helping(client, MetadataReader(http, cache_dir=setup.cache), policy)]


def there() -> Helping:
    """What ``helper_setup`` made (in the helper process)."""
    return _THERE[0]


def _thinned_there(index: IndexSpec, name: NormalizedName) -> Thinned | None:
    return there().client.thinned(index, name)


class PagesThere:
    """Project pages read in the lock's helper (``IndexClient``'s ``elsewhere``), the other
    core: fetched, parsed and reduced to the files the lock can use there, the rest built
    here. Parsing a page holds a process's GIL, which the resolver and the metadata reads
    share here: the helper takes a page while it has fewer than ``PAGES_THERE`` calls in hand
    (pages, and the member lists ``listing.Ahead`` gives it; a soft limit: threads asking at
    once may each add one), and this process reads the others, so that no page waits in a
    queue there. It is started at the ``PAGES_START``th page (a large lock) and used once
    ready."""

    def __init__(self, helper: Helper, setup: ReaderSetup, policy: Policy) -> None:
        self._helper, self._setup, self._policy = helper, setup, policy
        self._asked = 0
        self._guard = threading.Lock()

    def __call__(self, index: IndexSpec, name: NormalizedName) -> Future[Thinned | None] | None:
        with self._guard:
            self._asked += 1
            start = self._asked == PAGES_START
        if start:
            self._helper.start(helper_setup, self._setup, self._policy)
        if not self._helper.ready or self._helper.pending >= PAGES_THERE:
            return None
        return self._helper.submit(_thinned_there, index, name)


class IndexFinder:
    """Implements the resolver's Finder protocol over the network pieces."""

    def __init__(
        self,
        client: IndexClient,
        reader: MetadataReader,
        pool: ThreadPoolExecutor,
        *,
        policy: Policy,
        notify: Callable[[str], None] = lambda message: None,
        http: Http | None = None,
        cache: Path | None = None,
        setup: ReaderSetup | None = None,
    ) -> None:
        self.client = client
        self.http = http
        self.cache = cache  # where build environments for sdists are made (None: cache_root())
        self.setup = setup  # how a worker process reads as ``reader`` does
        self.reader = reader
        self.policy = policy
        self.notify = notify
        self._pool = pool

    def project(self, name: NormalizedName) -> ProjectPage:
        return self.client.project(name)

    def metadata(self, file: DistFile) -> Metadata:
        try:
            return self.reader.read(file)  # joins an in-flight prefetch of the same file
        except NeedsBuild:
            if file.kind != "sdist" or not self.policy.allows_sdist(file.project):
                raise
            return self.reader.read_built(file, self._build)

    def _build(self, file: DistFile, sdist: bytes) -> bytes:
        from safeinstall.build.env import BuildContext
        from safeinstall.build.sdist import built_metadata

        self.notify(
            f"building {file.filename} to read its dependencies: this runs its build code "
            "(the policy allows sdists for it)"
        )
        cache = self.cache if self.cache is not None else cache_root()
        return built_metadata(
            sdist, file.filename, BuildContext(self.policy, self, self.http, cache, self.notify)
        )

    def prefetch(self, files: Sequence[DistFile], then: Callable[[Metadata], None]) -> None:
        for file in files:  # reading joins one in flight, or finds it read
            self._pool.submit(self._prefetch_file, file, then)

    def prefetch_projects(
        self, names: Sequence[NormalizedName], then: Callable[[NormalizedName], None]
    ) -> None:
        for name in names:
            self._pool.submit(self._page_then, name, then)

    def _page_then(self, name: NormalizedName, then: Callable[[NormalizedName], None]) -> None:
        with suppress(SafeinstallError):  # the resolver's own call reports the error
            self.client.project(name)
            then(name)

    def _prefetch_file(self, file: DistFile, then: Callable[[Metadata], None]) -> None:
        with suppress(SafeinstallError):  # the resolver's own call reports the error
            then(self.metadata(file))  # builds an allowed sdist in the background too


@contextmanager
def open_finder(
    policy: Policy,
    *,
    cache: Path | None = None,
    notify: Callable[[str], None] = lambda message: None,
    wheels_for: Iterable[Tag] | None = None,
    helper: Helper | None = None,
) -> Iterator[IndexFinder]:
    """``wheels_for``: the wheel tags of the targets; other wheels, and the sdists of projects
    the policy does not let build, are dropped from pages. ``helper``: the lock's, which reads
    pages too (``PagesThere``)."""
    root = cache if cache is not None else cache_root()
    settings = current_settings(keyring=policy.keyring)
    keep = FileFilter(wheels_for, policy.allows_sdist) if wheels_for is not None else None
    setup = ReaderSetup(
        tuple(trusted_indexes(policy)), index_credentials(policy), settings, root, keep
    )
    http = setup.http()
    one_malloc_arena()  # `lock` sets it at its start; `install NAME`, `audit --fix` here
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="safeinstall-fetch")
    try:
        there = PagesThere(helper, setup, policy) if helper is not None else None
        client = IndexClient(setup.indexes, http, cache_dir=root, keep=keep, elsewhere=there)
        reader = MetadataReader(http, cache_dir=root)
        yield IndexFinder(
            client,
            reader,
            pool,
            policy=policy,
            notify=notify,
            http=http,
            cache=root,
            setup=setup,
        )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        http.close()


__all__ = [
    "Future",
    "IndexFinder",
    "PagesThere",
    "ReaderSetup",
    "helper_setup",
    "open_finder",
    "there",
    "urls",
]
