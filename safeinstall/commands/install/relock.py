"""`install PKG` inside a project: every lock of the project relocked from the edited input.

A project may keep both a pylock.toml and a requirements.txt (``Project.locks``). Each one that
safeinstall made is relocked in memory with its own recipe (``lock.recipe.find_recipe``: the
command a requirements.txt records, with its targets, extras and groups; for a pylock.toml,
which records none, the project's input as ``safeinstall lock`` reads it by default) and its own
pins kept; a name new to the project is tried first at the version the lock before it chose, so
the locks agree where they can. A lock safeinstall did not make (another ``created-by``, no
recorded command), or whose recipe does not read the project's input, is left alone, and the
reason is given, one line each; a project with no lock safeinstall can remake is refused.

Nothing is written until every lock is made and the one for the target environment installed;
then the locks and the input are replaced one by one (each atomically, each only if it still
holds what was read), and when one write fails, those already written are put back: the project
ends with all of them changed or none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.environment.probe import Environment
from safeinstall.errors import InputError, Location, SafeinstallError, TargetEnvironmentError
from safeinstall.filekind import DEFAULT_LOCKS
from safeinstall.lock.model import Lock
from safeinstall.lock.recipe import Recipe
from safeinstall.policy.model import Policy
from safeinstall.requirements.edit import Project
from safeinstall.targets import Target
from safeinstall.ui import UI


@dataclass(frozen=True, slots=True)
class Job:
    """A lock to relock: its path (from the project root), its bytes (None: not made yet) and
    how it is made."""

    path: Path
    old: bytes | None
    recipe: Recipe


@dataclass(frozen=True, slots=True)
class Skipped:
    """A lock left alone, and why."""

    path: Path
    reason: str

    @property
    def line(self) -> str:
        return f"{self.path}: not updated: {self.reason}"


@dataclass(frozen=True, slots=True)
class Relocked:
    """A lock made in memory: written only once every lock is made and one is installed."""

    path: Path
    old: bytes | None
    new: bytes
    lock: Lock
    before: Lock | None  # the pins it held

    def line(self, would: str) -> str:
        count = len(self.lock.packages)
        return f"{self.path}: {would}locked, {count} packages{_changes(self.before, self.lock)}"


def plan(project: Project, source: Path) -> tuple[list[Job], list[Skipped]]:
    """Which locks of ``project`` are relocked from ``source`` (its input, relative: this runs
    from the project root), and which are left alone and why. No lock yet: requirements.txt is
    made. InputError when the project has locks but none that safeinstall can remake."""
    for path in (source, *([] if project.locks else [Path("requirements.txt")])):
        if path.is_symlink():
            raise InputError(
                "refusing to write through a symbolic link; nothing was changed",
                location=Location(str(path)),
                hint="make it the real file, or remove the link",
            )
    if not project.locks:
        return [Job(Path("requirements.txt"), None, Recipe((source,), project.lock_command))], []
    jobs: list[Job] = []
    skipped: list[Skipped] = []
    for path in (Path(lock.name) for lock in project.locks):
        if path.is_symlink():
            skipped.append(
                Skipped(path, "it is a symbolic link, and safeinstall writes no lock through one")
            )
            continue
        old = _read(path)
        try:
            jobs.append(Job(path, old, _recipe(path, old, source)))
        except InputError as exc:
            skipped.append(Skipped(path, exc.message))
    if not jobs:
        free = [name for name in DEFAULT_LOCKS if not (project.root / name).exists()]
        make = f"`safeinstall lock {source} -o {free[0]}`" if free else "`safeinstall lock`"
        raise InputError(
            "no lock of this project was made by safeinstall, so none can be relocked; "
            "nothing was changed:\n" + "\n".join(f"  {s.line}" for s in skipped),
            hint=f"make one with {make}, then install again",
        )
    return jobs, skipped


def _read(path: Path) -> bytes:
    from safeinstall.files.capped import read_capped
    from safeinstall.lock.read import MAX_LOCK_BYTES

    return read_capped(path, MAX_LOCK_BYTES, what="the lock", hint="check the lock file")


def _recipe(path: Path, old: bytes, source: Path) -> Recipe:
    """How ``path`` (holding ``old``) was made; InputError saying why it is not remade here."""
    from safeinstall.filekind import is_pylock
    from safeinstall.lock.recipe import find_recipe

    try:
        text = old.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("it is not UTF-8 text, so safeinstall did not make it") from None
    if is_pylock(path):
        _made_by_safeinstall(text)
    recipe = find_recipe(path, text)
    if source.resolve() not in {item.resolve() for item in recipe.inputs}:
        made_from = ", ".join(map(str, recipe.inputs))
        raise InputError(f"it is made from {made_from}, not {source}")
    return recipe


def _made_by_safeinstall(text: str) -> None:
    """InputError unless the pylock.toml ``text`` says safeinstall made it (its created-by)."""
    import tomllib

    from safeinstall.lock.pylock import CREATED_BY

    try:
        maker = tomllib.loads(text).get("created-by")
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"it is not valid TOML ({exc})") from None
    if maker != CREATED_BY:
        who = repr(maker) if isinstance(maker, str) else "another tool (no created-by)"
        raise InputError(f"it was made by {who}, not safeinstall")


def relock_all(
    jobs: Sequence[Job],
    source: Path,
    new_input: bytes,
    *,
    policy: Policy,
    targets: Sequence[Target],
    ui: UI,
) -> list[Relocked]:
    """Each job's lock made in memory from ``source`` holding ``new_input``, for its recipe's
    targets (``targets``, the target environment's, when it names none). Raises, saying that
    nothing was written, when any of them cannot be made."""
    from safeinstall import __version__
    from safeinstall.filekind import is_pylock
    from safeinstall.lock.inputs import choose_targets, digest_for, read_recipe_inputs
    from safeinstall.lock.make import resolve_lock
    from safeinstall.lock.model import to_requirements_txt
    from safeinstall.lock.pylock import to_pylock_toml

    contents = {source.resolve(): new_input}
    chosen: dict[NormalizedName, Version] = {}  # the first lock's choice for a name wins
    made: list[Relocked] = []
    for job in jobs:
        recipe = job.recipe
        made_for = targets
        if recipe.python_version or recipe.platform:
            made_for = choose_targets(policy, recipe.python_version, recipe.platform)
        try:
            inputs = read_recipe_inputs(recipe, policy, contents=contents)
            made_from = ", ".join(map(str, recipe.inputs))
            ui.info(f"Resolving {len(inputs.roots)} requirements of {made_from} for {job.path}...")
            before = _pins(job)
            if before is not None and is_pylock(job.path):
                _warn_unknown_recipe(job, before, policy, made_for, ui)
            own = {p.name: p.version for p in before.packages} if before else {}
            lock = resolve_lock(
                inputs.roots,
                policy,
                made_for,
                digest_for(inputs, policy, made_for, contents),
                preferred={**chosen, **own},
                notify=ui.warn,
                old_builds=before.builds if before else (),
            )
        except SafeinstallError as exc:
            raise _not_relocked(job.path, exc) from None
        chosen = {p.name: p.version for p in lock.packages} | chosen
        if is_pylock(job.path):
            text = to_pylock_toml(lock)
        else:
            text = to_requirements_txt(lock, recipe.command, __version__)
        made.append(Relocked(job.path, job.old, text.encode("utf-8"), lock, before))
    return made


def _warn_unknown_recipe(
    job: Job, before: Lock, policy: Policy, targets: Sequence[Target], ui: UI
) -> None:
    """A pylock.toml records no command: when its digest shows that it was not made from its
    inputs as they stood, read without options, for ``targets``, say that it is relocked so."""
    from safeinstall.lock.inputs import digest_for, read_recipe_inputs

    try:
        fresh = digest_for(read_recipe_inputs(job.recipe, policy), policy, targets)
    except SafeinstallError:
        fresh = None
    if fresh != before.digest:
        made_from = ", ".join(map(str, job.recipe.inputs))
        ui.warn(
            f"{job.path} records no `safeinstall lock` command, and its digest shows it was not "
            f"made from {made_from} as it stood without options (it was stale, or locked with "
            "--extra, --group, --python-version or --platform): it is relocked without them; "
            "relock it with its options if it had any"
        )


def _pins(job: Job) -> Lock | None:
    from safeinstall.lock.read import parse_lock

    if job.old is None:
        return None
    try:
        return parse_lock(job.old, job.path.name, str(job.path))
    except InputError as exc:
        raise InputError(
            f"cannot read the existing lock to keep its pins: {exc.message}",
            location=exc.location,
            hint=f"fix it, or remake it with `safeinstall lock`: {job.path}",
        ) from None


def _not_relocked(path: Path, exc: SafeinstallError) -> SafeinstallError:
    """``exc``, of its own kind, saying which lock failed and that nothing was written."""
    return type(exc)(
        f"cannot relock {path}, so nothing was written (no lock and no input changed): "
        + exc.message,
        location=exc.location,
        hint=exc.hint,
    )


def for_environment(made: Sequence[Relocked], env: Environment) -> Relocked:
    """The first relocked lock made for ``env`` (pylock.toml before requirements.txt)."""
    from safeinstall.install.pipeline import applicable

    for item in made:
        try:
            applicable(item.lock, env)
        except TargetEnvironmentError:
            continue
        return item
    names = ", ".join(str(item.path) for item in made)
    raise TargetEnvironmentError(
        f"{names} {'is' if len(made) == 1 else 'are'} not for {env.target.name}, the target "
        "environment (as recorded in the lock); nothing was written",
        hint="pass --python with an interpreter the lock is for, or relock it for this one",
    )


def write_all(made: Sequence[Relocked], source: Path, old: bytes, new: bytes) -> None:
    """Write every changed lock, then the input, all or none (see the module docstring)."""
    from safeinstall.files import atomic

    writes = [(item.path, item.old, item.new) for item in made if item.new != item.old]
    writes += [(source, old, new)] if new != old else []
    done: list[tuple[Path, bytes | None, bytes]] = []
    with atomic.advisory_lock(Path(".")):  # where `safeinstall lock` takes it for these files
        for path, before, after in writes:
            try:
                atomic.replace_file(path, after, expected_digest=_sha256(before))
            except (SafeinstallError, OSError) as exc:
                raise _unwritten(path, exc, _put_back(done)) from None
            done.append((path, before, after))


def _put_back(done: Sequence[tuple[Path, bytes | None, bytes]]) -> list[tuple[Path, bool]]:
    """Each file of ``done`` as it was before, newest first: (path, whether it could be)."""
    from safeinstall.files import atomic

    out = []
    for path, before, after in reversed(done):
        try:
            if before is None:
                path.unlink()
            else:
                atomic.replace_file(path, before, expected_digest=_sha256(after))
        except (SafeinstallError, OSError):
            out.append((path, False))
        else:
            out.append((path, True))
    return out


def _unwritten(
    path: Path, exc: SafeinstallError | OSError, undone: list[tuple[Path, bool]]
) -> InputError:
    reason = exc.message if isinstance(exc, SafeinstallError) else exc.strerror or str(exc)
    said = [f"{p} was put back as it was" for p, ok in undone if ok]
    said += [f"{p} could not be put back: it holds this run's lock" for p, ok in undone if not ok]
    return InputError(
        f"could not write {path}: {reason}; " + ("; ".join(said) or "nothing was written"),
        hint="the environment holds what this run resolved; fix the cause, then run the "
        "command again",
    )


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _changes(before: Lock | None, after: Lock) -> str:
    """`` (+new 1.0, moved 1.0 -> 2.0, -gone 1.0)``: how ``after`` differs from ``before``."""
    if before is None:
        return ""
    old, new = _versions(before), _versions(after)
    parts = [f"+{name} {new[name]}" for name in sorted(new) if name not in old]
    parts += [f"{n} {old[n]} -> {new[n]}" for n in sorted(new) if n in old and old[n] != new[n]]
    parts += [f"-{name} {old[name]}" for name in sorted(old) if name not in new]
    return f" ({', '.join(parts)})" if parts else " (unchanged)"


def _versions(lock: Lock) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    for pkg in lock.packages:
        found.setdefault(pkg.name, set()).add(str(pkg.version))
    return {name: ", ".join(sorted(v)) for name, v in found.items()}
