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

- **file walls** (when the caller names its ``Places``, as the PEP 517 hooks do; pip building an
  sdist into the target, ``environment/pip.py``, names none): a new mount
  namespace too (``unshare --mount``), set up before the build's code runs (``mounts.py``): the
  source copy-on-write, the real home hidden and read-only, ``/tmp`` private, everything else
  read-only but the build's output and its private home. Where no mount namespace can be made
  (the kernel refuses one, no mount_setattr(2) or overlayfs), ``build-sandbox`` decides again.

The caller keeps the wall-clock limit and caps the output it reads (``MAX_OUTPUT``). A build that
fails after it was denied something (the network, a write, a hidden file) is told apart
(``Confinement.denied``) so the error can say what.
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

from safeinstall.environment.mounts import Places, hidden_places, setup_argv
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
_UNWALLED = "the real home, its source and the file system writable"
# a mount namespace, and a process namespace so that /proc shows no process outside the walls
# (another's /proc/PID/root is its view of the files, /proc/PID/environ its secrets); killing
# unshare kills the build and all it started
_WALLS = ("--mount", "--pid", "--kill-child")
_NETWORK_ERRORS = re.compile(
    r"Network is unreachable|Temporary failure in name resolution|Name or service not known|"
    r"nodename nor servname|\[Errno (?:101|-2|-3)\]|NewConnectionError|ConnectionRefusedError",
)
_READ_ONLY = re.compile(r"\[Errno 30\] Read-only file system: '([^'\n]+)'|Read-only file system")
_MISSING = re.compile(r"\[Errno 2\] No such file or directory: '([^'\n]+)'")


@dataclass(frozen=True, slots=True)
class Confinement:
    """How to start the build: ``argv`` (behind ``unshare`` when the network is cut), ``env``."""

    argv: tuple[str, ...]
    env: dict[str, str]
    network_cut: bool
    files_walled: bool = False
    hidden: tuple[Path, ...] = ()  # the read-only hidden places (the real home)

    def denied(self, output: str) -> str | None:
        """What a failed build's ``output`` shows it was denied, said as "tried to ..."."""
        if self.network_cut and denied_network(output):
            return "tried to reach the network, which the build sandbox cuts"
        if not self.files_walled:
            return None
        if (wrote := _READ_ONLY.search(output)) is not None:
            where = wrote[1] or "outside its source, output and home"
            return f"tried to write {where}, which the build sandbox keeps read-only"
        for looked in _MISSING.finditer(output):
            if any(Path(looked[1]).is_relative_to(h) for h in self.hidden):
                return f"looked for {looked[1]}, which the build sandbox hides"
        return None


@contextlib.contextmanager
def confined(
    argv: Sequence[str],
    *,
    mode: str,
    what: str,
    extra_env: Mapping[str, str] = {},
    warn: Callable[[str], None] = lambda message: None,
    places: Places | None = None,
) -> Iterator[Confinement]:
    """The confinement for running ``argv`` (the build of ``what``; ``argv[0]`` an absolute
    path); its home is removed after. With ``places``, the file walls too (``mounts.py``).

    PolicyError when a wall cannot be made and ``mode`` is ``"require"``."""
    prefix = network_cut_prefix()
    walled = places is not None and prefix is not None and _mount_probe()[0]
    if prefix is None:
        why = network_cut_unavailable()
        if mode != "warn":
            raise PolicyError(
                f"cannot build {what} without network access: {why}",
                hint="build where `unshare` works (Linux), use a wheel, or set "
                'build-sandbox = "warn" in the policy to build with the network reachable',
            )
        also = f" and {_UNWALLED}" if places is not None else ""
        warn(
            f"building {what} WITH network access{also} ({why}); the policy's build-sandbox is "
            '"warn". Its environment is scrubbed and its home is private'
        )
    elif places is not None and not walled:
        why = _mount_probe()[1]
        if mode != "warn":
            raise PolicyError(
                f"cannot build {what} with the file system walled off: {why}",
                hint="build where `unshare --mount` works (Linux 5.12 or later), use a wheel, or "
                'set build-sandbox = "warn" in the policy to build with the files reachable',
            )
        warn(
            f'building {what} WITH {_UNWALLED} ({why}); the policy\'s build-sandbox is "warn". '
            "It has no network, its environment is scrubbed and its HOME is private"
        )
    with tempfile.TemporaryDirectory(prefix="safeinstall-sandbox-") as tmp:
        home, temp = Path(tmp, "home"), Path(tmp, "tmp")
        home.mkdir()
        temp.mkdir()
        env = scrubbed_environment(os.environ, home=home, temp=temp)
        env.update(extra_env)
        start = prefix or ()
        if walled and places is not None:
            (scratch := Path(tmp, "source-writes")).mkdir()
            setup = setup_argv(places, private=(home, temp), scratch=scratch)
            start = (*start, *_WALLS, *setup)
        hidden = hidden_places()[0] if walled else ()
        yield Confinement((*start, *argv), env, prefix is not None, walled, hidden)


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
    why = _trial([*prefix, "--", true], "`unshare`", "a network namespace")
    return (None, why) if why else (prefix, "")


@functools.cache
def _mount_probe() -> tuple[bool, str]:
    """Whether the file walls can be set up here (a trial run of the same setup), and why not."""
    prefix = network_cut_prefix()
    true = system_program("true", UNSHARE_DIRS)
    if prefix is None or true is None:
        return False, network_cut_unavailable()
    with tempfile.TemporaryDirectory(prefix="safeinstall-probe-") as tmp:
        made = [Path(tmp, name) for name in ("src", "out", "home", "scratch")]
        for path in made:
            path.mkdir()
        places = Places(made[0], writable=(made[1],))
        setup = setup_argv(places, private=(made[2],), scratch=made[3])
        argv = [*prefix, *_WALLS, *setup, true]
        why = _trial(argv, "`unshare --mount`", "a mount namespace", cwd=made[0])
    return not why, why


def _trial(argv: list[str], program: str, made: str, cwd: Path | None = None) -> str:
    """Why ``argv`` (a probe making ``made``) failed; "" when it ran and exited 0."""
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{program} could not run ({exc})"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no reason given"]
        return f"the kernel refused {made} ({said[-1]})"
    return ""
