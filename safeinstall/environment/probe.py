"""Every start of the TARGET interpreter goes through here; and what it says about itself.

``--python PATH`` may name another venv or Python version, and its environment may hold a
hostile package (a ``.pth`` file with an ``import`` line runs at every start-up with ``site``;
litellm 1.82.8 shipped one). So ``target_command`` builds the one command line every start of
the target interpreter uses (the probe here, pip and the bytecode compilation in ``pip.py``):

- ``-I``: no ``PYTHON*`` variable, no user site-packages, neither the working directory nor a
  script's directory on ``sys.path``;
- ``-S``: no ``site``: no ``.pth`` file and no ``sitecustomize`` runs, and no site-packages
  directory is on ``sys.path``;
- ``_PRELUDE`` first: what ``site`` would have set up, without running anything. ``-S`` leaves
  ``sys.prefix`` at the base interpreter even in a venv (``site.venv()`` reads ``pyvenv.cfg``,
  on every version up to 3.13 at least): the prelude reads ``pyvenv.cfg`` the way ``site`` does
  and sets ``sys.prefix`` (so ``sysconfig`` and pip see the venv), and lists in ``SITE`` the
  site-packages directories ``site`` would add (the base ones too under
  ``include-system-site-packages = true``). It never follows ``.pth`` files, not even their
  path lines: a hostile one could point at made-up metadata.

The probe below then imports nothing from the target's environment: ``sys.path`` stays the
standard library, distributions are read as files (``importlib.metadata`` over ``SITE``), and
tags and markers come from OUR ``packaging``, loaded by file location from our own directory
(only that package: neither a ``packaging`` nor a ``_manylinux`` planted in the target can
answer). pip (``pip.py``) gets ``SITE`` on ``sys.path`` after the standard library, and imports
restricted to the standard library and pip itself.

The probe is also the one place that says where pip writes for a scheme (``SchemeDirs``: the
site, scripts and root directories, and the standard library): computed by the target's
``sysconfig`` under the same prelude pip runs under, so it is what pip sees. The install
footprint, the removal rules and the recovery after a failed pip read them from ``Environment``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from packaging.markers import Marker
from packaging.tags import parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from safeinstall.errors import TargetEnvironmentError, UsageError
from safeinstall.targets import Target

Scheme = Literal["default", "target", "prefix", "user", "root"]
_TIMEOUT = 120.0
_FLAGS = ("-I", "-S")

# Runs first in every start of the target (Python 3.8 syntax; the standard library only).
_PRELUDE = r"""
import os, sys
def _venv():
    exe = sys.executable
    if sys.platform == "darwin" and "__PYVENV_LAUNCHER__" in os.environ:
        exe = os.environ["__PYVENV_LAUNCHER__"]
    exe_dir = os.path.dirname(os.path.abspath(exe))
    for conf in (os.path.join(exe_dir, "pyvenv.cfg"),
                 os.path.join(os.path.dirname(exe_dir), "pyvenv.cfg")):
        if os.path.isfile(conf):
            system = "true"
            with open(conf, encoding="utf-8") as f:
                for line in f:
                    key, eq, value = line.partition("=")
                    if eq and key.strip().lower() == "include-system-site-packages":
                        system = value.strip().lower()
            return os.path.dirname(exe_dir), system == "true"
    return None, True
def _site():
    prefixes = [sys.prefix, sys.exec_prefix]
    venv, system = _venv()
    if venv is not None:
        sys.prefix = sys.exec_prefix = venv
        prefixes = [venv] + (prefixes if system else [])
    import site  # under -S its import runs nothing
    return [d for d in dict.fromkeys(site.getsitepackages(prefixes)) if os.path.isdir(d)]
SITE = _site()
"""

# After _PRELUDE: whether the environment has its own pip, by files (nothing imported): pip's
# package next to its metadata in a site-packages directory, where `python -m pip` finds it.
HAS_PIP = r"""
def has_pip():
    for d in SITE:
        names = os.listdir(d)
        if "pip" in names and os.path.isfile(os.path.join(d, "pip", "__init__.py")) and any(
                n.startswith("pip-") and n.endswith(".dist-info") for n in names):
            return True
    return False
"""

_PROBE = r"""
import importlib.util, json, sysconfig
mode, where, ours = sys.argv[1], sys.argv[2], sys.argv[3]
base = sysconfig.get_paths()  # sys.prefix is the venv's here, as pip sees it
venv = _venv()[0]
if mode == "target":
    paths = dict(purelib=where, platlib=where, scripts=os.path.join(where, "bin"))
    root = where
elif mode == "prefix":
    paths, root = sysconfig.get_paths(vars={"base": where, "platbase": where}), where
elif mode == "user":
    preferred = getattr(sysconfig, "get_preferred_scheme", None)  # Python >= 3.10
    paths = sysconfig.get_paths(preferred("user") if preferred else os.name + "_user")
    root = paths["data"]
elif mode == "root":
    paths = {k: os.path.join(where, v.lstrip(os.sep)) for k, v in base.items()}
    root = where
elif venv is not None:
    names = sysconfig.get_scheme_names()
    name = "venv" if "venv" in names else ("nt" if os.name == "nt" else "posix_prefix")
    paths, root = sysconfig.get_paths(name, vars={"base": venv, "platbase": venv}), venv
else:
    paths, root = base, base["data"]  # sys.prefix, or /usr/local where the distro says so
install = list(dict.fromkeys([paths["purelib"], paths["platlib"]]))
std = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})
import importlib.metadata as md
installed = {}
for dist in md.distributions(path=SITE if mode == "default" else install):
    name = dist.metadata["Name"]
    if not name or name in installed:
        continue
    editable = False
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        editable = bool(direct.get("dir_info", {}).get("editable"))
    except (ValueError, AttributeError):
        pass
    installed[name] = [dist.version, editable]
spec = importlib.util.spec_from_file_location(
    "packaging", os.path.join(ours, "__init__.py"), submodule_search_locations=[ours])
sys.modules["packaging"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sys.modules["packaging"])
from packaging.markers import default_environment
from packaging.tags import sys_tags
print(json.dumps({
    "environment": default_environment(),
    "tags": [str(t) for t in sys_tags()],
    "prefix": sys.prefix,
    "executable": sys.executable,
    "site": install,
    "root": root,
    "scripts": paths["scripts"],
    "stdlib": [std["stdlib"], std["platstdlib"]],
    "installed": installed,
    "has_pip": has_pip(),
}))
"""


def target_command(python: str, script: str, *args: str) -> list[str]:
    """The command line of every start of the target interpreter: ``-I -S``, the prelude, then
    ``script`` (which sees ``SITE``, the environment's site-packages, not on ``sys.path``)."""
    return [python, *_FLAGS, "-c", _PRELUDE + script, *args]


def is_target_command(command: Sequence[str]) -> bool:
    """Whether ``command`` was made by ``target_command``."""
    return (
        len(command) > 4
        and tuple(command[1:3]) == _FLAGS
        and command[3] == "-c"
        and command[4].startswith(_PRELUDE)
    )


@dataclass(frozen=True, slots=True)
class Installed:
    name: NormalizedName
    version: Version | None  # None: a version packaging cannot parse
    editable: bool = False


@dataclass(frozen=True, slots=True)
class SchemeDirs:
    """Where pip writes for the scheme it is given: the directories an install may change.
    Real paths, as the target's ``sysconfig`` gives them under the prelude (as pip sees them)."""

    root: Path  # the environment: the venv, or the --target/--prefix/--root/user directory
    site: tuple[Path, ...]  # purelib and platlib, without duplicates
    scripts: Path
    stdlib: tuple[Path, ...]  # which no package may own

    @property
    def written(self) -> tuple[Path, ...]:
        """The directories pip writes packages and scripts into."""
        return tuple(dict.fromkeys([*self.site, self.scripts]))


@dataclass(frozen=True, slots=True)
class Environment:
    python: str  # the interpreter's own sys.executable
    target: Target
    prefix: Path  # sys.prefix as site would set it (the venv)
    dirs: SchemeDirs  # where this scheme installs (purelib and platlib, --target DIR...)
    installed: Mapping[NormalizedName, Installed]
    scheme: Scheme = "default"
    has_pip: bool = True  # False: pip.py runs safeinstall's own pip in it (HAS_PIP)

    @property
    def site_dirs(self) -> tuple[Path, ...]:
        return self.dirs.site

    @property
    def lock_dir(self) -> Path:
        """Where the advisory install lock lives: the venv, or the scheme's directory."""
        return self.prefix if self.scheme == "default" else self.site_dirs[0]


_CHOOSE = (
    "pass --python PATH (an interpreter or a venv directory), or activate the project's "
    "virtual environment"
)


def target_python(
    given: str | None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str:
    """The one rule for the environment a command acts on: ``given`` (--python: an interpreter
    or a venv directory), else the active virtual environment ($VIRTUAL_ENV), else the nearest
    ``.venv`` from ``cwd`` up to the git root. Never the interpreter running safeinstall: that
    is safeinstall's own environment, not the project's."""
    if given:
        return given
    env = os.environ if environ is None else environ
    active = env.get("VIRTUAL_ENV")
    if active:
        python = _venv_python(Path(active))
        if python is None:
            raise UsageError(
                f"VIRTUAL_ENV names {active}, which holds no interpreter", hint=_CHOOSE
            )
        return str(python)
    here = (Path.cwd() if cwd is None else cwd).absolute()
    for directory in (here, *here.parents):
        python = _venv_python(directory / ".venv")
        if python is not None:
            # A found .venv may have come with the repository (a pull, a pull request under
            # review, the post-merge hook): its "python" is run only when it leads to an
            # interpreter outside the project, as a venv made by `python -m venv` does.
            if Path(os.path.realpath(python)).is_relative_to(directory.resolve()):
                raise UsageError(
                    f"{python} is not a link to an interpreter outside the project, so it may "
                    "have come with the repository; it is not run",
                    hint=_CHOOSE,
                )
            return str(python)
        if (directory / ".git").exists():
            break
    raise UsageError(
        f"no target environment: no virtual environment is active and {here} has no .venv "
        "up to its git root",
        hint=_CHOOSE,
    )


def _venv_python(venv: Path) -> Path | None:
    for python in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if python.exists():
            return python
    return None


def own_environment() -> Path:
    """The prefix of the environment safeinstall itself runs from."""
    return Path(sys.prefix).resolve()


def is_own(env: Environment) -> bool:
    """Whether ``env`` is the environment safeinstall runs from (changing what it imports
    there breaks every later command)."""
    return env.prefix.resolve() == own_environment().resolve()


# What safeinstall needs at run time (pyproject.toml's dependencies; a test holds the two
# together), also when its installed metadata cannot be read (running from a source tree).
RUNTIME = ("packaging", "resolvelib", "tomlkit", "urllib3")


def own_distributions() -> frozenset[NormalizedName]:
    """safeinstall and every distribution it needs at run time, as installed here: the
    ``Requires-Dist`` closure without extras, markers evaluated for this interpreter."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    names: set[NormalizedName] = set()
    todo = ["safeinstall", *RUNTIME]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in names:
            continue
        names.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return frozenset(names)


def probe(python: str, scheme: Scheme = "default", where: str = "") -> Environment:
    """Ask ``python`` (an interpreter, or a venv directory) about itself and what is installed
    where ``scheme`` installs."""
    import packaging

    if Path(python).is_dir():
        python = str(Path(python) / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    ours = str(Path(packaging.__file__).resolve().parent)
    hint = "pass --python the path of a working Python 3 interpreter (or of a venv directory)"
    try:
        proc = subprocess.run(
            target_command(python, HAS_PIP + _PROBE, scheme, where, ours),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
            env=_probe_env(),
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TargetEnvironmentError(
            f"cannot run the target interpreter {python}: {exc}", hint=hint
        ) from None
    try:
        if proc.returncode != 0:
            raise ValueError((proc.stderr.strip().splitlines() or ["no output"])[-1])
        return _environment(json.loads(proc.stdout), scheme)
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        raise TargetEnvironmentError(
            f"the target interpreter {python} could not describe itself: {exc}", hint=hint
        ) from None


def _probe_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}


def _environment(data: Mapping[str, Any], scheme: Scheme) -> Environment:
    env = {str(k): str(v) for k, v in data["environment"].items()}
    tags = tuple(tag for text in data["tags"] for tag in parse_tag(text))
    short, plat, machine = env["python_version"], env["sys_platform"], env["platform_machine"]
    marker = Marker(
        f"python_version == '{short}' and sys_platform == '{plat}'"
        f" and platform_machine == '{machine}'"
    )
    target = Target(
        name=f"{data['executable']} (cp{short}-{plat}-{machine})",
        python_version=Version(env["python_full_version"]),
        environment=tuple(sorted(env.items())),
        tags=tags,
        marker=str(marker),
    )
    installed: dict[NormalizedName, Installed] = {}
    for name, (version, editable) in data["installed"].items():
        canonical = canonicalize_name(name)
        installed.setdefault(canonical, Installed(canonical, _version(version), bool(editable)))
    return Environment(
        python=str(data["executable"]),
        target=target,
        prefix=Path(data["prefix"]),
        dirs=SchemeDirs(
            root=_real(data["root"]),
            site=tuple(dict.fromkeys(_real(p) for p in data["site"])),
            scripts=_real(data["scripts"]),
            stdlib=tuple(dict.fromkeys(_real(p) for p in data["stdlib"])),
        ),
        installed=installed,
        scheme=scheme,
        has_pip=bool(data.get("has_pip", True)),
    )


def _real(path: str) -> Path:
    return Path(os.path.realpath(path))


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def freeze(installed: Mapping[NormalizedName, Installed]) -> Sequence[str]:
    """``name==version`` lines, sorted: a stable picture of an installed set."""
    return sorted(f"{i.name}=={i.version}" for i in installed.values())
