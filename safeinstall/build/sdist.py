"""Core metadata of an sdist whose dependencies are dynamic: build it, in isolation.

Building runs the package's own build code, so it happens only for packages the policy allows
to build from sdists, and it is reported. The sdist's bytes were verified against the index's
sha256 before they get here.

The build is PEP 517 without pip: the sdist is unpacked safely (``unpack.py``), its
``[build-system]`` read, the build requirements resolved under the policy and unpacked from
verified wheels into a cached environment (``env.py``), and the hooks run in a subprocess
of the running interpreter (``hooks.py``).

A lock's build sets (``lockset.py``) take only step 1 of this: what the sdist builds with,
asked of its backend by the running interpreter.

There is no other path. pip is never asked to build here: it would fetch the build requirements
itself, the highest version across every index, past the policy's index bindings, rules,
cooldown and hashes. A build requirement with no usable wheel is refused (``env.py`` says why),
and a lock for another interpreter gets the metadata the running interpreter builds.
"""

from __future__ import annotations

import hashlib
import platform
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from safeinstall import __version__
from safeinstall.build.env import BuildContext, BuildEnv, build_env, satisfied
from safeinstall.build.hooks import run_hooks
from safeinstall.environment.unpack import unpack_sdist
from safeinstall.errors import PolicyError, TargetEnvironmentError
from safeinstall.files.cachedir import DerivedCache

BUILD_TIMEOUT = 600
MAX_METADATA_BYTES = 4 * 1024 * 1024
MAX_PYPROJECT_BYTES = 1024 * 1024
DEFAULT_REQUIRES = ("setuptools>=40.8.0",)
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
_MAX_ASKED, _MAX_ASKED_LENGTH = 1000, 1000  # of a cached hook answer: requirements, characters


@dataclass(frozen=True, slots=True)
class BuildSystem:
    """An sdist's ``[build-system]`` (PEP 518/517), defaults filled in."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[Path, ...]  # absolute, inside the source tree


def built_metadata(sdist: bytes, filename: str, context: BuildContext) -> bytes:
    """The METADATA of the wheel that ``sdist`` (named ``filename``, a bare file name) builds to:
    the PEP 517 hooks in a cached environment of verified wheels resolved under the policy."""
    name = Path(filename).name
    with tempfile.TemporaryDirectory(prefix="safeinstall-build-") as tmp:
        source = unpack_sdist(sdist, name, Path(tmp) / "src")
        system = build_system(source, name)
        out = Path(tmp) / "out"
        out.mkdir()
        env = build_env(system.requires, context, what=name)
        sandbox = context.policy.build_sandbox
        for attempt in range(2):
            result = run_hooks(
                source,
                system.backend,
                system.backend_path,
                env.path,
                out,
                proceed=partial(_has_all, env=env),
                what=name,
                sandbox=sandbox,
                warn=context.notify,
            )
            if attempt == 0:  # step 1 is what a lock's build set asks: keep its answer
                _answers(context).store(_answer_key(sdist, env, sandbox), list(result.requires))
            if result.output is not None:
                return _built(result.output, name)
            if attempt == 0:  # the backend asked for more: one more environment, one more run
                env = build_env((*system.requires, *result.requires), context, what=name)
        raise TargetEnvironmentError(
            f"the build backend of {name} keeps asking for build requirements it was given",
            hint="the sdist cannot be built as published; pin a version that publishes a wheel",
        )


def build_requirements(sdist: bytes, filename: str, context: BuildContext) -> tuple[str, ...]:
    """What ``sdist`` builds a wheel with, for the lock to pin: its ``[build-system]`` requires
    and what ``get_requires_for_build_wheel`` asks for on top. Only step 1 of the hooks runs, in
    the sandbox, by the running interpreter, from its environment of ``requires`` resolved under
    the policy: nothing is built (the lock resolves the answer for its targets, ``lockset.py``).

    The hook's answer is kept (``<cache>/build-requires``) under all it depends on: the sdist's
    sha256, the build environment (the sha256 of its wheels), the interpreter, the sandbox and
    safeinstall's version; a relock meets it again and runs no build code (~0.5 s an sdist).
    An entry is read as untrusted, as the hook's own answer is: requirement strings that the
    lock resolves under the policy like any other."""
    name = Path(filename).name
    with tempfile.TemporaryDirectory(prefix="safeinstall-build-") as tmp:
        source = unpack_sdist(sdist, name, Path(tmp) / "src")
        system = build_system(source, name)
        env = build_env(system.requires, context, what=name)
        answers = _answers(context)
        key = _answer_key(sdist, env, context.policy.build_sandbox)
        asked = _asked(answers.load(key))
        if asked is None:
            context.notify(
                f"reading what {name} builds with, to pin it in the lock: this runs its build "
                "code (the policy allows sdists for it)"
            )
            asked = run_hooks(
                source,
                system.backend,
                system.backend_path,
                env.path,
                Path(tmp),
                proceed=lambda requires: False,
                what=name,
                sandbox=context.policy.build_sandbox,
                warn=context.notify,
            ).requires
            answers.store(key, list(asked))
        return tuple(dict.fromkeys((*system.requires, *asked)))


def _answers(context: BuildContext) -> DerivedCache:
    """The kept answers of ``get_requires_for_build_wheel``: ``build_requirements`` reads them;
    a metadata build runs the same step 1 first and keeps its answer too (a cold lock of an
    allowed sdist then runs its build code once, not twice)."""
    return DerivedCache(context.cache / "build-requires")


def _answer_key(sdist: bytes, env: BuildEnv, sandbox: str) -> str:
    """What ``get_requires_for_build_wheel``'s answer depends on (``env.path`` is named by the
    sha256 of the environment's wheels: ``env.env_key``)."""
    where = (sys.version, sys.platform, platform.machine(), sandbox, __version__)
    return "\0".join((hashlib.sha256(sdist).hexdigest(), env.path.name, *where))


def _asked(value: object) -> tuple[str, ...] | None:
    """A cached answer as the hook runner checks one (a list of strings), else None."""
    if not isinstance(value, list) or len(value) > _MAX_ASKED:
        return None
    if not all(isinstance(r, str) and len(r) <= _MAX_ASKED_LENGTH for r in value):
        return None
    return tuple(value)


def build_wheel(
    sdist: Path,
    filename: str,
    env: BuildEnv,
    out: Path,
    *,
    python: str,
    markers: Mapping[str, str],
    sandbox: str,
    warn: Callable[[str], None],
) -> Path:
    """The wheel ``sdist`` (verified bytes, named ``filename``) builds to in ``env`` (the lock's
    build set, verified and unpacked), by ``python`` (whose marker environment is ``markers``:
    a build requirement's marker is evaluated for it) in the build sandbox; refused when the
    backend asks for a build requirement ``env`` does not hold (nothing is fetched)."""
    name = Path(filename).name
    has_all = partial(_has_all, env=env, markers=markers)
    with tempfile.TemporaryDirectory(prefix="safeinstall-build-") as tmp:
        source = unpack_sdist(sdist.read_bytes(), name, Path(tmp) / "src")
        system = build_system(source, name)
        if not has_all(system.requires):
            raise _not_locked(name, system.requires, env, markers)
        result = run_hooks(
            source,
            system.backend,
            system.backend_path,
            env.path,
            out,
            proceed=has_all,
            what=name,
            sandbox=sandbox,
            warn=warn,
            python=python,
            want="wheel",
        )
    if result.output is None:
        raise _not_locked(name, result.requires, env, markers)
    wheel = result.output
    if wheel.suffix != ".whl" or not wheel.is_file() or wheel.is_symlink():
        raise TargetEnvironmentError(f"building {name} made no wheel")
    return wheel


def _not_locked(
    name: str, requires: Sequence[str], env: BuildEnv, markers: Mapping[str, str]
) -> PolicyError:
    missing = ", ".join(r for r in requires if not satisfied(r, env, markers))
    return PolicyError(
        f"building {name} needs {missing}, which the lock's build environment for it does not "
        "hold (nothing is fetched to build)",
        hint="relock (`safeinstall lock`) so that the lock pins what the sdist builds with",
    )


def _has_all(
    requires: Sequence[str], *, env: BuildEnv, markers: Mapping[str, str] | None = None
) -> bool:
    return all(satisfied(r, env, markers) for r in requires)


def build_system(source: Path, filename: str) -> BuildSystem:
    """The ``[build-system]`` table of the source tree, or the legacy setuptools defaults."""
    pyproject = source / "pyproject.toml"
    if not pyproject.is_file():
        return BuildSystem(DEFAULT_REQUIRES, DEFAULT_BACKEND, ())
    try:
        if pyproject.stat().st_size > MAX_PYPROJECT_BYTES:
            raise ValueError("the file is too large")
        table = tomllib.loads(pyproject.read_text("utf-8")).get("build-system", {})
        if not isinstance(table, dict):
            raise ValueError("[build-system] is not a table")
        if table and "requires" not in table:
            raise ValueError("[build-system] has no requires")
        requires = table.get("requires", list(DEFAULT_REQUIRES))
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            raise ValueError("build-system.requires is not a list of strings")
        backend = table.get("build-backend", DEFAULT_BACKEND)
        if not isinstance(backend, str) or not backend.partition(":")[0].strip():
            raise ValueError("build-system.build-backend is not a module name")
        paths = table.get("backend-path", [])
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("build-system.backend-path is not a list of strings")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise _bad_pyproject(filename, str(exc)) from None
    root = source.resolve()
    backend_path = tuple((root / p).resolve() for p in paths)
    for path in backend_path:
        if not path.is_relative_to(root):
            raise _bad_pyproject(filename, f"backend-path {path.name!r} leaves the source tree")
    return BuildSystem(tuple(requires), backend, backend_path)


def _bad_pyproject(filename: str, why: str) -> TargetEnvironmentError:
    return TargetEnvironmentError(
        f"cannot build {filename}: its pyproject.toml is malformed ({why})",
        hint="the sdist cannot be built as published; pin a version that publishes a wheel",
    )


def _built(output: Path, filename: str) -> bytes:
    """METADATA from the prepared ``.dist-info`` directory or from the built wheel."""
    if output.suffix == ".whl" and output.is_file() and not output.is_symlink():
        return _wheel_metadata(output)
    metadata = output / "METADATA"
    if not output.is_dir() or output.is_symlink() or metadata.is_symlink():
        raise TargetEnvironmentError(f"building {filename} made no METADATA")
    if metadata.stat().st_size > MAX_METADATA_BYTES:
        raise TargetEnvironmentError(f"the METADATA built for {filename} is too large")
    return metadata.read_bytes()


def _wheel_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        names = [
            n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if len(names) != 1:
            raise TargetEnvironmentError(f"the wheel built as {wheel.name} has no single METADATA")
        info = zf.getinfo(names[0])
        if info.file_size > MAX_METADATA_BYTES:
            raise TargetEnvironmentError(f"the METADATA built in {wheel.name} is too large")
        return zf.read(info)
