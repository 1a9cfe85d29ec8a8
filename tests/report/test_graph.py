from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from packaging.utils import NormalizedName

from safeinstall.report.graph import Node, build, chains, tree
from tests.support.fixtures import Result
from tests.support.locks import lock, package, write

Run = Callable[..., Result]

# app -> web -> http -> certs ; app -> http ; tool (second input) -> certs ; a <-> b cycle
LOCK = lock(
    package("app", "1.0", deps=["web", "http"], via=["requirements.in:1"]),
    package("web", "2.0", deps=["http"], via=["app"], license="BSD-3-Clause"),
    package("http", "3.0", deps=["certs"], via=["app", "web"], license=None),
    package("certs", "4.0", via=["http", "tool"], license="MPL-2.0"),
    package("tool", "5.0", deps=["certs"], via=["requirements.in:2"]),
    package("a", "1.0", deps=["b"], via=["b"]),
    package("b", "1.0", deps=["a"], via=["a"]),
)


def n(name: str) -> NormalizedName:
    return NormalizedName(name)


def test_every_chain_from_a_top_level_requirement() -> None:
    graph = build(LOCK)
    assert graph.sources[n("app")] == ("requirements.in:1",)
    assert set(graph.roots) >= {"app", "tool"}
    assert chains(graph, n("certs")) == [
        ("tool", "certs"),
        ("app", "http", "certs"),
        ("app", "web", "http", "certs"),
    ]


def test_why_text_names_source_license_and_index(cli: Run, tmp_path: Path) -> None:
    path = write(tmp_path / "pylock.toml", LOCK)
    result = cli("why", "HTTP", path)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "requirements.in:1: app 1.0 [MIT, internal] -> http 3.0 [license unknown, internal]",
        "requirements.in:1: app 1.0 [MIT, internal] -> web 2.0 [BSD-3-Clause, internal] "
        "-> http 3.0 [license unknown, internal]",
    ]


def test_why_json_and_requirements_txt(cli: Run, tmp_path: Path) -> None:
    path = write(tmp_path / "requirements.txt", LOCK)  # the graph comes from `# via` there
    data = json.loads(cli("why", "--format", "json", "certs", path).out)
    assert data["package"] == "certs"
    assert [[p["name"] for p in c["packages"]] for c in data["chains"]] == [
        ["tool", "certs"],
        ["app", "http", "certs"],
        ["app", "web", "http", "certs"],
    ]
    assert data["chains"][0]["source"] == ["requirements.in:2"]
    assert data["chains"][0]["packages"][1]["license"] == "MPL-2.0"


def test_why_unknown_package_is_a_usage_error(cli: Run, tmp_path: Path) -> None:
    result = cli("why", "nothere", write(tmp_path / "pylock.toml", LOCK))
    assert result.code == 2
    assert "nothere is not in" in result.err


def test_tree_marks_repeats_and_survives_cycles(cli: Run, tmp_path: Path) -> None:
    result = cli("tree", write(tmp_path / "pylock.toml", LOCK))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "app 1.0 [MIT, internal]",
        "├── http 3.0 [license unknown, internal]",
        "│   └── certs 4.0 [MPL-2.0, internal]",
        "└── web 2.0 [BSD-3-Clause, internal]",
        "    └── http 3.0 [license unknown, internal] (*)",
        "tool 5.0 [MIT, internal]",
        "└── certs 4.0 [MPL-2.0, internal] (*)",
        "a 1.0 [MIT, internal]",
        "└── b 1.0 [MIT, internal]",
        "    └── a 1.0 [MIT, internal] (*)",
    ]


def test_tree_json(cli: Run, tmp_path: Path) -> None:
    data = json.loads(cli("tree", "--format", "json", write(tmp_path / "pylock.toml", LOCK)).out)
    app = data["tree"][0]
    assert (app["name"], app["versions"], app["license"]) == ("app", ["1.0"], "MIT")
    assert app["index_url"] == "https://pkgs.example.com/simple"
    web = app["dependencies"][1]
    assert web["dependencies"] == [
        {
            "name": "http",
            "versions": ["3.0"],
            "index": "internal",
            "index_url": "https://pkgs.example.com/simple",
            "license": None,
            "repeat": True,
        }
    ]


def test_tree_nodes_cover_every_package_once_expanded() -> None:
    expanded: list[str] = []

    def walk(nodes: tuple[Node, ...]) -> None:
        for node in nodes:
            if not node.repeat:
                expanded.append(node.name)
            walk(node.children)

    walk(tree(build(LOCK)))
    assert sorted(expanded) == sorted(p.name for p in LOCK.packages)
