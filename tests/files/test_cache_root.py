"""Where the cache lives when nothing says otherwise: the platform's user cache directory, the
place pip and platformdirs use, so that an upgrade from a platformdirs-based release keeps it."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeinstall.errors import InputError
from safeinstall.files.cachedir import cache_root


def test_the_configured_directory_wins_everywhere() -> None:
    for platform in ("linux", "darwin", "win32"):
        environ = {"SAFEINSTALL_CACHE_DIR": "/srv/c", "XDG_CACHE_HOME": "/x", "LOCALAPPDATA": "L"}
        assert cache_root(environ, platform) == Path("/srv/c")


def test_linux_follows_xdg_cache_home() -> None:
    assert cache_root({"XDG_CACHE_HOME": "/var/cache/me"}, "linux") == Path(
        "/var/cache/me/safeinstall"
    )


@pytest.mark.parametrize("xdg", [None, "", "   ", "relative/dir"])
def test_linux_falls_back_to_dot_cache_when_xdg_is_unset_empty_or_relative(
    xdg: str | None,
) -> None:
    environ = {} if xdg is None else {"XDG_CACHE_HOME": xdg}
    assert cache_root(environ, "linux") == Path.home() / ".cache" / "safeinstall"


def test_macos_and_windows_use_their_own_places() -> None:
    mac = cache_root({"XDG_CACHE_HOME": "/x"}, "darwin")
    assert mac == Path.home() / "Library" / "Caches" / "safeinstall"
    windows = cache_root({"LOCALAPPDATA": "/appdata"}, "win32")
    assert windows == Path("/appdata") / "safeinstall" / "Cache"
    assert cache_root({}, "win32") == Path.home() / "AppData" / "Local" / "safeinstall" / "Cache"


def test_the_default_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SAFEINSTALL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "safeinstall"


def test_no_home_directory_is_an_error_saying_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A container user with no HOME and no passwd entry: Path.home() cannot answer. The old
    answer (platformdirs) was a directory named ``~`` below the working directory."""

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    for platform in ("linux", "darwin", "win32"):
        with pytest.raises(InputError, match="no home directory") as caught:
            cache_root({}, platform)
        assert "SAFEINSTALL_CACHE_DIR" in (caught.value.hint or "")
    assert cache_root({"SAFEINSTALL_CACHE_DIR": str(tmp_path)}, "linux") == tmp_path
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}, "linux") == tmp_path / "safeinstall"
