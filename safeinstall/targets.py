"""Target environments: the Python version, marker environment and wheel tags a lock is made for.

A lock is resolved once per target. Targets come from the running interpreter, from
``--python-version``/``--platform`` (each a comma-separated list: every pair is a target), or from
the policy's ``environments`` marker expressions.

Platforms (``--platform``): ``linux`` (= ``linux-x86_64``), ``linux-aarch64``, ``macos``
(= ``macos-arm64``), ``macos-x86_64``, ``windows`` (= ``windows-amd64``), ``windows-arm64``, or a
concrete wheel platform tag such as ``manylinux_2_28_x86_64``, ``musllinux_1_2_aarch64``,
``macosx_14_0_arm64`` or ``win_amd64``. The named Linux platforms mean glibc 2.28 (manylinux
wheels up to ``manylinux_2_28``; musl wheels only with a ``musllinux_*`` tag); the named macOS
platforms mean macOS 13; ``linux_*`` wheels (built for one machine) only with a ``linux_*`` tag.
A named platform is CPython: ``cpXY``, ``abi3`` and pure-Python tags.
"""

from __future__ import annotations

import os
import platform as host
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

from packaging.tags import (
    Tag,
    compatible_tags,
    cpython_tags,
    mac_platforms,
    platform_tags,
    sys_tags,
)
from packaging.version import Version

from safeinstall.errors import Location, PolicyConfigError, UsageError
from safeinstall.frozen import Frozen, _set
from safeinstall.requirements.markers import simple_marker

# CPython minor versions a policy ``environments`` expression is expanded over.
KNOWN_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
GLIBC = (2, 28)
MACOS = (13, 0)


class Target(Frozen):
    """One environment to resolve for.

    ``tags`` (supported wheel tags, most preferred first) may be given as a function that lists
    them: a target named on the command line computes its hundreds of tags only when something
    asks for them (the resolver does; `lock --check`, whose digest names the target by its
    name, version and marker, does not). Equal targets have equal tags, computed or not."""

    __slots__ = ("_tags", "environment", "marker", "name", "python_version")
    name: str  # short label, e.g. "cp3.13-linux-x86_64"
    python_version: Version  # the full version markers and requires-python are checked against
    environment: tuple[tuple[str, str], ...]  # PEP 508 marker environment (without ``extra``)
    marker: str  # a PEP 508 expression true exactly on this target (used when merging)
    _tags: tuple[Tag, ...] | Callable[[], tuple[Tag, ...]]

    def __init__(
        self,
        name: str,
        python_version: Version,
        environment: tuple[tuple[str, str], ...],
        tags: tuple[Tag, ...] | Callable[[], tuple[Tag, ...]],
        marker: str,
    ) -> None:
        _set(self, "name", name)
        _set(self, "python_version", python_version)
        _set(self, "environment", environment)
        _set(self, "marker", marker)
        _set(self, "_tags", tags)

    @property
    def tags(self) -> tuple[Tag, ...]:
        """Supported wheel tags, most preferred first (computed on first use)."""
        tags = self._tags
        if callable(tags):
            tags = tags()
            _set(self, "_tags", tags)
        return tags

    def _fields(self) -> tuple[Any, ...]:  # the tags themselves, not how they are computed
        return (self.name, self.python_version, self.environment, self.marker, self.tags)

    def __repr__(self) -> str:
        return (
            f"Target(name={self.name!r}, python_version={self.python_version!r}, "
            f"environment={self.environment!r}, tags=<{len(self.tags)} tags>, "
            f"marker={self.marker!r})"
        )

    def env(self, extra: str = "") -> dict[str, str]:
        """The marker environment, with ``extra`` set for evaluating metadata markers."""
        return {**dict(self.environment), "extra": extra}


class _Platform(Frozen):
    __slots__ = ("machine", "os_name", "platforms", "sys_platform", "system")
    sys_platform: str
    system: str
    os_name: str
    machine: str
    platforms: tuple[str, ...]  # wheel platform tags, most preferred first

    def __init__(
        self, sys_platform: str, system: str, os_name: str, machine: str, platforms: tuple[str, ...]
    ) -> None:
        _set(self, "sys_platform", sys_platform)
        _set(self, "system", system)
        _set(self, "os_name", os_name)
        _set(self, "machine", machine)
        _set(self, "platforms", platforms)


def _manylinux(glibc: tuple[int, int], arch: str) -> tuple[str, ...]:
    legacy = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
    lowest = 5 if arch in ("x86_64", "i686") else 17
    out: list[str] = []
    for minor in range(glibc[1], lowest - 1, -1):
        out.append(f"manylinux_2_{minor}_{arch}")
        alias = legacy.get((2, minor))
        if alias and (alias == "manylinux2014" or arch in ("x86_64", "i686")):
            out.append(f"{alias}_{arch}")
    return tuple(out)


def _musllinux(musl: tuple[int, int], arch: str) -> tuple[str, ...]:
    return tuple(f"musllinux_1_{minor}_{arch}" for minor in range(musl[1], 0, -1))


def _linux(platforms: tuple[str, ...], machine: str) -> _Platform:
    return _Platform("linux", "Linux", "posix", machine, platforms)


def _macos(version: tuple[int, int], arch: str) -> _Platform:
    return _Platform("darwin", "Darwin", "posix", arch, tuple(mac_platforms(version, arch)))


_WINDOWS = {
    "win_amd64": _Platform("win32", "Windows", "nt", "AMD64", ("win_amd64",)),
    "win_arm64": _Platform("win32", "Windows", "nt", "ARM64", ("win_arm64",)),
    "win32": _Platform("win32", "Windows", "nt", "x86", ("win32",)),
}
NAMED_PLATFORMS: dict[str, _Platform] = {
    "linux-x86_64": _linux(_manylinux(GLIBC, "x86_64"), "x86_64"),
    "linux-aarch64": _linux(_manylinux(GLIBC, "aarch64"), "aarch64"),
    "macos-arm64": _macos(MACOS, "arm64"),
    "macos-x86_64": _macos(MACOS, "x86_64"),
    "windows-amd64": _WINDOWS["win_amd64"],
    "windows-arm64": _WINDOWS["win_arm64"],
}
ALIASES = {"linux": "linux-x86_64", "macos": "macos-arm64", "windows": "windows-amd64"}

# compiled on first use (re's cache): only a concrete wheel platform tag needs it
_CONCRETE = r"(manylinux|musllinux|macosx)_(\d+)_(\d+)_([a-z0-9_]+)|linux_([a-z0-9_]+)"


def _platform(spec: str) -> _Platform:
    key = ALIASES.get(spec.lower(), spec.lower())
    if key in NAMED_PLATFORMS:
        return NAMED_PLATFORMS[key]
    if key in _WINDOWS:
        return _WINDOWS[key]
    match = re.fullmatch(_CONCRETE, key)
    if match is None:
        raise UsageError(
            f"unknown platform {spec!r}",
            hint="use linux, linux-aarch64, macos, macos-x86_64, windows, windows-arm64 or a "
            "wheel platform tag such as manylinux_2_28_x86_64",
        )
    family, major, minor, arch, plain = match.groups()
    if plain is not None:
        return _linux((key,), plain)
    version = (int(major), int(minor))
    if family == "manylinux":
        return _linux(_manylinux(version, arch), arch)
    if family == "musllinux":
        return _linux(_musllinux(version, arch), arch)
    return _macos(version, arch)


def _python(version: str) -> tuple[str, str]:
    """``"3.13"`` -> ("3.13", "3.13.0"); ``"3.13.2"`` -> ("3.13", "3.13.2")."""
    if not re.fullmatch(r"3\.\d{1,2}(\.\d{1,2})?", version):
        raise UsageError(
            f"unsupported Python version {version!r}", hint="give a version such as 3.13 or 3.13.2"
        )
    parts = version.split(".")
    return ".".join(parts[:2]), version if len(parts) == 3 else version + ".0"


def _tags(short: str, platforms: Iterable[str]) -> tuple[Tag, ...]:
    plats = list(platforms)
    py = tuple(int(p) for p in short.split("."))
    abi = f"cp{py[0]}{py[1]}"
    found = [*cpython_tags(py, [abi], plats), *compatible_tags(py, abi, plats)]
    return tuple(dict.fromkeys(found))


def _host_tags(short: str) -> tuple[Tag, ...]:
    """The tags of CPython ``short`` on this machine's platforms (asked for on first use)."""
    return _tags(short, platform_tags())


def _selector(short: str, sys_platform: str, machine: str) -> str:
    expr = (
        f"python_version == '{short}' and sys_platform == '{sys_platform}'"
        f" and platform_machine == '{machine}'"
    )
    simple = simple_marker(expr)  # packaging's spelling of it, without its marker parser
    if simple is not None:
        return simple
    from packaging.markers import Marker

    return str(Marker(expr))


def running_environment() -> dict[str, str]:
    """The running interpreter's PEP 508 marker environment: what packaging's
    ``default_environment()`` returns (tests/test_targets.py compares them), computed without
    importing packaging's marker parser, which `lock --check` otherwise never needs."""
    info = sys.implementation.version
    implementation_version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        implementation_version += info.releaselevel[0] + str(info.serial)
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "platform_machine": host.machine(),
        "platform_release": host.release(),
        "platform_system": host.system(),
        "platform_version": host.version(),
        "python_full_version": host.python_version(),
        "platform_python_implementation": host.python_implementation(),
        "python_version": ".".join(host.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def current_target() -> Target:
    """The running interpreter: its marker environment and every tag it supports."""
    return _interpreter_target(running_environment(), lambda: tuple(sys_tags()))


def interpreter_target(environment: Mapping[str, str], tags: Iterable[Tag]) -> Target:
    """An interpreter's own target from what it reports (``envprobe`` asks another one).

    Named like ``current_target``, so a lock made for an interpreter is fresh for
    ``safeinstall lock --check`` run by that same interpreter."""
    return _interpreter_target(environment, tuple(tags))


def _interpreter_target(
    environment: Mapping[str, str], tags: tuple[Tag, ...] | Callable[[], tuple[Tag, ...]]
) -> Target:
    short, machine = environment["python_version"], environment["platform_machine"]
    sys_platform = environment["sys_platform"]
    return Target(
        name=f"current (cp{short}-{sys_platform}-{machine})",
        python_version=Version(environment["python_full_version"]),
        environment=tuple(sorted(environment.items())),
        tags=tags,
        marker=_selector(short, sys_platform, machine),
    )


def _make(
    short: str,
    full: str,
    plat: _Platform,
    label: str,
    tags: Callable[[], tuple[Tag, ...]] | None = None,
) -> Target:
    env = {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": plat.os_name,
        "platform_machine": plat.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": plat.system,
        "platform_version": "",
        "python_full_version": full,
        "python_version": short,
        "sys_platform": plat.sys_platform,
    }
    return Target(
        name=f"cp{short}-{label}",
        python_version=Version(full),
        environment=tuple(sorted(env.items())),
        tags=partial(_tags, short, plat.platforms) if tags is None else tags,
        marker=_selector(short, plat.sys_platform, plat.machine),
    )


def target_for(python_version: str | None, platform: str | None) -> Target:
    """A target from ``--python-version`` and ``--platform`` (None: the running interpreter's)."""
    if python_version is None and platform is None:
        return current_target()
    here = running_environment()
    short, full = _python(python_version or here["python_full_version"])
    if platform is None:
        # this machine's wheel platforms are asked for with the tags, when something needs them
        plat = _Platform(
            here["sys_platform"],
            here["platform_system"],
            here["os_name"],
            here["platform_machine"],
            (),
        )
        label = f"{here['sys_platform']}-{here['platform_machine']}"
        return _make(short, full, plat, label, partial(_host_tags, short))
    plat = _platform(platform)
    label = ALIASES.get(platform.lower(), platform.lower())
    return _make(short, full, plat, label)


def targets_for(python_versions: str | None, platforms: str | None) -> tuple[Target, ...]:
    """Targets from ``--python-version`` and ``--platform``, each a comma-separated list: one
    target for every (version, platform) pair, versions first (``"3.11,3.12"`` and ``"linux"``
    are two targets). None, as for ``target_for``: the running interpreter's."""
    pythons = _listed(python_versions, "--python-version")
    plats = _listed(platforms, "--platform")
    chosen: dict[str, Target] = {}
    for version in pythons:
        for platform in plats:
            target = target_for(version, platform)
            chosen.setdefault(target.name, target)
    return tuple(chosen.values())


def _listed(value: str | None, option: str) -> list[str | None]:
    if value is None:
        return [None]
    items = [item.strip() for item in value.split(",")]
    if not all(items):
        raise UsageError(
            f"{option} {value!r} has an empty item",
            hint=f"separate values with single commas, e.g. {option} "
            + ("3.11,3.12" if option == "--python-version" else "linux,macos"),
        )
    return list(items)


def _grid() -> Iterator[Target]:
    for short in KNOWN_PYTHONS:
        for label, plat in NAMED_PLATFORMS.items():
            yield _make(short, short + ".0", plat, label)


def targets_from_markers(exprs: Iterable[str], source: str | None = None) -> tuple[Target, ...]:
    """Targets for the policy's ``environments``.

    Each expression is evaluated on every pair of a known CPython minor version
    (``KNOWN_PYTHONS``, at patch level 0) and a named platform (``NAMED_PLATFORMS``); every pair
    it is true for becomes a target, so ``sys_platform == 'linux' and python_version >= '3.12'``
    locks for x86_64 and aarch64 Linux on 3.12, 3.13 and 3.14. Expressions must therefore
    select by ``python_version``/``python_full_version``, ``sys_platform``, ``platform_system``,
    ``os_name``, ``platform_machine`` or ``implementation_name``.
    """
    from packaging.markers import InvalidMarker, Marker

    grid = list(_grid())
    chosen: dict[str, Target] = {}
    for expr in exprs:
        try:
            marker = Marker(expr)
        except InvalidMarker as exc:
            raise PolicyConfigError(
                f"environment {expr!r} is not a valid marker expression: {exc}",
                location=Location(source) if source else None,
                hint="write a PEP 508 marker such as \"sys_platform == 'linux'\"",
            ) from exc
        matched = [t for t in grid if marker.evaluate(t.env(), "lock_file")]
        if not matched:
            raise PolicyConfigError(
                f"environment {expr!r} matches none of the platforms safeinstall can lock for",
                location=Location(source) if source else None,
                hint=f"select CPython {KNOWN_PYTHONS[0]}-{KNOWN_PYTHONS[-1]} on Linux, macOS or "
                "Windows by python_version, sys_platform and platform_machine",
            )
        chosen.update((t.name, t) for t in matched)
    return tuple(chosen.values())


def tag_ranks(target: Target) -> Mapping[Tag, int]:
    """Tag -> preference rank (0 best) for choosing and ordering wheels."""
    ranks: dict[Tag, int] = {}
    for rank, tag in enumerate(target.tags):
        ranks.setdefault(tag, rank)
    return ranks
