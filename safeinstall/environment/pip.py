"""pip as a subprocess of the target interpreter, with its configuration isolated.

No config file, no ``PIP_*`` variable and no prompt can add an index or change what is installed:
pip gets ``--no-index --no-deps --require-hashes`` over local files that were already verified,
and checks their hashes once more itself. ``PIP_NO_INDEX`` is set for every run as well, for the
pip a build backend may start in turn (``pip_environment``).

No code of the target environment runs in pip's process either: the interpreter starts as
``probe.target_command`` starts it (``-I -S``: no ``.pth`` file runs), and ``_RUNNER`` puts the
environment's site-packages (``SITE``) on ``sys.path`` after the standard library, so that pip
sees what is installed, then runs the environment's own pip (``python -m pip`` as the user would
run it: it knows this interpreter and how to install into its schemes). A target without pip
(``venv --without-pip``, a venv uv made) runs safeinstall's own pip instead, imported from its
own directory only: a ``pip`` package planted in the target's site-packages without pip's
metadata is never imported. This is what pip's ``--python`` does, minus its weak points: that
starts the target without ``-I -S``, so the target's ``sitecustomize`` and ``.pth`` files would
run. Every other top-level import fails: pip's vendored
libraries try optional ones (``socks``, ``brotli``, ``_manylinux``...) that a hostile wheel could
provide. pip builds nothing: it is handed wheels only, with ``--only-binary :all:`` (an sdist the
policy lets build is built first, in the build sandbox, from the lock's build set:
``build/wheel.py``), so no build backend runs in a pip process.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from safeinstall.environment.pipoutput import PROJECT, pip_said, redacted
from safeinstall.environment.pipoutput import failure as _failure
from safeinstall.environment.probe import HAS_PIP, Scheme, is_target_command, target_command
from safeinstall.errors import PolicyError, TargetEnvironmentError
from safeinstall.index.fetch import Artifact
from safeinstall.ui import live_status

_TIMEOUT = 3600.0
_KEPT = 2000  # lines of pip's output kept for the message when it fails (the last ones)

Echo = Callable[[str], None]

# After _PRELUDE (probe.py) and the OWN_PIP line (``_own_pip``), in the target with -I -S:
# sys.argv is ["-c", *pip's arguments]. PIP_HOME: None for the environment's own pip (on SITE),
# else the directory holding safeinstall's pip (has_pip in probe.py says which, by files).
_RUNNER = r"""
import importlib.machinery as machinery, runpy
STDLIB = list(sys.path)
PIP_HOME = None if has_pip() else OWN_PIP
if PIP_HOME is None and not has_pip():
    sys.exit("safeinstall: the target has no pip, and safeinstall's own environment has none")
if PIP_HOME is not None and sys.version_info[:2] < OWN_PIP_PYTHON:
    sys.exit("safeinstall: the target has no pip, and safeinstall's pip needs Python >= %d.%d"
             % OWN_PIP_PYTHON)
class _StdlibAndPip:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "pip" and path is None and PIP_HOME is not None:
            return machinery.PathFinder.find_spec(name, [PIP_HOME])  # ours, never one on SITE
        if path is not None or name == "pip":
            return None  # a submodule, found through its (standard library or pip) package
        for finder in (machinery.BuiltinImporter, machinery.FrozenImporter):
            if finder.find_spec(name) is not None:
                return None
        if machinery.PathFinder.find_spec(name, STDLIB) is not None:
            return None
        raise ModuleNotFoundError("No module named %r" % name, name=name)
sys.meta_path.insert(0, _StdlibAndPip)
if "--user" in sys.argv:
    import site
    SITE.insert(0, site.getusersitepackages())
sys.path.extend(SITE)
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True, slots=True)
class PipOptions:
    scheme: Scheme = "default"
    where: str = ""  # the DIR of --target/--prefix/--root
    compile: bool = True
    reinstall: bool = False
    verbosity: int = 0
    # each line pip writes, as it writes it (the UI shows them with -v); not part of equality
    echo: Echo | None = field(default=None, compare=False)
    warn: Echo | None = field(default=None, compare=False)  # what a build has to say


def pip_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every pip run safeinstall starts (installs, uninstalls, the build
    hooks of ``build/hooks.py``): no PIP_* variable, no config file, never a prompt, and
    ``PIP_NO_INDEX``. pip only ever gets local, verified files; a build backend that runs pip
    itself (setuptools' ``setup_requires``) inherits this environment, and with it no index,
    whatever ``--index-url`` it passes."""
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(pip_settings())
    return env


def pip_settings() -> dict[str, str]:
    """The PIP_* variables of every pip run (and of every build, whose backend may run pip)."""
    return {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INPUT": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INDEX": "1",
    }


@contextlib.contextmanager
def staged(files: Sequence[tuple[Artifact, Path]], under: Path) -> Iterator[Path]:
    """A private directory with each file under its (validated) name, and a hashed requirement
    file pinning them by name (so pip records a normal install, not a ``file://`` URL one):
    yields the requirement file's path; the directory is pip's only --find-links."""
    stage = Path(tempfile.mkdtemp(prefix="stage-", dir=under))
    try:
        lines = []
        for artifact, source in files:
            dest = stage / artifact.filename
            try:
                os.link(source, dest)
            except OSError:
                shutil.copyfile(source, dest)
            lines.append(f"{artifact.name}=={artifact.version} --hash=sha256:{artifact.sha256}")
        reqs = stage / "requirements.txt"
        reqs.write_text("\n".join(lines) + "\n", "utf-8")
        yield reqs
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def pip_command(python: str, args: Sequence[str]) -> list[str]:
    """``python -m pip ARGS``, started as every start of the target is (see the docstring)."""
    home, needs = _own_pip()
    script = f"OWN_PIP, OWN_PIP_PYTHON = {home!r}, {needs!r}\n{HAS_PIP}{_RUNNER}"
    return target_command(python, script, *args)


@functools.cache
def _own_pip() -> tuple[str | None, tuple[int, int]]:
    """The directory holding the pip of safeinstall's own environment, and the lowest Python it
    runs on; read from its metadata (pip is never imported here)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("pip")
    except PackageNotFoundError:
        return None, (0, 0)
    home = Path(str(dist.locate_file(""))).resolve()
    lowest = re.search(r">=\s*(\d+)\.(\d+)", dist.metadata["Requires-Python"] or "")
    needs = (int(lowest.group(1)), int(lowest.group(2))) if lowest else (3, 0)
    return (str(home), needs) if (home / "pip" / "__init__.py").is_file() else (None, (0, 0))


def install_args(python: str, reqs: Path, options: PipOptions) -> list[str]:
    args = ["install", "--no-index", "--no-deps", "--require-hashes", "--only-binary", ":all:"]
    args += ["--find-links", str(reqs.parent)]
    return pip_command(python, [*args, *_scheme_args(options), "-r", str(reqs)])


def _scheme_args(options: PipOptions) -> list[str]:
    args: list[str] = []
    if options.scheme in ("target", "prefix", "root"):
        args += [f"--{options.scheme}", options.where]
    elif options.scheme == "user":
        args.append("--user")
    if not options.compile:
        args.append("--no-compile")
    if options.reinstall:
        args.append("--force-reinstall")
    if options.scheme == "target":
        args.append("--upgrade")  # replace what an earlier --target install left there
    return args + (["-q"] if options.verbosity <= 0 else ["-v"] * (options.verbosity - 1))


def pip_install(
    python: str, files: Sequence[tuple[Artifact, Path]], options: PipOptions, *, stage_in: Path
) -> None:
    """Install ``files`` (verified wheels) with pip; TargetEnvironmentError when pip fails."""
    for artifact, _ in files:
        if not artifact.is_wheel:  # built into a wheel before (build/wheel.py), never by pip
            raise PolicyError(
                f"refusing to let pip build {artifact.filename}: safeinstall builds an allowed "
                "sdist itself, in the build sandbox, from the lock's build set"
            )
    # pip writes .pyc files one at a time, which is most of its run; where the installed
    # directories are known, they are compiled afterwards on every core instead
    parallel = options.compile and options.scheme in ("default", "target")
    pip_options = replace(options, compile=False) if parallel else options
    if files:
        with staged(files, stage_in) as reqs:
            run_pip(install_args(python, reqs, pip_options), "install", echo=options.echo)
    if parallel:
        live_status().phase("bytecode: compiling the installed files on every core")
        _compile(python, [options.where] if options.scheme == "target" else [], options.echo)


# compile the given directories, or the environment's purelib and platlib (sysconfig's, once the
# prelude has set sys.prefix), on all cores; files that do not compile are left alone, as pip
# leaves them. Compiling runs none of the code.
_COMPILE = r"""
import compileall, sysconfig
paths = sysconfig.get_paths()
for d in sys.argv[1:] or sorted({paths["purelib"], paths["platlib"]}):
    compileall.compile_dir(d, quiet=2, workers=0)
"""


def _compile(python: str, directories: Sequence[str], echo: Echo | None = None) -> None:
    what = "compile the installed files"
    run_pip(target_command(python, _COMPILE, *directories), what, echo=echo)


def pip_install_project(
    python: str, directory: Path, options: PipOptions, *, editable: bool
) -> None:
    """The user's own project at ``directory``, without its dependencies and without an index:
    built by the backend already installed in ``python``'s environment (no isolated build)."""
    args = ["install", "--no-index", "--no-deps", "--no-build-isolation", *_scheme_args(options)]
    args += [*(["-e"] if editable else []), str(directory)]
    run_pip(pip_command(python, args), PROJECT, echo=options.echo)


def pip_uninstall(python: str, names: Sequence[str]) -> None:
    if names:
        run_pip(pip_command(python, ["uninstall", "-y", "-q", *names]), "uninstall")


def run_pip(
    args: list[str],
    what: str,
    *,
    timeout: float = _TIMEOUT,
    echo: Echo | None = None,
) -> None:
    """Run ``args`` isolated: a command from ``pip_command`` or ``target_command``, or
    ``[python, "-m", "pip", ...]`` (run as ``pip_command`` runs it); one clear error when it
    fails, with pip's own lines (``pipoutput``). Its output is captured, each line handed to
    ``echo`` as it comes (the UI shows it with -v)."""
    if args[1:3] == ["-m", "pip"]:
        args = pip_command(args[0], args[3:])
    if not is_target_command(args):
        raise ValueError(f"not a command for the target interpreter: {args[:4]}")
    kept: deque[str] = deque(maxlen=_KEPT)
    try:
        with subprocess.Popen(
            args,
            env=pip_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream, in the order pip wrote it
            encoding="utf-8",
            errors="replace",
        ) as proc:
            expired = threading.Event()

            def expire() -> None:
                expired.set()
                proc.kill()

            timer = threading.Timer(timeout, expire)
            timer.start()
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    kept.append(line)
                    if echo is not None:
                        echo(redacted(line.rstrip("\n")))
            finally:
                timer.cancel()
            code = proc.wait()
    except OSError as exc:
        raise TargetEnvironmentError(f"could not run pip to {what}: {exc}") from None
    if expired.is_set():
        raise TargetEnvironmentError(
            f"pip took longer than {timeout:.0f} s to {what}, and was stopped",
            hint="run it again with -v to see where it stops",
            detail=pip_said("".join(kept)),
        )
    if code != 0:
        raise _failure(what, code, "".join(kept))
