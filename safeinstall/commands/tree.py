"""`safeinstall tree [LOCK]`: the lock's dependency tree, repeats marked (*)."""

from __future__ import annotations

import argparse

from safeinstall.commands import add_lock_argument
from safeinstall.ui import UI

HELP = "show the dependency tree of a lock, with index and license; repeats are marked (*)"
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_lock_argument(parser, git=True)


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.lock.read import default_lock
    from safeinstall.lock.ref import LockRef, parse_ref, read_lock_ref
    from safeinstall.report.graph import build, render, to_json, tree

    ref = parse_ref(args.lock) if args.lock else LockRef(default_lock())
    graph = build(read_lock_ref(ref))
    nodes = tree(graph)
    if args.format == "json":
        ui.json({"lock": str(ref), "tree": [to_json(graph, n) for n in nodes]})
    else:
        for line in render(graph, nodes):
            ui.line(line)
    return 0
