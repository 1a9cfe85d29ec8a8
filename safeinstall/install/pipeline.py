"""Install a lock into an environment: plan, fetch and verify everything, then pip.

1. Read the lock through the same rules as ``safeinstall check --lock``: an install refuses
   exactly what check flags.
2. Plan against the TARGET interpreter (``envprobe``): the locked packages whose markers apply,
   minus those already installed at the locked version (unless ``reinstall``) whose files are
   those of the locked wheel (``_as_locked``: fetched when not at hand, reinstalled when they
   differ); for ``sync`` also every installed package the lock does not list.
3. Under an advisory lock on the environment: refuse when a distribution pip would remove has a
   RECORD listing files not its own (``removal``); choose each file (``sources``), fetch and
   verify every one (``fetch``), check each wheel (``wheelcheck``), inspect every file
   (``inspect/scan.py``), build each sdist from the lock's build set (``build/wheel.py``), and
   only then run pip, on wheels. ``recovery`` undoes what it can of a pip that failed part-way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from safeinstall.audit.malware import check_lock as refuse_known_malware
from safeinstall.build.wheel import built_wheels
from safeinstall.environment.pip import PipOptions, pip_install, pip_uninstall
from safeinstall.environment.probe import (
    Environment,
    Installed,
    Scheme,
    SchemeDirs,
    is_own,
    own_distributions,
    probe,
)
from safeinstall.errors import InputError, PolicyError, TargetEnvironmentError
from safeinstall.files.atomic import advisory_lock
from safeinstall.index.fetch import Artifact, Progress, Store, fetch_all
from safeinstall.index.reconcile import reconcile_wheels
from safeinstall.inspect.scan import refuse_blocked
from safeinstall.install.footprint import take
from safeinstall.install.plan import open_network, select_files
from safeinstall.install.recovery import after_failure
from safeinstall.install.removal import check_removals, installed_dists
from safeinstall.install.verifywheel import against_wheels
from safeinstall.install.wheelcheck import check_wheels
from safeinstall.lock.model import Lock, LockedPackage
from safeinstall.policy.model import Policy
from safeinstall.ui import live_status

# Never uninstalled by sync: the installer itself, and this tool unless the lock lists it. In
# the environment safeinstall runs from, neither are safeinstall and what it needs to run
# (``protected``): a plan that would remove or replace one of them is refused.
PROTECTED = frozenset({"pip", "safeinstall"})
_UNLOCKED = frozenset({"unpinned", "missing-hash", "unhashable", "bad-hash"})


@dataclass(frozen=True, slots=True)
class Options:
    reinstall: bool = False
    dry_run: bool = False
    sync: bool = False
    offline: bool = False
    find_links: tuple[Path, ...] = ()
    pip: PipOptions = field(default_factory=PipOptions)


@dataclass(frozen=True, slots=True)
class Plan:
    env: Environment
    install: tuple[LockedPackage, ...]  # missing, at another version, or --reinstall
    skipped: tuple[LockedPackage, ...]  # already installed at the locked version
    remove: tuple[Installed, ...] = ()  # sync: installed, not in the lock
    kept: tuple[Installed, ...] = ()  # sync: not in the lock, but never removed


@dataclass(frozen=True, slots=True)
class Outcome:
    plan: Plan
    installed: tuple[Artifact, ...] = ()
    removed: tuple[Installed, ...] = ()
    dry_run: bool = False


def read_lock(path: Path, policy: Policy) -> Lock:
    """The lock at ``path``, refused when ``check --lock`` finds anything in it or it was edited."""
    from safeinstall.guard.check import check_files
    from safeinstall.lock.content import refuse_edited
    from safeinstall.lock.read import read_lock_file

    report = check_files([path], policy, mode="lock")
    if report.errors:
        raise report.errors[0]
    if report.findings:
        first, count = report.findings[0], len(report.findings)
        more = f" (and {count - 1} more problem{'s' * (count > 2)})" if count > 1 else ""
        if any(f.rule in _UNLOCKED for f in report.findings):
            raise InputError(
                f"{path} is not a lock: {first.message}{more}",
                location=first.location,
                hint=f"make one with `{lock_command(path)}`, then install with "
                "`safeinstall install -r requirements.txt`",
            )
        raise PolicyError(
            f"the policy refuses this lock: {first.message}{more}",
            location=first.location,
            hint=f"{first.fix}; `safeinstall check --lock {path}` lists every problem",
        )
    return refuse_edited(read_lock_file(path), path)  # a hash edited to match a hostile file


def lock_command(path: Path) -> str:
    if path.name == "requirements.txt":
        return f"mv {path} requirements.in && safeinstall lock requirements.in -o requirements.txt"
    return f"safeinstall lock {path} -o requirements.txt"


def applicable(lock: Lock, env: Environment) -> list[LockedPackage]:
    """The locked packages for this interpreter; refuses a lock made for other environments."""
    target = env.target
    if lock.requires_python and not SpecifierSet(lock.requires_python).contains(
        target.python_version, prereleases=True
    ):
        raise TargetEnvironmentError(
            f"the lock needs Python {lock.requires_python}, but {target.name} is "
            f"{target.python_version}",
            hint="use --python with a matching interpreter, or relock",
        )
    environment = target.env()
    if lock.environments and not any(Marker(m).evaluate(environment) for m in lock.environments):
        raise TargetEnvironmentError(
            f"the lock was not made for {target.name}",
            hint="relock for this environment (`safeinstall lock`), or use --python",
        )
    return [p for p in lock.packages if p.marker is None or Marker(p.marker).evaluate(environment)]


def make_plan(lock: Lock, env: Environment, *, reinstall: bool = False, sync: bool = False) -> Plan:
    wanted = applicable(lock, env)
    install, skipped = [], []
    for pkg in wanted:
        have = env.installed.get(pkg.name)
        if not reinstall and have is not None and have.version == pkg.version:
            skipped.append(pkg)
        else:
            install.append(pkg)
    remove: list[Installed] = []
    kept: list[Installed] = []
    if sync:
        listed = {p.name for p in lock.packages}
        for name in sorted(set(env.installed) - listed):
            have = env.installed[name]
            # an editable install says so in its own direct_url.json: that is no reason to keep it
            (kept if name in PROTECTED else remove).append(have)
    plan = Plan(env, tuple(install), tuple(skipped), tuple(remove), tuple(kept))
    _refuse_own(plan)
    return plan


def protected(env: Environment) -> frozenset[str]:
    """What no plan may remove or replace in ``env``: in the environment safeinstall runs
    from, safeinstall and its run-time dependencies (else nothing: ``PROTECTED`` is kept by
    sync, not refused)."""
    return own_distributions() if is_own(env) else frozenset()


def _refuse_own(plan: Plan) -> None:
    mine = protected(plan.env)
    if not mine:
        return
    replaced = [p.name for p in plan.install if p.name in plan.env.installed]
    hit = sorted({n for n in [*replaced, *(i.name for i in plan.remove)] if n in mine})
    if hit:
        raise TargetEnvironmentError(
            f"{plan.env.prefix} is the environment safeinstall runs from, and this would remove "
            f"or replace {', '.join(hit)}, which safeinstall needs to run",
            hint="install the project into a separate virtual environment (`python -m venv "
            ".venv`, then --python .venv or activate it), and safeinstall in its own",
        )


def install_lock(
    lock: Lock,
    policy: Policy,
    python: str,
    options: Options,
    *,
    cache: Path,
    progress: Progress | None = None,
) -> Outcome:
    """Make the environment of ``python`` hold what ``lock`` pins (see the module docstring)."""
    status = live_status()  # the known-malware check is a phase: it may wait on the network
    refuse_known_malware(
        lock, policy, offline=options.offline, notify=options.pip.warn, announce=status.phase
    )
    status.phase("plan: what to install, and which file of each package")
    scheme, where = options.pip.scheme, options.pip.where
    first = probe(python, scheme, where)
    if options.dry_run:
        plan = make_plan(lock, first, reinstall=options.reinstall, sync=options.sync)
        plan = _as_locked(plan, policy, first.dirs, options, cache=cache, progress=progress)
        return Outcome(plan, dry_run=True)
    with _environment_lock(first, scheme):
        env = probe(python, scheme, where)  # what is there now that no other install runs
        plan = make_plan(lock, env, reinstall=options.reinstall, sync=options.sync)
        dirs = env.dirs
        plan = _as_locked(plan, policy, dirs, options, cache=cache, progress=progress)
        _check_removals(plan, env, dirs)
        artifacts = _verified(plan, policy, env, options, cache=cache, progress=progress)
        refuse_blocked(artifacts, policy, cache=cache, action="install")  # inspect/scan.py
        fetch = partial(_fetched, policy=policy, env=env, options=options, cache=cache)
        artifacts = built_wheels(  # an allowed sdist: built from the lock's build set only
            artifacts,
            lock.builds,
            partial(fetch, progress=progress),
            policy,
            python=env.python,
            target=env.target,
            packages=(*plan.install, *plan.skipped),
            cache=cache,
            warn=options.pip.warn,
        )
        # Every artifact is verified: only now does anything touch the environment.
        if artifacts:
            files = take(dirs.written)
            pip = replace(options.pip, reinstall=True) if _same_version(plan) else options.pip
            live_status().phase(f"pip: installing {len(artifacts)} files into {env.prefix}")
            try:
                pip_install(env.python, artifacts, pip, stage_in=Store(cache).root)
            except TargetEnvironmentError as exc:
                store = Store(cache)
                raise after_failure(
                    exc, env, pip=pip, store=store, dirs=dirs, files=files
                ) from None
        if plan.remove:
            live_status().phase(f"pip: removing {len(plan.remove)} packages the lock does not list")
            pip_uninstall(env.python, [i.name for i in plan.remove])
        return Outcome(plan, tuple(a for a, _ in artifacts), plan.remove)


def _same_version(plan: Plan) -> bool:
    """Whether a package to install is installed at that version (pip then needs to be told
    to reinstall it)."""
    have = plan.env.installed
    return any(p.name in have and have[p.name].version == p.version for p in plan.install)


def _check_removals(plan: Plan, env: Environment, dirs: SchemeDirs) -> None:
    """Refuse before pip runs when a distribution it would remove lists files not its own."""
    names = [p.name for p in plan.install if p.name in env.installed]
    names += [i.name for i in plan.remove]
    check_removals(env.python, dirs, names, f"let pip replace or remove {', '.join(names)}")


def _verified(
    plan: Plan,
    policy: Policy,
    env: Environment,
    options: Options,
    *,
    cache: Path,
    progress: Progress | None,
) -> list[tuple[Artifact, Path]]:
    """Each file to install with its verified local path; no network when nothing is needed."""
    verified = _fetched(plan.install, policy, env, options, cache=cache, progress=progress)
    live_status().phase(f"verify: checking {len(verified)} files' contents against the lock")
    check_wheels(verified)  # the whole wheel format, before pip writes a byte
    files = {artifact.sha256: path for artifact, path in verified}
    # its METADATA against the dependencies the lock records (index/reconcile.py)
    reconcile_wheels(
        [a for a, _ in verified], files, (*plan.install, *plan.skipped), env.target.env()
    )
    return verified


def _fetched(
    packages: Sequence[LockedPackage],
    policy: Policy,
    env: Environment,
    options: Options,
    *,
    cache: Path,
    progress: Progress | None,
) -> list[tuple[Artifact, Path]]:
    """The one file of each package, fetched (or found locally) and verified against the lock."""
    if not packages:
        return []
    store = Store(cache)
    with contextlib.ExitStack() as stack:
        net = None if options.offline else stack.enter_context(open_network(policy, cache))
        chosen = [
            c.artifact
            for c in select_files(packages, policy, env, store, net, find_links=options.find_links)
        ]
        live_status().phase(f"download: {len(chosen)} files, each checked against its hash")
        files = fetch_all(chosen, store, net.http if net else None, progress=progress)
    return [(a, files[a.sha256]) for a in chosen]


def _as_locked(
    plan: Plan,
    policy: Policy,
    dirs: SchemeDirs,
    options: Options,
    *,
    cache: Path,
    progress: Progress | None,
) -> Plan:
    """The plan with each package "at the locked version" whose installed files are not those of
    a wheel the lock pins moved to ``install`` (to be reinstalled). Its locked wheel is fetched
    when not at hand (not in a dry run: there, only wheels at hand are compared)."""
    if not plan.skipped:
        return plan
    names = {p.name for p in plan.skipped}
    dists = [d for d in installed_dists(plan.env.python, dirs) if d.name in names]
    check = against_wheels(Lock(plan.skipped, ""), dists, cache, options.find_links)
    unproven = [p for p in plan.skipped if p.name not in check.compared]
    if unproven and not options.dry_run:
        fetched = _fetched(unproven, policy, plan.env, options, cache=cache, progress=progress)
        if any(a.is_wheel for a, _ in fetched):
            check = against_wheels(Lock(plan.skipped, ""), dists, cache, options.find_links)
    differ = {p.package for p in check.problems}
    if not differ:
        return plan
    moved = tuple(p for p in plan.skipped if p.name in differ)
    skipped = tuple(p for p in plan.skipped if p.name not in differ)
    plan = replace(plan, install=(*plan.install, *moved), skipped=skipped)
    _refuse_own(plan)  # a reinstall replaces too
    return plan


@contextlib.contextmanager
def _environment_lock(env: Environment, scheme: Scheme) -> Iterator[None]:
    """An advisory lock on the environment: a second install into it waits for this one."""
    directory = env.lock_dir
    try:
        if scheme != "default":
            directory.mkdir(parents=True, exist_ok=True)
        held = advisory_lock(directory)
        held.__enter__()
    except OSError as exc:
        raise TargetEnvironmentError(
            f"cannot lock the environment at {directory}: {exc.strerror or exc}",
            hint="check that you may write to it, or install into a virtual environment",
        ) from None
    try:
        yield
    finally:
        held.__exit__(None, None, None)
