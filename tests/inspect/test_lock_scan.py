"""Inspect at lock time: the member rules over each locked wheel's zip central directory.

Start-up files, clobbering and shadowing commands are found by reading the central directory
with HTTP ranges (the whole file only when the server has no ranges) before the lock is written:
a blocked finding fails ``lock`` and leaves the old lock byte-identical.
"""

from __future__ import annotations

import base64
import hashlib
import random
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import pytest

from safeinstall.index.distfile import DistFile
from safeinstall.index.metadata import MAX_RANGE_READS
from tests.inspect.hostile import (
    COVERAGE_PTH,
    PTH,
    SETUPTOOLS_PTH,
    entry_points,
    rewritten,
    wheel,
)
from tests.support.builders import read_core_metadata
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import make_venv, snapshot
from tests.support.lockproject import OLD, LockProject


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    """A project locking evil-pkg, whose honest 0.9 is already locked in requirements.txt."""
    root = tmp_path / "proj"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    project = LockProject(root, index_server, tmp_path / "dists", cli, tmp_path / "policy.toml")
    project.write_policy()
    project.publish("evil-pkg", "0.9")
    (root / "requirements.in").write_text("evil-pkg\n")
    first = project.lock("requirements.in", "-o", "requirements.txt")
    assert first.code == 0, first.err
    return project


def publish(
    proj: LockProject, name: str, files: Mapping[str, bytes], *, metadata: bool = True
) -> Path:
    path = wheel(proj.dists / name / str(len(files)), name, files)
    proj.server.add("a", path, upload_time=OLD, metadata=metadata)
    return path


def file_requests(proj: LockProject, path: Path) -> list[dict[str, str]]:
    """The headers of each request for the file itself (not its PEP 658 sidecar)."""
    return [r.headers for r in proj.server.requests_for(f"/a/files/{quote(path.name, safe='')}")]


def refused(proj: LockProject, *args: str) -> str:
    before = proj.snapshot()
    result: Result = proj.lock("requirements.in", "-o", "requirements.txt", "--upgrade", *args)
    proj.assert_failed_safely(result, before)
    assert result.code == 1, result.err
    return result.err


@pytest.mark.parametrize("sidecar", [True, False], ids=["pep658", "ranged-metadata"])
def test_a_startup_pth_fails_the_lock_from_ranges_alone(proj: LockProject, sidecar: bool) -> None:
    evil = publish(proj, "evil-pkg", {"evil_init.pth": PTH}, metadata=sidecar)
    err = refused(proj)
    assert "[startup-pth] evil-pkg" in err
    assert f"{evil.name}:evil_init.pth:1" in err
    assert "the lock file was left as it was" in err
    assert "startup-files" in err  # the hint: how to allow it
    requests = file_requests(proj, evil)
    assert requests and all("range" in h for h in requests)  # never the whole file
    if not sidecar:  # the resolver's ranged read gave the member list: no request more
        assert len(requests) == 1


def test_without_ranges_the_whole_file_is_read_once(proj: LockProject) -> None:
    evil = publish(proj, "evil-pkg", {"evil_init.pth": PTH}, metadata=False)
    proj.server.misbehave("/a/files/*", ignore_range=True)
    assert "[startup-pth] evil-pkg" in refused(proj)
    assert len(file_requests(proj, evil)) == 1


def test_a_pth_larger_than_the_cap_is_judged_by_its_first_bytes(proj: LockProject) -> None:
    publish(proj, "evil-pkg", {"evil_init.pth": PTH + b"#" * (1536 * 1024) + b"\n"})
    assert "[startup-pth] evil-pkg" in refused(proj)


def test_two_wheels_writing_one_path_fail_the_lock(proj: LockProject) -> None:
    publish(proj, "victim", {"victim/core.py": b"X = 1\n", "common.py": b""})
    publish(proj, "evil-pkg", {"common.py": b"import os\n"})
    (proj.root / "requirements.in").write_text("victim\nevil-pkg\n")
    err = refused(proj)
    # resolved in name order: victim is the one that writes over evil-pkg's file
    assert "[clobber-path] victim: victim-1.0-py3-none-any.whl:common.py" in err
    assert "evil_pkg-1.0-py3-none-any.whl writes it too" in err


def test_a_console_script_named_pip_fails_the_lock(proj: LockProject) -> None:
    publish(proj, "evil-pkg", entry_points("evil-pkg", "pip"))
    err = refused(proj)
    assert "[clobber-script] evil-pkg" in err
    assert "the command pip shadows pip" in err


def test_the_inspect_key_moves_a_rule_to_warn_or_allows_it(proj: LockProject) -> None:
    publish(proj, "evil-pkg", entry_points("evil-pkg", "pip"))
    proj.write_policy('inspect = { warn = ["clobber-script"] }')
    warned = proj.lock("requirements.in", "-o", "requirements.txt", "--upgrade")
    assert warned.code == 0, warned.err
    assert "[clobber-script] evil-pkg" in warned.err
    assert "evil-pkg==1.0" in (proj.root / "requirements.txt").read_text()
    proj.write_policy('inspect = { allow = { "evil-pkg" = ["clobber-script"] } }')
    allowed = proj.lock("requirements.in", "-o", "requirements.txt", "--upgrade")
    assert allowed.code == 0, allowed.err
    assert "clobber-script" not in allowed.err


def test_a_wheel_writing_many_files_into_another_s_package_is_one_warning(
    proj: LockProject,
) -> None:
    """A provider writing five files into its framework's package: one line saying so (the
    files counted, the first named), each label once; not one line per file."""
    publish(proj, "victim", {"victim/__init__.py": b"", "victim/core.py": b""})
    files = {f"victim/plugins/p{n}.py": b"" for n in range(5)}
    publish(proj, "evil-pkg", {**files, "evil_pkg/__init__.py": b""})
    (proj.root / "requirements.in").write_text("victim\nevil-pkg\n")
    proj.write_policy('inspect = { warn = ["clobber-package"] }')
    result = proj.lock("requirements.in", "-o", "requirements.txt", "--upgrade")
    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if "clobber-package" in line]
    assert lines == [
        "warning: [clobber-package] evil-pkg: evil_pkg-1.0-py3-none-any.whl: 5 files "
        "(victim/plugins/p0.py, victim/plugins/p1.py, victim/plugins/p2.py, ...): it writes "
        "into the package victim, which victim-1.0-py3-none-any.whl owns"
    ]


def test_honest_startup_files_lock(proj: LockProject) -> None:
    shim = b"def add_shim():\n    pass\n"
    files = {"distutils-precedence.pth": SETUPTOOLS_PTH, "_distutils_hack/__init__.py": shim}
    publish(proj, "setuptools", files)
    publish(proj, "coverage", {"a1_coverage.pth": COVERAGE_PTH})
    (proj.root / "requirements.in").write_text("setuptools\ncoverage\n")
    result = proj.lock("requirements.in", "-o", "requirements.txt")
    assert result.code == 0, result.err
    assert "warning" not in result.err
    assert "setuptools==1.0" in (proj.root / "requirements.txt").read_text()


def test_a_known_listing_is_read_from_the_cache(proj: LockProject) -> None:
    evil = publish(proj, "evil-pkg", {"evil_init.pth": PTH}, metadata=False)
    refused(proj)
    seen = len(file_requests(proj, evil))
    assert "[startup-pth] evil-pkg" in refused(proj)
    assert len(file_requests(proj, evil)) == seen  # metadata, members and the .pth: cached


LINUX = 'python_version == "3.12" and sys_platform == "linux" and platform_machine == "x86_64"'
WINDOWS = 'python_version == "3.12" and sys_platform == "win32" and platform_machine == "AMD64"'
LINUX_TAG, WINDOWS_TAG = "cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-win_amd64"


def publish_for(proj: LockProject, name: str, tag: str, files: Mapping[str, bytes]) -> Path:
    path = wheel(proj.dists / name / tag, name, files, tag=tag)
    proj.server.add("a", path, upload_time=OLD)
    return path


def test_every_target_s_wheel_is_inspected(proj: LockProject) -> None:
    publish_for(proj, "evil-pkg", LINUX_TAG, {})
    evil = publish_for(proj, "evil-pkg", WINDOWS_TAG, {"evil_init.pth": PTH})
    proj.write_policy(f"environments = [{LINUX!r}, {WINDOWS!r}]")
    assert f"[startup-pth] evil-pkg: {evil.name}:evil_init.pth:1" in refused(proj)


def test_wheels_clash_only_with_what_their_target_installs(proj: LockProject) -> None:
    # each writes common.py, but on a target the other does not: nothing is overwritten
    publish_for(proj, "a-pkg", LINUX_TAG, {"common.py": b""})
    publish_for(proj, "a-pkg", WINDOWS_TAG, {})
    publish_for(proj, "b-pkg", LINUX_TAG, {})
    publish_for(proj, "b-pkg", WINDOWS_TAG, {"common.py": b""})
    proj.write_policy(f"environments = [{LINUX!r}, {WINDOWS!r}]")
    (proj.root / "requirements.in").write_text("a-pkg\nb-pkg\n")
    result = proj.lock("requirements.in", "-o", "requirements.txt")
    assert result.code == 0, result.err
    publish_for(proj, "c-pkg", WINDOWS_TAG, {"common.py": b""})  # on windows, with b-pkg's
    publish_for(proj, "c-pkg", LINUX_TAG, {})
    (proj.root / "requirements.in").write_text("a-pkg\nb-pkg\nc-pkg\n")
    assert "[clobber-path] c-pkg" in refused(proj)


def test_a_wheel_in_a_find_links_folder_is_inspected(proj: LockProject, tmp_path: Path) -> None:
    folder = tmp_path / "wheels"
    wheel(folder, "evil-pkg", {"evil_init.pth": PTH})
    proj.write_policy(f'find-links = ["{folder}"]')
    assert "[startup-pth] evil-pkg" in refused(proj)


def test_a_wheel_of_many_members_to_read_is_downloaded_once_not_ranged_without_end(
    proj: LockProject,
) -> None:
    pths = {f"z{n:02}.pth": b"# a path\n" for n in range(40)}  # each read by the start-up rule
    blob = {"evil_pkg/blob.bin": random.Random(0).randbytes(200_000)}  # pushes them out of the tail
    evil = publish(proj, "evil-pkg", {**pths, **blob, "evil_init.pth": PTH})
    assert "[startup-pth] evil-pkg" in refused(proj)
    requests = file_requests(proj, evil)
    assert len(requests) <= 1 + MAX_RANGE_READS + 1  # the tail, some ranges, the whole file
    assert sum("range" not in h for h in requests) == 1


def test_a_startup_file_the_policy_allows_locks(proj: LockProject) -> None:
    publish(proj, "evil-pkg", {"evil_init.pth": PTH})
    digest = hashlib.sha256(PTH).hexdigest()
    entry = f'{{ owner = "evil-pkg", file = "evil_init.pth", sha256 = "{digest}" }}'
    proj.write_policy(f'startup-files = ["default", {entry}]')
    result = proj.lock("requirements.in", "-o", "requirements.txt", "--upgrade")
    assert result.code == 0, result.err
    assert "evil-pkg==1.0" in (proj.root / "requirements.txt").read_text()


def test_a_wheel_whose_metadata_is_not_its_sidecar_s_fails_the_lock(proj: LockProject) -> None:
    honest = wheel(proj.dists / "honest", "evil-pkg", {})
    lying = rewritten(
        wheel(proj.dists / "lying", "evil-pkg", {}), "METADATA", b"Name: evil-pkg", b"Name: reqs"
    )
    proj.server.add("a", lying, upload_time=OLD, metadata=read_core_metadata(honest) or b"")
    err = refused(proj)
    assert "[meta-mismatch] evil-pkg" in err
    assert "names reqs 1.0, not evil-pkg 1.0" in err


def _defused(path: Path, dest: Path) -> bytes:
    """The wheel at ``path`` with its .pth's import lines made comments (same lengths, RECORD
    matching): what a proxy shows through ranges while the whole file stays poisoned."""
    with zipfile.ZipFile(path) as zf:
        members = [(i, zf.read(i)) for i in zf.infolist()]
    old = next(data for info, data in members if info.filename.endswith(".pth"))
    new = old.replace(b"import", b"#mport")
    with zipfile.ZipFile(dest, "w") as zf:
        for info, data in members:
            if info.filename.endswith(".pth"):
                written = new
            elif info.filename.endswith(".dist-info/RECORD"):
                written = data.replace(digest(old), digest(new))
            else:
                written = data
            zf.writestr(info, written)  # the same entry: name, date, compression, mode
    return dest.read_bytes()


def digest(data: bytes) -> bytes:
    """RECORD's form of a sha256."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")


@pytest.mark.slow
def test_a_clean_tail_over_a_poisoned_wheel_locks_but_install_refuses(
    proj: LockProject, tmp_path: Path
) -> None:
    """Ranges are not covered by the sha256: a server that answers them from a clean wheel
    while the whole file (the one the lock pins) has a start-up .pth gets past the lock-time
    listing, and install's scan of the verified bytes blocks it; nothing is installed."""
    evil = publish(proj, "evil-pkg", {"evil_init.pth": PTH}, metadata=False)
    clean = _defused(evil, tmp_path / evil.name)
    assert len(clean) == evil.stat().st_size and clean != evil.read_bytes()  # same tail offsets
    proj.server.misbehave("/a/files/*", ranges_from=clean)
    locked = proj.lock("requirements.in", "-o", "requirements.txt", "--upgrade")
    assert locked.code == 0, locked.err
    lock = (proj.root / "requirements.txt").read_text()
    assert f"sha256:{hashlib.sha256(evil.read_bytes()).hexdigest()}" in lock  # the poisoned file
    assert all("range" in r.headers for r in proj.server.requests_for(f"/a/files/{evil.name}"))
    venv = make_venv(tmp_path / "venv")
    before = snapshot(venv)
    result = proj.run(
        "install", "-r", "requirements.txt", "--python", venv, "--policy", proj.policy_path
    )
    assert result.code == 1, result.err
    assert "[startup-pth] evil-pkg" in result.err
    assert "nothing was installed" in result.err
    assert snapshot(venv) == before
    assert any("range" not in r.headers for r in proj.server.requests_for(f"/a/files/{evil.name}"))


def test_member_lists_are_read_with_as_many_workers_as_the_http_pool_holds() -> None:
    from safeinstall.inspect import listing
    from safeinstall.resolve import finder

    assert listing.WORKERS == finder.WORKERS


# --- the helper process ---------------------------------------------------------------------------


def _many_findings(proj: LockProject, *, sidecars: bool = True) -> None:
    """Six wheels: a start-up file, a clash on one path, a command named pip, three clean
    (``sidecars``: with PEP 658 metadata files; else each metadata read holds the zip)."""
    publish(proj, "evil-pkg", {"evil_init.pth": PTH}, metadata=False)
    publish(proj, "victim", {"victim/core.py": b"X = 1\n", "common.py": b""}, metadata=sidecars)
    publish(proj, "other-pkg", {"common.py": b"import os\n"}, metadata=sidecars)
    publish(proj, "tool-pkg", entry_points("tool-pkg", "pip"), metadata=sidecars)
    for name in ("clean-a", "clean-b", "clean-c"):
        publish(proj, name, {f"{name.replace('-', '_')}/core.py": b""}, metadata=sidecars)
    names = ["evil-pkg", "victim", "other-pkg", "tool-pkg", "clean-a", "clean-b", "clean-c"]
    (proj.root / "requirements.in").write_text("\n".join(names) + "\n")


def _with_helper(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The helper starts at the first metadata read, is waited for at the scan (a large lock's
    has long started by then), has no wheel of its scans ahead looked at (the batches alone),
    and reads one wheel a batch; returns the number of wheels sent to it, as they are sent."""
    from safeinstall.inspect import listing
    from safeinstall.workers import Helper

    def waited_for(self: Helper) -> bool:
        return self._warm is not None and self._warm.exception(timeout=60) is None

    real_read = listing.Ahead.read

    def started_only(self: listing.Ahead, file: Any, zf: Any) -> None:
        real_read(self, file, zf)
        self.scans.clear()

    monkeypatch.setattr(listing, "START", 1)
    monkeypatch.setattr(listing.Ahead, "read", started_only)
    monkeypatch.setattr(Helper, "ready", property(waited_for))
    monkeypatch.setattr(listing, "BATCH", 1)
    sent: list[int] = []
    real = listing._submit

    def counted(*args: Any) -> Any:
        sent.append(len(args[-1]))
        return real(*args)

    monkeypatch.setattr(listing, "_submit", counted)
    return sent


def test_wheels_read_in_the_helper_process_give_the_same_verdict(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_findings(proj)
    alone = refused(proj)
    sent = _with_helper(monkeypatch)
    helped = refused(proj)
    assert sum(sent) > 0  # the helper read some of them
    assert helped == alone
    for rule in ("startup-pth", "clobber-path", "clobber-script"):
        assert f"[{rule}]" in helped


def test_a_helper_that_ends_leaves_its_wheels_to_this_process(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import Future

    from safeinstall.inspect import listing
    from safeinstall.workers import Helper, HelperStopped

    _many_findings(proj)
    alone = refused(proj)
    sent = _with_helper(monkeypatch)

    real = Helper.submit

    def died(self: Helper, fn: Any, /, *args: object, **kwargs: object) -> Future[Any]:
        if fn is not listing._scan_there:  # started and ready; gone when given the wheels
            return real(self, fn, *args, **kwargs)
        done: Future[Any] = Future()
        done.set_exception(HelperStopped("the helper process ended"))
        return done

    monkeypatch.setattr(Helper, "submit", died)
    assert refused(proj) == alone
    assert sum(sent) > 0


@pytest.mark.parametrize("when", ["ahead", "at-the-scan"])
def test_the_helper_reaches_only_the_hosts_the_policy_trusts(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """The helper reads member lists with its own Http, built from the same trusted hosts: an
    index that redirects its range read of a wheel elsewhere fails the lock as it would here,
    whether the helper is given the wheel as the lock resolves (its answer waited for here,
    so that one it gave would be taken) or in a batch at the scan."""
    from concurrent.futures import Future

    from safeinstall.inspect import listing

    evil = publish(proj, "evil-pkg", {})  # metadata from the sidecar: no zip held here
    victim = publish(proj, "victim", {})
    (proj.root / "requirements.in").write_text("evil-pkg\nvictim\n")
    for path in (evil, victim):
        where = f"/a/files/{quote(path.name, safe='')}"
        proj.server.misbehave(where, redirect_to=proj.server.url(where, host="localhost"))
    if when == "at-the-scan":
        sent = _with_helper(monkeypatch)
        err = refused(proj)
        assert sum(sent) == 2  # both wheels went to the helper
    else:
        given = _scans_ahead(monkeypatch, held=False)
        refusals: list[str] = []

        def waited_for(scan: Future[Any]) -> Any:
            refusals.append(str(scan.exception(timeout=60)))
            return scan.result() if scan.exception() is None else None

        monkeypatch.setattr(listing, "_answer", waited_for)
        err = refused(proj)
        assert len(given) == 2
        assert refusals  # the lock ends at the first; it was refused there, for the host
        assert all("a location the policy does not trust" in why for why in refusals)
    assert "a location the policy does not trust" in err


def _cold(proj: LockProject) -> str:
    """``refused`` with an empty cache: every metadata read holds its zip."""
    shutil.rmtree(proj.root.parent / "cache", ignore_errors=True)
    return refused(proj)


def _scans_ahead(
    monkeypatch: pytest.MonkeyPatch, start: int = 1, *, held: bool = True
) -> list[str]:
    """The helper starts at the ``start``th metadata file read (not for pages: see
    ``tests/resolve/test_pages_there.py``); returns the wheels sent to it ahead with the zip
    their read holds (``held``), else those it reads itself."""
    from safeinstall.inspect import listing
    from safeinstall.workers import Helper

    monkeypatch.setattr(listing, "START", start)
    monkeypatch.setattr("safeinstall.resolve.finder.PAGES_START", 1 << 30)
    sent: list[str] = []
    real = Helper.submit

    def counted(self: Helper, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if fn is listing._scan_ahead and (args[1] is not None) is held:
            sent.append(args[0].filename)
        return real(self, fn, *args, **kwargs)

    monkeypatch.setattr(Helper, "submit", counted)
    return sent


def test_a_cold_lock_scans_the_zips_it_reads_in_the_helper_as_it_resolves(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_findings(proj, sidecars=False)
    alone = _cold(proj)  # seven zips: too few to start the helper
    sent = _scans_ahead(monkeypatch)
    assert _cold(proj) == alone
    assert {name.split("-")[0] for name in sent} >= {"evil_pkg", "victim", "clean_c"}
    for rule in ("startup-pth", "clobber-path", "clobber-script"):
        assert f"[{rule}]" in alone


@pytest.mark.parametrize("sidecars", [True, False], ids=["pep658-first-lock", "relock"])
def test_wheels_read_with_no_zip_held_are_scanned_in_the_helper_as_it_resolves(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch, sidecars: bool
) -> None:
    """A wheel whose metadata came from its PEP 658 file or from the cache (a relock) holds
    no zip here: the helper is given it to read itself, while this process resolves."""
    _many_findings(proj, sidecars=sidecars)
    alone = _cold(proj) if sidecars else refused(proj)  # without sidecars: the cache is warm
    sent = _scans_ahead(monkeypatch, held=False)
    assert (_cold(proj) if sidecars else refused(proj)) == alone
    wheels = {"victim", "other_pkg", "tool_pkg", "clean_a", "clean_b", "clean_c"}
    assert {name.split("-")[0] for name in sent} >= wheels
    assert "[startup-pth]" in alone


def test_the_other_wheels_of_a_release_pinned_are_scanned_in_the_helper_as_it_resolves(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release with two wheels for the target: the resolver reads the best one's metadata,
    and the lock locks both. The other is given to the helper when the release is pinned (no
    zip of it held here), and what it holds fails the lock as it does without the helper."""
    publish_for(proj, "two-wheels", LINUX_TAG, {})
    other = publish_for(proj, "two-wheels", "py3-none-any", {"two_init.pth": PTH})
    (proj.root / "requirements.in").write_text("two-wheels\n", encoding="utf-8")
    proj.write_policy(f"environments = [{LINUX!r}]")
    alone = _cold(proj)
    assert f"[startup-pth] two-wheels: {other.name}:two_init.pth:1" in alone
    sent = _scans_ahead(monkeypatch, held=False)
    assert _cold(proj) == alone
    assert other.name in sent


def test_only_a_large_lock_starts_the_helper_first_or_again(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule for a first lock and a relock: the helper starts once the metadata of
    ``START`` projects is read, from the index or the cache; a first lock gives it the zips read."""
    from safeinstall.workers import Helper

    starts: list[Helper] = []
    monkeypatch.setattr(Helper, "start", lambda self, *warm: starts.append(self))
    monkeypatch.setattr("safeinstall.resolve.finder.PAGES_START", 1 << 30)
    _many_findings(proj, sidecars=False)
    sent = _scans_ahead(monkeypatch, start=3)
    refused(proj)  # their first lock: each zip read
    assert len(starts) == 1  # once, however many follow
    assert len(sent) >= 7  # the first three too, once it started
    given = len(sent)
    refused(proj)  # a relock: the metadata from the cache, no zip read
    assert len(starts) == 2
    assert len(sent) == given
    monkeypatch.setattr("safeinstall.inspect.listing.START", 8)
    refused(proj)
    assert len(starts) == 2  # seven projects read: too few


@pytest.mark.parametrize("answer", ["failed", "never"])
def test_scans_ahead_the_helper_did_not_answer_are_done_here_not_waited_for(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """A helper that ended fails its scans; one slow range read there holds up the scans
    behind it (here: forever). The lock waits for neither: it reads them itself."""
    from concurrent.futures import Future

    from safeinstall.inspect import listing
    from safeinstall.workers import Helper, HelperStopped

    _many_findings(proj, sidecars=False)
    alone = _cold(proj)
    sent = _scans_ahead(monkeypatch)
    counted = Helper.submit

    def unanswered(self: Helper, fn: Any, /, *args: object, **kwargs: object) -> Future[Any]:
        done: Future[Any] = counted(self, fn, *args, **kwargs)
        if fn is not listing._scan_ahead:
            return done
        done = Future()
        if answer == "failed":
            done.set_exception(HelperStopped("the helper process ended"))
        return done

    monkeypatch.setattr(Helper, "submit", unanswered)
    assert _cold(proj) == alone
    assert sent


def test_a_helper_still_scanning_ahead_is_given_no_batches(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scans ahead of wheels the lock did not keep (a version tried and left) may still run
    there at the scan, some waiting on the network: batches sent would queue behind them, so
    this process reads the wheels itself."""
    from concurrent.futures import Future

    from safeinstall.inspect import listing

    _many_findings(proj, sidecars=False)
    alone = _cold(proj)
    sent = _with_helper(monkeypatch)
    read = listing.Ahead.read

    def busy(self: listing.Ahead, file: Any, zf: Any) -> None:
        read(self, file, zf)
        self.scans["a wheel tried and left"] = Future()  # never answered

    monkeypatch.setattr(listing.Ahead, "read", busy)
    assert _cold(proj) == alone
    assert sent == []


class _Recorder:
    """A helper that records what it is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def start(self, *warm: Any) -> None:
        self.calls.append(("start",))

    def submit(self, fn: Any, /, *args: Any) -> Any:
        self.calls.append((fn, *args))
        return None

    def scans(self) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] != "start"]


def _demo(filename: str, kind: Literal["wheel", "sdist"] = "wheel") -> DistFile:
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    url = f"https://files.example.org/{filename}"
    return DistFile(canonicalize_name("demo"), Version("1.0"), filename, url, "a", kind, {})


def _ahead(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, _Recorder]:
    from safeinstall.inspect import listing
    from safeinstall.policy.model import Policy

    monkeypatch.setattr(listing, "START", 1)
    helper = _Recorder()
    return listing.Ahead(helper, object(), Policy()), helper  # type: ignore[arg-type]


def test_the_helper_starts_at_the_start_th_project_read_not_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A resolver that backtracks reads many releases of one project: that is not a large
    lock. The helper starts once, at the ``START``th project, and takes what was read till then."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from safeinstall.inspect import listing
    from safeinstall.policy.model import Policy

    def wheel(project: str, version: int) -> DistFile:
        name = f"{project}-{version}-py3-none-any.whl"
        url = f"https://files.example.org/{name}"
        return DistFile(canonicalize_name(project), Version(str(version)), name, url, "a", "wheel")

    monkeypatch.setattr(listing, "START", 3)
    helper = _Recorder()
    ahead = listing.Ahead(helper, object(), Policy())  # type: ignore[arg-type]
    for version in range(1, 31):
        ahead.read(wheel("boto", version), None)
    ahead.read(wheel("core", 1), None)
    assert helper.calls == []  # thirty files, two projects
    ahead.read(wheel("extra", 1), None)
    ahead.read(wheel("boto", 31), None)
    ahead.read(wheel("more", 1), None)
    assert helper.calls.count(("start",)) == 1
    assert len(helper.scans()) == 34


def test_only_wheels_are_given_to_the_helper_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """An sdist's member list is not scanned at lock time (install scans what it builds)."""
    from safeinstall.inspect import listing

    ahead, helper = _ahead(monkeypatch)
    wheel = _demo("demo-1.0-py3-none-any.whl")
    ahead.read(_demo("demo-1.0.tar.gz", "sdist"), None)
    ahead.read(wheel, None)
    assert helper.scans() == [(listing._scan_ahead, wheel, None)]
    assert set(ahead.scans) == {"https://files.example.org/demo-1.0-py3-none-any.whl"}


def test_a_release_pinned_gives_the_helper_its_other_wheels_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pinned again after backtracking, or for another target, a release's wheels are scanned
    once; its best was given when its metadata was read, and its sdist never is."""
    from safeinstall.inspect import listing

    ahead, helper = _ahead(monkeypatch)
    best = _demo("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")
    other = _demo("demo-1.0-py3-none-any.whl")
    release = [best, other, _demo("demo-1.0.tar.gz", "sdist")]
    ahead.read(best, None)
    ahead.pinned(release)
    ahead.pinned(release)
    ahead.pinned([other, best])  # another target's best: read for its metadata, given already
    ahead.read(other, None)
    assert helper.scans() == [(listing._scan_ahead, best, None), (listing._scan_ahead, other, None)]


def test_the_helper_s_scan_of_a_zip_given_lets_this_process_drop_its_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kept till then: a scan that failed there is done here, from the zip still held."""
    from concurrent.futures import Future

    from safeinstall.index.remotezip import RemoteBytes
    from safeinstall.inspect import listing
    from safeinstall.policy.model import Policy

    answers: list[Future[Any]] = []
    released: list[str] = []

    class Answering(_Recorder):
        def submit(self, fn: Any, /, *args: Any) -> Any:
            super().submit(fn, *args)
            answers.append(Future())
            return answers[-1]

    class Reader:
        def release(self, file: DistFile) -> None:
            released.append(file.filename)

    monkeypatch.setattr(listing, "START", 1)
    ahead = listing.Ahead(Answering(), object(), Policy(), Reader())  # type: ignore[arg-type]
    zf = RemoteBytes(100)
    zf.add(90, b"0123456789")
    scanned, failed, unheld = (_demo(f"demo-{v}-py3-none-any.whl") for v in ("1", "2", "3"))
    for file in (scanned, failed):
        ahead.read(file, zf)
    ahead.read(unheld, None)  # read by the helper itself: nothing held here
    answers[0].set_result((None, []))
    answers[1].set_exception(RuntimeError("failed there"))
    answers[2].set_result((None, []))
    assert released == [scanned.filename]


def test_once_resolution_is_over_the_helper_is_given_nothing_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The resolver's reads ahead may end after it: the scans taken for the scan are the ones
    given by then, and no later read changes them (a dict that grew while it was walked)."""
    from safeinstall.inspect import listing

    ahead, helper = _ahead(monkeypatch)
    first = _demo("demo-1.0-py3-none-any.whl")
    ahead.read(first, None)
    taken = ahead.close()
    ahead.read(_demo("demo-0.9-py3-none-any.whl"), None)
    ahead.pinned([first, _demo("demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")])
    assert helper.scans() == [(listing._scan_ahead, first, None)]
    assert list(taken) == ["https://files.example.org/demo-1.0-py3-none-any.whl"]
