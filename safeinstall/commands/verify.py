"""`safeinstall verify [LOCK]`: the installed environment against the lock and the RECORD hashes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeinstall.commands import add_lock_argument
from safeinstall.commands.install.options import add_python, python_of
from safeinstall.ui import UI

if TYPE_CHECKING:
    from safeinstall.install.verify import Problem
    from safeinstall.sarif import LockLines

HELP = "check that the installed environment is exactly the lock, with untouched files"
DESCRIPTION = (
    "Compare an environment with the lock: every locked package installed at its version, "
    "nothing extra, every installed file matching its RECORD hash and, where the artifact cache "
    "holds the locked wheel, that wheel's own files and its METADATA's dependencies as the lock "
    "records them, no .pth file that runs code at start-up other than those the policy allows "
    "(startup-files: by default setuptools', coverage's and editable installs of this project). "
    "Exit 1 when anything is found."
)
FORMATS = ("text", "json", "sarif")
# each kind of problem (install/verify.py, install/verifywheel.py): SARIF rule metadata
KINDS = {
    "missing": "A locked package whose marker applies is not installed.",
    "wrong-version": "A locked package is installed at another version.",
    "extra": "An installed distribution is not in the lock.",
    "modified": "An installed file does not match its RECORD hash or size.",
    "malformed-record": "A RECORD writes its hashes in hex, not urlsafe base64.",
    "missing-file": "A file that RECORD or the locked wheel lists is not installed.",
    "unhashed": "A RECORD entry carries no sha256/384/512 hash, so it cannot be verified.",
    "outside": "A RECORD entry leads outside the environment prefix.",
    "no-record": "An installed distribution has no RECORD.",
    "pth-exec": "A .pth file runs code at every interpreter start.",
    "not-as-locked": "An installed file differs from the same file in the locked wheel.",
    "not-in-wheel": "RECORD lists a file in site-packages that the locked wheel does not have.",
    "metadata-not-as-locked": "The locked wheel's METADATA is not what the lock records.",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_lock_argument(parser)
    add_python(parser)
    parser.add_argument(
        "--find-links",
        metavar="DIR",
        type=Path,
        action="append",
        default=[],
        help="a wheelhouse (from `safeinstall download`) whose locked wheels installed files are "
        "compared with, besides the artifact cache (repeatable)",
    )
    parser.add_argument(
        "--allow-extra",
        action="store_true",
        help="do not report installed packages that the lock does not list",
    )


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.files.cachedir import cache_root
    from safeinstall.install.verify import probe, verify
    from safeinstall.install.verifywheel import against_wheels
    from safeinstall.lock.read import default_lock, parse_lock, read_lock_bytes
    from safeinstall.policy.load import load_policy
    from safeinstall.sarif import lock_lines

    path: Path = args.lock or default_lock()
    data = read_lock_bytes(path)
    lock = parse_lock(data, path.name, str(path))
    policy = load_policy(args.policy)
    report = verify(
        lock,
        probe(python_of(args)),
        allow_extra=args.allow_extra,
        startup=policy.startup_files,
        projects=_own_project(path),
    )
    markers = report.environment.markers
    wheels = against_wheels(
        lock, report.installed, cache_root(), args.find_links, environment=markers
    )
    # a file is reported once; a malformed RECORD by the check that names the locked wheel
    named = {(p.package, p.path) for p in wheels.problems if p.kind == "malformed-record"}
    mine = [p for p in report.problems if (p.package, p.path) not in named]
    seen = {(p.package, p.path) for p in mine}
    problems = [*mine, *(p for p in wheels.problems if (p.package, p.path) not in seen)]
    code = 1 if problems else 0
    env = report.environment
    if args.format == "json":
        ui.json(
            {
                "lock": str(path),
                "python": env.python,
                "prefix": str(env.prefix),
                "packages": len(report.installed),
                "files_checked": report.files_checked,
                "packages_checked_against_wheels": wheels.packages,
                "problems": [p.to_json() for p in problems],
                "exit_code": code,
            }
        )
        return code
    if args.format == "sarif":
        ui.json(_sarif(problems, lock_lines(data, path.name, str(path), lock)))
        return code
    for problem in problems:
        ui.problem(f"{ui.bad(problem.kind)}: {problem.message}")
    summary = (
        f"{len(report.installed)} packages ({wheels.packages} also against their locked wheels), "
        f"{report.files_checked} files in {env.prefix} against {path}"
    )
    if problems:
        count = len(problems)
        ui.summary(f"{count} problem{'s' * (count != 1)}: {summary}")
    else:
        ui.summary(f"ok: {summary}")
    return code


def _sarif(problems: Sequence[Problem], lines: LockLines) -> dict[str, Any]:
    """Each problem on the lock line of its package (the installed file as a logical location);
    one with no locked package (an extra, a stray .pth file) on the lock as a whole."""
    from safeinstall.sarif import Rule, sarif_log

    rules = [Rule(kind, text) for kind, text in KINDS.items()]
    rules += [Rule(k, k) for k in sorted({p.kind for p in problems} - KINDS.keys())]
    results = [lines.result(p.kind, "error", p.message, p.package, inside=p.path) for p in problems]
    return sarif_log(rules, results)


def _own_project(lock: Path) -> tuple[str, ...]:
    """The name of the project whose lock this is (its pyproject.toml beside it), if any: its
    editable install is the user's own."""
    from safeinstall.errors import SafeinstallError
    from safeinstall.requirements.pyproject import read_toml

    pyproject = lock.parent / "pyproject.toml"
    if not pyproject.is_file():
        return ()
    try:
        project = read_toml(pyproject)[1].get("project")
    except SafeinstallError:
        return ()
    name = project.get("name") if isinstance(project, dict) else None
    return (name,) if isinstance(name, str) else ()
