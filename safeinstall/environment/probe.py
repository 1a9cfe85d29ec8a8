"""What the TARGET interpreter says about itself: its tags, markers and installed distributions.

``--python PATH`` may name another venv or Python version, so nothing here uses the running
interpreter's view: a small script runs in the target (``-I``: no PYTHON* variables, no user site)
and prints JSON. It needs ``packaging``; when the target has none, ours is appended at the END of
its ``sys.path`` (after the distributions were listed, so ours never shows up as installed there).
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

from safeinstall.errors import TargetEnvironmentError
from safeinstall.targets import Target

Scheme = Literal["default", "target", "prefix", "user", "root"]
_TIMEOUT = 120.0

_SCRIPT = r"""
import json, os, site, sys, sysconfig
mode, where, ours = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "target":
    paths = [where]
elif mode == "prefix":
    got = sysconfig.get_paths(vars={"base": where, "platbase": where})
    paths = list(dict.fromkeys([got["purelib"], got["platlib"]]))
elif mode == "user":
    paths = [site.getusersitepackages()]
elif mode == "root":
    got = sysconfig.get_paths()
    paths = list(dict.fromkeys(
        os.path.join(where, p.lstrip(os.sep)) for p in (got["purelib"], got["platlib"])))
else:
    paths = None
import importlib.metadata as md
installed = {}
for dist in md.distributions(path=paths if paths is not None else list(sys.path)):
    name = dist.metadata["Name"]
    if not name or name in installed:
        continue
    editable = False
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        editable = bool(direct.get("dir_info", {}).get("editable"))
    except ValueError:
        pass
    installed[name] = [dist.version, editable]
sys.path.append(ours)
from packaging.markers import default_environment
from packaging.tags import sys_tags
print(json.dumps({
    "environment": default_environment(),
    "tags": [str(t) for t in sys_tags()],
    "prefix": sys.prefix,
    "executable": sys.executable,
    "site": paths if paths is not None else [sysconfig.get_paths()["purelib"]],
    "installed": installed,
}))
"""


@dataclass(frozen=True, slots=True)
class Installed:
    name: NormalizedName
    version: Version | None  # None: a version packaging cannot parse
    editable: bool = False


@dataclass(frozen=True, slots=True)
class Environment:
    python: str  # the interpreter's own sys.executable
    target: Target
    prefix: Path  # sys.prefix (the venv) for the default scheme
    site_dirs: tuple[Path, ...]  # where this scheme installs (site-packages, --target DIR, ...)
    installed: Mapping[NormalizedName, Installed]

    @property
    def lock_dir(self) -> Path:
        """Where the advisory install lock lives: the venv, or the scheme's directory."""
        return self.prefix if self.site_dirs == () else self.site_dirs[0]


def default_python(environ: Mapping[str, str] | None = None) -> str:
    """The active virtual environment's interpreter ($VIRTUAL_ENV), else the running one."""
    env = os.environ if environ is None else environ
    venv = env.get("VIRTUAL_ENV")
    if venv:
        for candidate in (Path(venv) / "bin" / "python", Path(venv) / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    return sys.executable


def probe(python: str, scheme: Scheme = "default", where: str = "") -> Environment:
    """Ask ``python`` about itself and what is installed where ``scheme`` installs."""
    import packaging

    ours = str(Path(packaging.__file__).resolve().parent.parent)
    try:
        proc = subprocess.run(
            [python, "-I", "-c", _SCRIPT, scheme, where, ours],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
            env=_probe_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TargetEnvironmentError(
            f"cannot run the target interpreter {python}: {exc}",
            hint="pass --python with the path of a working Python interpreter",
        ) from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise TargetEnvironmentError(
            f"the target interpreter {python} could not describe itself: {last}",
            hint="pass --python with the path of a working Python 3 interpreter",
        )
    return _environment(json.loads(proc.stdout), scheme)


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
    site_dirs = tuple(Path(p) for p in data["site"]) if scheme != "default" else ()
    return Environment(
        python=str(data["executable"]),
        target=target,
        prefix=Path(data["prefix"]),
        site_dirs=site_dirs,
        installed=installed,
    )


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def freeze(installed: Mapping[NormalizedName, Installed]) -> Sequence[str]:
    """``name==version`` lines, sorted: a stable picture of an installed set."""
    return sorted(f"{i.name}=={i.version}" for i in installed.values())
