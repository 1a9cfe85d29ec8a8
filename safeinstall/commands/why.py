"""`safeinstall why PKG [LOCK]`: every chain from a top-level requirement to a package."""

from __future__ import annotations

import argparse

from safeinstall.commands import add_lock_argument
from safeinstall.ui import UI

HELP = (
    "show who pulls a package in: every chain from a top-level requirement, with index and license"
)
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", metavar="PKG", help="the package to explain")
    add_lock_argument(parser, git=True)


def run(args: argparse.Namespace, ui: UI) -> int:
    from packaging.utils import canonicalize_name

    from safeinstall.errors import UsageError
    from safeinstall.lock.read import default_lock
    from safeinstall.lock.ref import LockRef, parse_ref, read_lock_ref
    from safeinstall.report.graph import build, chains, describe, label

    ref = parse_ref(args.lock) if args.lock else LockRef(default_lock())
    graph = build(read_lock_ref(ref))
    name = canonicalize_name(args.package)
    if name not in graph.packages:
        raise UsageError(f"{args.package} is not in {ref}", hint="`safeinstall tree` lists it all")
    found = chains(graph, name)
    if args.format == "json":
        ui.json(
            {
                "package": name,
                "lock": str(ref),
                "chains": [
                    {
                        "source": list(graph.sources[chain[0]]),
                        "packages": [describe(graph, n) for n in chain],
                    }
                    for chain in found
                ],
            }
        )
        return 0
    for chain in found:
        source = ", ".join(graph.sources[chain[0]]) or "(not required by any input)"
        ui.line(f"{source}: " + " -> ".join(label(graph, n) for n in chain))
    return 0
