"""A project directory that locks against the loopback index server through the real CLI.

``LockProject`` writes a policy naming the server's indexes, publishes built wheels and sdists
on them, runs ``safeinstall lock`` in-process and snapshots the directory, so a test can assert
that a failed run left every file byte-identical and no temporary file behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import build_sdist, build_wheel
from tests.support.indexserver import IndexServer

OLD = datetime(2024, 1, 1, tzinfo=UTC)  # an upload time older than any min-release-age used


@dataclass
class LockProject:
    root: Path  # the project directory (the current directory while a test runs)
    server: IndexServer
    dists: Path  # where built distributions go (outside root)
    run: Callable[..., Any]  # the `cli` fixture
    policy_path: Path

    def publish(
        self,
        name: str,
        version: str,
        *,
        index: str = "a",
        sdist: bool = False,
        server: IndexServer | None = None,
        upload_time: datetime | None = OLD,
        yanked: str | bool | None = None,
        metadata: bool | bytes = True,
        **build: Any,
    ) -> Path:
        """Build a wheel (or an sdist) and list it on ``index``; returns the built file."""
        if sdist:
            path = build_sdist(self.dists, name, version, **build)
        else:
            path = build_wheel(self.dists, name, version, **build)
        (server or self.server).add(
            index, path, upload_time=upload_time, yanked=yanked, metadata=metadata
        )
        return path

    def write_policy(
        self, extra: str = "", *, indexes: Sequence[tuple[str, str, str]] | None = None
    ) -> None:
        """``indexes``: (name, url, extra keys) per index; default the server's index "a"."""
        entries = indexes or [("local", self.server.index_url("a"), "")]
        lines = ["indexes = ["]
        lines += [
            f'  {{ name = "{name}", url = "{url}"{", " + keys if keys else ""} }},'
            for name, url, keys in entries
        ]
        lines += ["]", extra]
        self.policy_path.write_text("\n".join(lines) + "\n")

    def lock(self, *args: str | Path) -> Any:
        return self.run("lock", *args, "--policy", self.policy_path)

    def snapshot(self) -> dict[str, bytes]:
        """Every file under root (names relative to it) with its bytes."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
        }

    def assert_failed_safely(self, result: Any, before: dict[str, bytes]) -> None:
        """A clear error (exit 1 or 2, no traceback, no internal error) and nothing changed."""
        text = result.out + result.err
        assert result.code in (1, 2), text
        assert "Traceback" not in text
        assert "internal error" not in text
        assert "error" in result.err.lower(), text
        assert self.snapshot() == before


def demo_project(
    tmp_path: Path, server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    """A project (the current directory) locking `demo`, which needs dep>=1, from index "a".

    demo 1.0 and dep 1.0 are published; the cache is private to the test.
    """
    root = tmp_path / "proj"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    project = LockProject(root, server, tmp_path / "dists", cli, tmp_path / "policy.toml")
    project.write_policy()
    project.publish("demo", "1.0", requires_dist=["dep>=1"])
    project.publish("dep", "1.0")
    (root / "requirements.in").write_text("demo\n")
    return project
