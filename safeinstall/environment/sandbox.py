"""The sandbox of every build: third-party build code runs with no network, no secrets, no home.

A build runs its author's code: the PEP 517 hooks of an sdist read at lock time
(``build/hooks.py``) and pip building an allowed sdist at install time (``environment/pip.py``).
Both start their process through ``confined``, which gives it:

- **no network**: a new network namespace (``unshare --net``; ``--user --map-root-user`` first
  when not root; ``unshare`` from /usr/bin, /bin, /usr/sbin or /sbin, never from PATH), in
  which not even loopback is up. Where the platform or the kernel cannot make one (macOS,
  Windows, a container whose seccomp profile forbids ``unshare``), the policy's
  ``build-sandbox`` decides: ``"require"`` (the default) refuses to build, ``"warn"`` builds
  with the rest of the sandbox and says so;
- **a scrubbed environment**: only ``PATH``, ``LANG``, ``LANGUAGE``, ``LC_*``, ``TZ`` and
  ``SOURCE_DATE_EPOCH`` pass (and on Windows what a process needs to start), plus what the
  caller adds (pip's own settings). No token, no cloud, CI or proxy variable reaches the build;
- **a private home and temporary directory**: ``HOME`` (``USERPROFILE``) and ``TMPDIR``
  (``TEMP``, ``TMP``) point into a new directory removed afterwards, so ``~/.netrc``, ``~/.pypirc``
  and the cloud tools' credentials are not where the build looks, and what it writes there is
  gone.

The caller keeps the wall-clock limit and caps the output it reads (``MAX_OUTPUT``). A build that
fails after trying the network is told apart (``denied_network``) so the error can say so.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from safeinstall.errors import PolicyError
from safeinstall.files.programs import SYSTEM_DIRS, system_program

MODES = ("require", "warn")
# Where `unshare` is looked for: the system's directories, never PATH, which an active target
# environment leads (a package there may ship an `unshare` that cuts nothing; files/programs.py).
UNSHARE_DIRS = SYSTEM_DIRS
MAX_OUTPUT = 64 * 1024 * 1024  # bytes a build may print before it is stopped
_PASSED = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "SOURCE_DATE_EPOCH"})
_PASSED_WINDOWS = frozenset({"SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT"})
_PROBE_TIMEOUT = 10.0
_NETWORK_ERRORS = re.compile(
    r"Network is unreachable|Temporary failure in name resolution|Name or service not known|"
    r"nodename nor servname|\[Errno (?:101|-2|-3)\]|NewConnectionError|ConnectionRefusedError",
)


@dataclass(frozen=True, slots=True)
class Confinement:
    """How to start the build: ``argv`` (behind ``unshare`` when the network is cut), ``env``."""

    argv: tuple[str, ...]
    env: dict[str, str]
    network_cut: bool


@contextlib.contextmanager
def confined(
    argv: Sequence[str],
    *,
    mode: str,
    what: str,
    extra_env: Mapping[str, str] = {},
    warn: Callable[[str], None] = lambda message: None,
) -> Iterator[Confinement]:
    """The confinement for running ``argv`` (the build of ``what``); its home is removed after.

    PolicyError when the network cannot be cut and ``mode`` is ``"require"``."""
    prefix = network_cut_prefix()
    if prefix is None:
        why = network_cut_unavailable()
        if mode != "warn":
            raise PolicyError(
                f"cannot build {what} without network access: {why}",
                hint="build where `unshare` works (Linux), use a wheel, or set "
                'build-sandbox = "warn" in the policy to build with the network reachable',
            )
        warn(
            f"building {what} WITH network access ({why}); the policy's build-sandbox is "
            '"warn". Its environment is scrubbed and its home is private'
        )
    with tempfile.TemporaryDirectory(prefix="safeinstall-sandbox-") as tmp:
        home, temp = Path(tmp, "home"), Path(tmp, "tmp")
        home.mkdir()
        temp.mkdir()
        env = scrubbed_environment(os.environ, home=home, temp=temp)
        env.update(extra_env)
        yield Confinement((*(prefix or ()), *argv), env, prefix is not None)


def scrubbed_environment(environ: Mapping[str, str], *, home: Path, temp: Path) -> dict[str, str]:
    """What passes from ``environ`` into a build, with ``home`` and ``temp`` as its own."""
    windows = sys.platform == "win32"
    passed = _PASSED | _PASSED_WINDOWS if windows else _PASSED
    env = {
        k: v
        for k, v in environ.items()
        if (k.upper() if windows else k) in passed or k.startswith("LC_")
    }
    env.update(HOME=str(home), TMPDIR=str(temp), TEMP=str(temp), TMP=str(temp))
    if windows:
        env["USERPROFILE"] = str(home)
    return env


def denied_network(output: str) -> bool:
    """Whether a failed build's output shows it tried the network (which the sandbox cuts)."""
    return _NETWORK_ERRORS.search(output) is not None


def network_cut_prefix() -> tuple[str, ...] | None:
    """The command prefix that starts a process in a new, empty network namespace; None when
    this machine cannot (``network_cut_unavailable`` says why). Tried once per process."""
    return _probe()[0]


def network_cut_unavailable() -> str:
    return _probe()[1]


@functools.cache
def _probe() -> tuple[tuple[str, ...] | None, str]:
    if not sys.platform.startswith("linux"):
        return None, f"{sys.platform} has no network namespaces"
    unshare = system_program("unshare", UNSHARE_DIRS)
    true = system_program("true", UNSHARE_DIRS)  # by path: PATH's `true` could be planted too
    if unshare is None or true is None:
        return None, "the `unshare` command (util-linux) is not installed"
    as_user = () if os.geteuid() == 0 else ("--user", "--map-root-user")
    prefix = (unshare, *as_user, "--net")
    try:
        done = subprocess.run(
            [*prefix, "--", true],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"`unshare` could not run ({exc})"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no reason given"]
        return None, f"the kernel refused a network namespace ({said[-1]})"
    return prefix, ""
