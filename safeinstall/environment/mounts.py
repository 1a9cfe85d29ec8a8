"""The build sandbox's file walls: what a build sees of the file system, set up in its own mount
namespace before any of its code runs.

``sandbox.confined`` starts a build behind ``unshare --net --mount --pid`` and, inside,
``SETUP``: the running interpreter (``-I -S``) calling mount(2) and mount_setattr(2) through
ctypes, no shell, no program looked up on PATH. It then ``execv``'s the build's own argv (an
absolute path). In it:

- **the source is copy-on-write**: an overlay with the unpacked source as its lower layer and a
  throwaway upper layer in the sandbox's directory. Honest backends write into their tree
  (setuptools ``build/`` and ``*.egg-info``, Cython's ``.c`` files, generated version files);
  any backend may, and all of it is gone afterwards: the unpacked source stays byte-identical;
- **the real home is hidden**: an empty read-only tmpfs over the account's home (pwd) and
  ``$HOME``, and over ``/run`` (agent, D-Bus and container sockets). A read of ``~/.netrc`` by
  absolute path finds nothing, a write fails (EROFS);
- **the shared temporary directories are private**: a fresh tmpfs over ``/tmp``, ``/var/tmp``,
  ``/dev/shm`` and the temporary directory in use, gone with the build;
- **/proc is its own**: a new process namespace (``--pid --kill-child``) and a fresh ``/proc``
  for it, which shows no process outside: another process's ``/proc/PID/root`` would be the
  file system without these walls, its ``/proc/PID/environ`` safeinstall's unscrubbed secrets;
- **the rest is read-only**: the whole tree is made read-only, recursively, and then only the
  places of ``Places`` are bound back (from descriptors opened before anything was hidden):
  the interpreter's prefixes and the build environment read-only, the source (its overlay), the
  output directory and the private home and temporary directory writable.

The system's own directories are never hidden, whatever ``$HOME`` says.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# hidden, never bound back
_READ_ONLY_HIDDEN = ("/run",)
_SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108 (hidden, not used)
_SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/var", "/proc", "/dev")

SETUP = r"""
import ctypes, json, os, sys
spec, argv = json.loads(sys.argv[1]), sys.argv[3:]
libc = ctypes.CDLL(None, use_errno=True)
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY, SYS_MOUNT_SETATTR = -100, 0x8000, 1, 442

class Attr(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("set", "clear", "propagation", "userns_fd")]

def check(result, what, path):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what} {path}: {os.strerror(code)}")

def mount(source, target, fstype, flags, data):
    raw = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    check(libc.mount(raw[0], raw[1], raw[2], ctypes.c_ulong(flags), raw[3]), "mount", target)

def read_only(path, flags, on):
    attr = Attr(MOUNT_ATTR_RDONLY, 0, 0, 0) if on else Attr(0, MOUNT_ATTR_RDONLY, 0, 0)
    args = (ctypes.c_int(AT_FDCWD), path.encode(), ctypes.c_uint(flags), ctypes.byref(attr))
    done = libc.syscall(ctypes.c_long(SYS_MOUNT_SETATTR), *args, ctypes.c_size_t(32))
    check(done, "mount_setattr", path)

def opened(path):
    return os.open(path, os.O_PATH | os.O_DIRECTORY)

cwd = os.getcwd()
mount(None, "/", None, MS_REC | MS_PRIVATE, None)
source, upper, work = spec["overlay"]
layers = [f"/proc/self/fd/{opened(p)}" for p in (source, upper, work)]
options = "lowerdir={},upperdir={},workdir={}".format(*layers)
mount("overlay", source, "overlay", 0, options + (",userxattr" if spec["userxattr"] else ""))
places = [(p, rw, opened(p)) for p, rw in spec["places"]]
steps = [(p.count("/"), 0, p, rw, -1) for p, rw in spec["hide"]]
steps += [(p.count("/"), 1, p, rw, fd) for p, rw, fd in places]
writable = []
for _, _, path, rw, fd in sorted(steps):
    os.makedirs(path, exist_ok=True)  # under a place hidden already: made in its tmpfs
    if fd < 0:
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    else:
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
    if rw:
        writable.append(path)
mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)  # this pid namespace's
read_only("/", AT_RECURSIVE, True)
for path in writable:
    read_only(path, 0, False)
os.chdir(cwd)
os.execv(argv[0], argv)
"""


@dataclass(frozen=True, slots=True)
class Places:
    """What a build reaches of the file system besides the system's directories (read-only)."""

    source: Path  # its source tree: writable, copy-on-write
    writable: tuple[Path, ...] = ()  # where its results go
    readable: tuple[Path, ...] = ()  # the interpreter's prefixes, the build environment


def setup_argv(places: Places, *, private: tuple[Path, ...], scratch: Path) -> tuple[str, ...]:
    """The command that sets up the walls in a new mount namespace and then runs the argv
    appended to it. ``private``: the sandbox's home and temporary directory (writable);
    ``scratch``: an empty directory for the source's upper layer, removed afterwards."""
    upper, work = scratch / "upper", scratch / "work"
    upper.mkdir()
    work.mkdir()
    read_only, shared = hidden_places()
    hidden = (*read_only, *shared)
    source = _real(places.source)
    bound = [(n, True) for p in (places.source, *places.writable, *private) for n in _named(p)]
    bound += [(n, False) for p in places.readable for n in _named(p) if _under(n, hidden)]
    spec = {
        "overlay": [str(source), str(upper), str(work)],
        "userxattr": os.geteuid() != 0,
        "hide": [[str(p), False] for p in read_only] + [[str(p), True] for p in shared],
        "places": [[str(p), rw] for p, rw in bound if p.is_dir()],
    }
    return (sys.executable, "-I", "-S", "-c", SETUP, json.dumps(spec), "--")


def hidden_places() -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The directories hidden from a build: read-only and empty (the real home, ``/run``), and
    private and writable (the shared temporary directories)."""
    import pwd  # POSIX only, as are the walls

    try:
        account = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:  # a uid with no account (a container's arbitrary user): $HOME only
        account = ""
    homes = [Path(h) for h in (account, os.environ.get("HOME", "")) if h and os.path.isabs(h)]
    read_only = [*homes, *map(Path, _READ_ONLY_HIDDEN)]
    scratch = [*map(Path, _SCRATCH), Path(tempfile.gettempdir())]
    return _dirs(read_only), _dirs(scratch)


def interpreter_places(python: str) -> tuple[Path, ...]:
    """What ``python`` needs to start (``-I -S``): its environment, its prefix and, for a virtual
    environment, the base interpreter's (``home`` in ``pyvenv.cfg``)."""
    exe = Path(os.path.abspath(python))
    found = [exe.parent.parent, Path(os.path.realpath(exe)).parent.parent]
    try:
        lines = (exe.parent.parent / "pyvenv.cfg").read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    for key, _, value in (line.partition("=") for line in lines):
        if key.strip() == "home" and os.path.isabs(value.strip()):
            home = Path(value.strip())
            found += [home.parent, Path(os.path.realpath(home)).parent]
    return tuple(dict.fromkeys(found))


def _dirs(paths: list[Path]) -> tuple[Path, ...]:
    """``paths`` resolved, existing directories only, never ``/`` nor what holds a system
    directory (a ``$HOME`` of ``/`` or ``/usr`` hides nothing)."""
    real = (_real(p) for p in paths if p.is_dir())
    kept = (p for p in real if not any(Path(s).is_relative_to(p) for s in ("/", *_SYSTEM)))
    return tuple(dict.fromkeys(kept))


def _named(path: Path) -> tuple[Path, ...]:
    """Where ``path`` is, and where it is named when that is through a link (which may sit in a
    hidden directory): a place is bound at both."""
    real, named = _real(path), Path(os.path.abspath(path))
    return (real,) if named == real else (real, named)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _under(path: Path, hidden: tuple[Path, ...]) -> bool:
    return any(path.is_relative_to(h) for h in hidden)
