"""`safeinstall lock` end to end: the real CLI against the loopback index server.

Each misbehaviour of the server ends in a clear error (exit 1 or 2, no traceback) or the safe
choice, and a failed run leaves the old lock byte-identical with no temporary file beside it.
"""

from __future__ import annotations

import functools
import threading
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from packaging.pylock import Pylock

from safeinstall.index.client import MAX_PAGE_BYTES
from safeinstall.net.http import Http
from safeinstall.resolve import finder
from tests.net.conftest import tls_builds
from tests.support.builders import file_sha256
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project
from tests.support.paths import WHEELHOUSE


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    return demo_project(tmp_path, index_server, cli, monkeypatch)


def pins(text: str) -> dict[str, str]:
    """name -> version of a requirements.txt lock."""
    heads = [line.split(" ")[0] for line in text.splitlines() if line[:1].isalnum()]
    return dict(head.split("==") for head in heads)


def pylock_pins(path: Path) -> dict[str, str]:
    doc = tomllib.loads(path.read_text())
    return {p["name"]: p["version"] for p in doc["packages"]}


def locked(proj: LockProject, *args: str) -> dict[str, str]:
    result = proj.lock(*args)
    assert result.code == 0, result.err
    return pins((proj.root / "requirements.txt").read_text())


# -- happy path ---------------------------------------------------------------------------------
def test_lock_writes_hashes_and_via_and_relocks_byte_identical(proj: LockProject) -> None:
    wheel = proj.publish("dep", "2.0")
    first = proj.lock("requirements.in", "-o", "requirements.txt")
    assert first.code == 0, first.err
    assert "requirements.txt: wrote, 2 packages, 2 hashes" in first.out
    text = (proj.root / "requirements.txt").read_text()
    assert f"dep==2.0 \\\n    --hash=sha256:{file_sha256(wheel)}\n    # via demo\n" in text
    assert "demo==1.0" in text
    assert "    # via requirements.in:1\n" in text
    again = proj.lock("requirements.in", "-o", "requirements.txt")
    assert again.code == 0, again.err
    assert "unchanged" in again.out
    assert (proj.root / "requirements.txt").read_text() == text


def test_pyproject_extras_and_groups_lock_to_valid_pylock(proj: LockProject) -> None:
    for name in ("fast-dep", "slow-dep", "test-dep"):
        proj.publish(name, "1.0")
    (proj.root / "requirements.in").unlink()
    (proj.root / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = ["demo"]\n\n'
        '[project.optional-dependencies]\nfast = ["fast-dep"]\nslow = ["slow-dep"]\n\n'
        '[dependency-groups]\ntest = ["test-dep"]\n'
    )
    args = ("pyproject.toml", "-o", "pylock.toml", "--extra", "fast", "--group", "test")
    result = proj.lock(*args)
    assert result.code == 0, result.err
    lock_path = proj.root / "pylock.toml"
    assert pylock_pins(lock_path) == {
        "demo": "1.0",
        "dep": "1.0",
        "fast-dep": "1.0",
        "test-dep": "1.0",
    }
    Pylock.from_dict(tomllib.loads(lock_path.read_text())).validate()
    first = lock_path.read_bytes()
    assert proj.lock(*args).code == 0
    assert lock_path.read_bytes() == first
    plain = proj.lock("pyproject.toml", "-o", "pylock.toml")
    assert plain.code == 0, plain.err
    assert set(pylock_pins(lock_path)) == {"demo", "dep"}


def test_existing_pins_are_kept_until_upgrade_opens_them(proj: LockProject) -> None:
    assert locked(proj) == {"demo": "1.0", "dep": "1.0"}
    proj.publish("dep", "2.0")
    proj.publish("demo", "1.1", requires_dist=["dep>=1"])
    proj.publish("other", "1.0")
    (proj.root / "requirements.in").write_text("demo\nother\n")
    assert locked(proj) == {"demo": "1.0", "dep": "1.0", "other": "1.0"}
    assert locked(proj, "-P", "dep") == {"demo": "1.0", "dep": "2.0", "other": "1.0"}
    assert locked(proj, "--upgrade") == {"demo": "1.1", "dep": "2.0", "other": "1.0"}


# -- lock --check: offline --------------------------------------------------------------------
def test_check_tells_fresh_from_stale_without_the_network(proj: LockProject) -> None:
    assert proj.lock().code == 0
    assert proj.lock("-o", "pylock.toml").code == 0
    proj.server.stop()  # the index port is closed: any request would fail
    asked = len(proj.server.requests)
    for output in ("requirements.txt", "pylock.toml"):
        fresh = proj.lock("-o", output, "--check")
        assert (fresh.code, fresh.out.strip()) == (0, f"{output}: up to date"), fresh.err
    inputs = proj.root / "requirements.in"
    inputs.write_text("demo>=1\n")
    stale = proj.lock("--check")
    assert stale.code == 1
    assert "stale" in stale.out
    inputs.write_text("demo\n")
    assert proj.lock("--check").code == 0
    policy = proj.policy_path.read_text()
    proj.policy_path.write_text(policy + 'deny = ["nothing-at-all"]\n')
    assert proj.lock("--check").code == 1
    assert proj.lock("-o", "pylock.toml", "--check").code == 1
    proj.policy_path.write_text(policy)
    assert proj.lock("--check").code == 0
    assert proj.lock("--check", "--python-version", "3.12").code == 1  # another target
    assert len(proj.server.requests) == asked


def test_check_counts_policy_overrides_from_the_environment(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert proj.lock().code == 0
    monkeypatch.setenv("SAFEINSTALL_MIN_RELEASE_AGE", "7 days")
    assert proj.lock("--check").code == 1
    monkeypatch.setenv("SAFEINSTALL_MIN_RELEASE_AGE", "")
    assert proj.lock("--check").code == 0


def test_check_without_a_lock_is_a_usage_error(proj: LockProject) -> None:
    result = proj.lock("--check")
    assert result.code == 2
    assert "requirements.txt does not exist" in result.err


def test_check_does_not_ask_pip_for_its_indexes(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock-fresh hook runs `lock --check` on every commit: the built-in policy's indexes
    (asked of pip in a subprocess) are not part of the digest, so pip is never started."""
    from safeinstall.policy import pipconfig

    started: list[object] = []

    def no_indexes(*args: object) -> tuple[()]:
        started.append(args)
        return ()

    monkeypatch.setattr(pipconfig, "look_up_in_background", lambda *a: started.append(a))
    monkeypatch.setattr(pipconfig, "configured_indexes", no_indexes)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.in").write_text("demo\n")
    (tmp_path / "requirements.txt").write_text("demo==1.0 --hash=sha256:" + "a" * 64 + "\n")
    result = cli("lock", "--check")
    assert result.code == 1  # stale: it has no digest line
    assert started == []


def test_a_lock_keeps_one_malloc_arena_from_before_its_threads(
    proj: LockProject, arena_and_threads: list[str]
) -> None:
    """Set before any thread starts (the CAs load on one), so that all share it; `lock --check`
    starts none, and imports nothing for it."""
    order = arena_and_threads
    assert proj.lock().code == 0
    assert order[0] == "arena" and "thread" in order
    order.clear()
    assert proj.lock("--check").code == 0
    assert order == []


# -- a misbehaving index: a clear error and the old lock intact --------------------------------
def prepared(proj: LockProject) -> dict[str, bytes]:
    """Lock demo, then ask for `newpkg` too (published); returns the snapshot before relocking."""
    assert proj.lock().code == 0
    proj.publish("newpkg", "1.0")
    (proj.root / "requirements.in").write_text("demo\nnewpkg\n")
    return proj.snapshot()


PAGE = "/a/simple/newpkg/"
WHEEL = "/a/files/newpkg-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("pattern", "knobs", "message"),
    [
        pytest.param(PAGE, {"status": 401}, "refused access", id="401"),
        pytest.param(PAGE, {"status": 403}, "refused access", id="403"),
        pytest.param(PAGE, {"status": 404}, "newpkg was not found on any index", id="404"),
        pytest.param(PAGE, {"status": 500}, "answered HTTP 500", id="500"),
        pytest.param(
            PAGE, {"content_type": "text/plain"}, "not a simple-repository page", id="content-type"
        ),
        pytest.param(PAGE, {"reset_after": 0}, "reset", id="reset"),
        pytest.param(PAGE, {"truncate_at": 20}, "incomplete", id="truncated"),
        pytest.param(PAGE, {"oversize": MAX_PAGE_BYTES + 1}, "sent more than", id="oversized"),
        pytest.param(f"{WHEEL}.metadata", {"tamper": True}, "metadata", id="tampered-metadata"),
    ],
)
def test_misbehaving_index_fails_clearly_and_keeps_the_old_lock(
    proj: LockProject, pattern: str, knobs: dict[str, Any], message: str
) -> None:
    before = prepared(proj)
    proj.server.misbehave(pattern, **knobs)
    result = proj.lock()
    proj.assert_failed_safely(result, before)
    assert message in result.err


def test_one_5xx_is_retried(proj: LockProject) -> None:
    prepared(proj)
    proj.server.misbehave(PAGE, times=1, status=503)
    assert locked(proj)["newpkg"] == "1.0"
    assert len(proj.server.requests_for(PAGE)) == 2


def test_slow_trickle_hits_the_deadline(proj: LockProject, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline is 120 s in production and not settable from outside: shortened here."""
    monkeypatch.setattr(finder, "Http", functools.partial(Http, deadline=1.5, timeout=1.0))
    before = prepared(proj)
    proj.server.misbehave(PAGE, trickle=20, trickle_for=8)
    result = proj.lock()
    proj.assert_failed_safely(result, before)
    assert "took longer than 1.5 s" in result.err


@pytest.mark.parametrize("where", ["other-server", "localhost"])
def test_redirect_to_another_host_is_refused(
    proj: LockProject, make_index_server: Any, where: str
) -> None:
    before = prepared(proj)
    if where == "other-server":
        other = make_index_server()
        proj.publish("newpkg", "1.0", server=other)
        target = other.url(PAGE)
    else:
        target = proj.server.url(PAGE, host="localhost")
    proj.server.misbehave(PAGE, redirect_to=target)
    result = proj.lock()
    proj.assert_failed_safely(result, before)
    assert "a location the policy does not trust" in result.err


def test_filename_with_dot_dot_is_refused(proj: LockProject) -> None:
    before = prepared(proj)
    evil = proj.publish("evil", "1.0")
    proj.server.add("a", evil, filename="../evil-1.0-py3-none-any.whl")
    (proj.root / "requirements.in").write_text("demo\nevil\n")
    before["requirements.in"] = b"demo\nevil\n"
    result = proj.lock()
    proj.assert_failed_safely(result, before)
    assert "../evil-1.0-py3-none-any.whl" in result.err
    assert not (proj.root.parent / "evil-1.0-py3-none-any.whl").exists()


def test_stripped_metadata_file_is_read_with_ranged_requests(proj: LockProject) -> None:
    prepared(proj)
    wheel = proj.publish("bare", "1.0", metadata=False, requires_dist=["dep"])
    (proj.root / "requirements.in").write_text("demo\nbare\n")
    assert locked(proj)["bare"] == "1.0"
    text = (proj.root / "requirements.txt").read_text()
    assert f"--hash=sha256:{file_sha256(wheel)}\n    # via requirements.in:2\n" in text
    assert "dep==1.0 \\" in text
    fetched = proj.server.requests_for("/a/files/bare-1.0-py3-none-any.whl")
    assert fetched
    assert all("range" in r.headers for r in fetched)


# -- dependency confusion ---------------------------------------------------------------------
def test_the_first_index_that_has_a_name_wins(proj: LockProject) -> None:
    proj.write_policy(
        indexes=[("a", proj.server.index_url("a"), ""), ("b", proj.server.index_url("b"), "")]
    )
    proj.publish("internal", "1.0", index="a")
    proj.publish("internal", "9.0", index="b")
    (proj.root / "requirements.in").write_text("internal\n")
    assert locked(proj) == {"internal": "1.0"}
    assert proj.lock("-o", "pylock.toml").code == 0
    (package,) = tomllib.loads((proj.root / "pylock.toml").read_text())["packages"]
    assert package["index"] == proj.server.index_url("a").rstrip("/")
    assert proj.server.requests_for("/b/simple/internal/") == []


def test_a_bound_name_never_comes_from_another_index(proj: LockProject) -> None:
    proj.write_policy(
        indexes=[
            ("public", proj.server.index_url("a"), ""),
            ("corp", proj.server.index_url("b"), 'packages = ["corp-*"]'),
        ]
    )
    proj.publish("corp-lib", "5.0", index="a")
    proj.publish("corp-lib", "1.0", index="b")
    proj.publish("corp-tool", "5.0", index="a")
    (proj.root / "requirements.in").write_text("corp-lib\n")
    assert locked(proj) == {"corp-lib": "1.0"}
    assert proj.server.requests_for("/a/simple/corp-lib/") == []
    (proj.root / "requirements.in").write_text("corp-lib\ncorp-tool\n")
    before = proj.snapshot()
    result = proj.lock()
    proj.assert_failed_safely(result, before)
    assert "corp-tool was not found on index 'corp'" in result.err
    assert proj.server.requests_for("/a/simple/corp-tool/") == []


# -- policy, end to end -----------------------------------------------------------------------
def test_yanked_versions_are_skipped_unless_pinned_and_allowed(proj: LockProject) -> None:
    proj.publish("dep", "2.0", yanked="broken build")
    assert locked(proj)["dep"] == "1.0"
    (proj.root / "requirements.in").write_text("demo\ndep==2.0\n")
    before = proj.snapshot()
    refused = proj.lock()
    proj.assert_failed_safely(refused, before)
    assert "yanked (broken build)" in refused.err
    proj.write_policy('yanked = { "dep==2.0" = "we need its fix" }')
    assert locked(proj)["dep"] == "2.0"


def test_min_release_age_refuses_fresh_uploads(proj: LockProject) -> None:
    proj.publish("dep", "2.0", upload_time=datetime.now(UTC) - timedelta(hours=1))
    proj.write_policy('min-release-age = "7 days"')
    assert locked(proj)["dep"] == "1.0"
    proj.write_policy()
    assert locked(proj, "--upgrade")["dep"] == "2.0"


def test_deny_and_allow_apply_to_transitive_packages(proj: LockProject) -> None:
    proj.publish("dep", "2.0")
    proj.write_policy('deny = ["dep>=2"]')
    assert locked(proj)["dep"] == "1.0"
    before = proj.snapshot()
    proj.write_policy('deny = ["dep"]')
    denied = proj.lock()
    proj.assert_failed_safely(denied, before)
    assert "dep" in denied.err
    proj.write_policy('allow = ["demo"]')
    not_allowed = proj.lock()
    proj.assert_failed_safely(not_allowed, before)
    proj.write_policy('allow = ["demo", "dep"]')
    assert locked(proj, "--upgrade") == {"demo": "1.0", "dep": "2.0"}


def test_sdists_only_where_the_policy_allows_them(proj: LockProject) -> None:
    sdist = proj.publish("srconly", "1.0", sdist=True, requires_dist=["dep"])
    (proj.root / "requirements.in").write_text("srconly\n")
    before = proj.snapshot()
    refused = proj.lock()
    proj.assert_failed_safely(refused, before)
    assert "srconly" in refused.err
    proj.write_policy('sdists = ["srconly"]')
    assert locked(proj) == {"srconly": "1.0", "dep": "1.0"}
    assert f"--hash=sha256:{file_sha256(sdist)}" in (proj.root / "requirements.txt").read_text()


def test_sdist_with_dynamic_dependencies_is_built_and_reported(proj: LockProject) -> None:
    flit = sorted(WHEELHOUSE.glob("flit_core-*.whl"))
    if not flit:
        pytest.skip(f"no wheelhouse at {WHEELHOUSE}: run .ci/run once (it downloads it)")
    proj.server.add("a", flit[-1])
    proj.publish("dynpkg", "1.0", sdist=True, requires_dist=["dep"], dynamic=["Requires-Dist"])
    (proj.root / "requirements.in").write_text("dynpkg\n")
    proj.write_policy('sdists = ["dynpkg"]')
    result = proj.lock()
    assert result.code == 0, result.err
    assert "building dynpkg-1.0.tar.gz to read its dependencies" in result.err
    assert pins((proj.root / "requirements.txt").read_text()) == {"dynpkg": "1.0", "dep": "1.0"}


def test_comma_separated_targets_are_locked_recorded_and_checked(proj: LockProject) -> None:
    # safeinstall's own dev lock is made for several Pythons on the command line: one target
    # each, recorded as such, and the recorded command is what `lock --check` is fresh for
    args = ("--python-version", "3.11,3.12", "--platform", "linux")
    result = proj.lock(*args)
    assert result.code == 0, result.err
    assert "for 2 target(s)" in result.err
    text = (proj.root / "requirements.txt").read_text()
    assert "#    safeinstall lock requirements.in -o requirements.txt " + " ".join(args) in text
    recorded = [line for line in text.splitlines() if line.startswith("# environment: ")]
    assert [("3.11" in line, "3.12" in line) for line in recorded] == [(True, False), (False, True)]
    proj.server.stop()
    assert proj.lock("--check", *args).code == 0
    assert proj.lock("--check", "--python-version", "3.11", "--platform", "linux").code == 1


def test_the_lock_records_the_targets_it_resolved_not_the_policys(proj: LockProject) -> None:
    # a policy for linux and windows, a lock made for one target on the command line: the lock
    # said it covered windows too, and pip and uv then failed there with "no wheel"
    proj.write_policy("environments = [\"sys_platform == 'linux'\", \"sys_platform == 'win32'\"]")
    proj.lock("--python-version", "3.12", "--platform", "linux", "-o", "pylock.toml")
    assert proj.lock("--python-version", "3.12", "--platform", "linux").code == 0
    text = (proj.root / "requirements.txt").read_text()
    recorded = [line for line in text.splitlines() if line.startswith("# environment: ")]
    assert len(recorded) == 1 and "win32" not in recorded[0] and "3.12" in recorded[0]
    doc = tomllib.loads((proj.root / "pylock.toml").read_text())
    assert len(doc["environments"]) == 1 and "win32" not in doc["environments"][0]
    # with the policy's targets, the policy's expressions are what the lock records
    assert proj.lock().code == 0
    text = (proj.root / "requirements.txt").read_text()
    assert [line for line in text.splitlines() if line.startswith("# environment: ")] == [
        '# environment: sys_platform == "linux"',
        '# environment: sys_platform == "win32"',
    ]


def test_a_lock_loads_the_cas_once_ahead_of_its_first_request(
    proj: LockProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The system's CAs load in a thread while the lock reads its inputs: its Http clients
    find them loaded."""
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    built = tls_builds(monkeypatch)
    clients: list[Http] = []
    real_init = Http.__init__

    def made(self: Http, **kwargs: Any) -> None:
        real_init(self, **kwargs)
        clients.append(self)

    monkeypatch.setattr(Http, "__init__", made)
    proj.publish("dep", "2.0")
    result = proj.lock("requirements.in", "-o", "requirements.txt")
    assert result.code == 0, result.err
    assert clients
    assert len(built) == 1
    assert built[0] != threading.main_thread().name
