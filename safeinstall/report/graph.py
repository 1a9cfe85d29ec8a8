"""The dependency graph of a lock: who pulls a package in (``why``) and the whole tree (``tree``).

Edges come from ``LockedPackage.dependencies`` (pylock.toml) and from ``via`` read backwards
(requirements.txt records only ``# via``). A package is top-level when its ``via`` names a source
(``requirements.in:3``) rather than a locked package, or when nothing depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from packaging.utils import NormalizedName, canonicalize_name

from safeinstall.lock.model import Lock, LockedPackage

MAX_CHAINS = 100


@dataclass(frozen=True, slots=True)
class Graph:
    packages: dict[NormalizedName, tuple[LockedPackage, ...]]  # a name may be locked per marker
    children: dict[NormalizedName, tuple[NormalizedName, ...]]
    parents: dict[NormalizedName, tuple[NormalizedName, ...]]
    sources: dict[NormalizedName, tuple[str, ...]]  # where a top-level requirement was written

    @property
    def roots(self) -> tuple[NormalizedName, ...]:
        return tuple(n for n in sorted(self.packages) if self.sources[n] or not self.parents[n])


@dataclass(frozen=True, slots=True)
class Node:
    name: NormalizedName
    packages: tuple[LockedPackage, ...]
    repeat: bool = False  # shown (and expanded) earlier in the tree: "(*)"
    children: tuple[Node, ...] = field(default=())


def build(lock: Lock) -> Graph:
    packages: dict[NormalizedName, tuple[LockedPackage, ...]] = {}
    for pkg in lock.packages:
        packages[pkg.name] = (*packages.get(pkg.name, ()), pkg)
    children: dict[NormalizedName, set[NormalizedName]] = {n: set() for n in packages}
    parents: dict[NormalizedName, set[NormalizedName]] = {n: set() for n in packages}
    sources: dict[NormalizedName, list[str]] = {n: [] for n in packages}
    for name, entries in packages.items():
        for pkg in entries:
            for dep in pkg.dependencies:
                child = canonicalize_name(dep)
                if child in packages and child != name:
                    children[name].add(child)
                    parents[child].add(name)
            for via in pkg.via:
                parent = canonicalize_name(via)
                if parent in packages and parent != name:
                    children[parent].add(name)
                    parents[name].add(parent)
                elif parent not in packages and via not in sources[name]:
                    sources[name].append(via)
    return Graph(
        packages,
        {n: tuple(sorted(c)) for n, c in children.items()},
        {n: tuple(sorted(p)) for n, p in parents.items()},
        {n: tuple(s) for n, s in sources.items()},
    )


def chains(graph: Graph, name: NormalizedName) -> list[tuple[NormalizedName, ...]]:
    """Every path from a top-level package down to ``name`` (at most MAX_CHAINS, shortest first)."""
    roots = set(graph.roots)
    found: list[tuple[NormalizedName, ...]] = []

    def up(path: tuple[NormalizedName, ...]) -> Iterator[tuple[NormalizedName, ...]]:
        head = path[0]
        if head in roots:
            yield path
        for parent in graph.parents[head]:
            if parent not in path:  # a cycle is not a chain
                yield from up((parent, *path))

    for chain in up((name,)):
        found.append(chain)
        if len(found) >= MAX_CHAINS:
            break
    return sorted(found, key=lambda c: (len(c), c))


def tree(graph: Graph) -> tuple[Node, ...]:
    """The roots with their dependencies, depth first; a package shown earlier (a repeat or a
    cycle) is a leaf marked repeat. Packages reachable from no root (a cycle) follow at the end."""
    shown: set[NormalizedName] = set()

    def node(name: NormalizedName) -> Node:
        if name in shown:
            return Node(name, graph.packages[name], repeat=True)
        shown.add(name)
        return Node(name, graph.packages[name], children=tuple(map(node, graph.children[name])))

    out = [node(root) for root in graph.roots]
    out += [node(name) for name in sorted(graph.packages) if name not in shown]
    return tuple(out)


# --- presentation (text and JSON) used by the why and tree commands ---------------------------


def describe(graph: Graph, name: NormalizedName) -> dict[str, object]:
    """Version(s), index and license of a package, for JSON."""
    pkgs = graph.packages[name]
    return {
        "name": name,
        "versions": [str(p.version) for p in pkgs],
        "index": next((p.index_name or p.index_url for p in pkgs if p.index_url), None),
        "index_url": next((p.index_url for p in pkgs if p.index_url), None),
        "license": next((p.license for p in pkgs if p.license), None),
    }


def label(graph: Graph, name: NormalizedName) -> str:
    """``name 1.0 [MIT, internal]``: what a line of ``why``/``tree`` says about a package."""
    info = describe(graph, name)
    versions = ", ".join(str(p.version) for p in graph.packages[name])
    extra = [str(info["license"] or "license unknown")]
    if info["index"]:
        extra.append(str(info["index"]))
    return f"{name} {versions} [{', '.join(extra)}]"


def render(graph: Graph, nodes: tuple[Node, ...]) -> list[str]:
    lines: list[str] = []

    def walk(node: Node, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└── " if last else "├── ")
        lines.append(prefix + branch + label(graph, node.name) + (" (*)" if node.repeat else ""))
        inner = prefix if top else prefix + ("    " if last else "│   ")
        for i, child in enumerate(node.children):
            walk(child, inner, i == len(node.children) - 1, False)

    for node in nodes:
        walk(node, "", True, True)
    return lines


def to_json(graph: Graph, node: Node) -> dict[str, object]:
    out = describe(graph, node.name)
    if node.repeat:
        out["repeat"] = True
    else:
        out["dependencies"] = [to_json(graph, child) for child in node.children]
    return out
