"""The import contract: data flows one way, and the hook path loads nothing of the network side.

The static tests read every import of the package (module level and inside functions; imports
under ``if TYPE_CHECKING:`` never run and are left out), so a lazy import cannot hide an arrow.
The runtime tests run the pre-commit hooks (`check`, `lock --check`, `diff --staged`) under a
policy that sets every key, or in a real git repository, and look at what got loaded.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.support.indexserver import IndexServer
from tests.support.lockproject import demo_project
from tests.support.paths import ROOT

PACKAGE = ROOT / "safeinstall"
EVERY_KEY = ROOT / "bench" / "policies" / "every-key.toml"

# The folders (and modules) of the hook path: `check` and `lock --check` read files only.
HOOK_PATH = ("requirements", "policy", "guard")
# What they may never import: the network, the resolver, builds, the target environment,
# installing, and making a lock.
NOT_FROM_THE_HOOK_PATH = (
    "index",
    "net",
    "resolve",
    "build",
    "environment",
    "install",
    "audit",
    "report",
    "commands",
    "cli",
    "lock.make",
    "lock.inputs",
)
# Who may start a process, and why: every other module runs none.
STARTS_PROCESSES = {
    "environment.probe": "the one place that starts the target interpreter (-I -S)",
    "environment.pip": "pip, through the probe's command",
    "build.hooks": "PEP 517 hooks of an sdist the policy lets build",
    "environment.sandbox": "asks `unshare` once whether a build's network can be cut",
    "policy.pipconfig": "asks pip which indexes it is configured with",
    "lock.ref": "git show, for REV:path locks",
    "net.keyring": "the keyring command, for pip's keyring-provider = subprocess",
    "workers": "worker processes of our own code for the scanners (modules, member lists)",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except what sits under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(path: Path) -> set[str]:
    """The safeinstall modules (relative names) and top-level third-party names imported."""
    out: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import"
            if node.module == "safeinstall" or node.module.startswith("safeinstall."):
                # `from safeinstall.guard import names` imports safeinstall.guard.names
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    known = (PACKAGE / candidate.split(".", 1)[1].replace(".", "/")).with_suffix(
                        ".py"
                    )
                    out.add(candidate if known.is_file() else node.module)
            else:
                out.add(node.module)
    return {
        name.removeprefix("safeinstall.") if name.startswith("safeinstall.") else name
        for name in out
        if name != "safeinstall"
    }


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {i for i in imports_of(path) if i in modules} for name, path in modules.items()}


def is_under(module: str, area: str) -> bool:
    return module == area or module.startswith(area + ".")


def forbidden_arrows(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            above = is_under(module, "commands") or module in ("cli", "__main__")
            if not above and (is_under(target, "commands") or target == "cli"):
                bad.append(f"{module} -> {target} (nothing below commands/ imports it)")
            if any(is_under(module, area) for area in HOOK_PATH) and any(
                is_under(target, area) for area in NOT_FROM_THE_HOOK_PATH
            ):
                bad.append(f"{module} -> {target} (the hook path imports no such module)")
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target == node:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_no_forbidden_arrows() -> None:
    assert forbidden_arrows(graph()) == []


def test_the_contract_catches_what_it_forbids() -> None:
    # what a forbidden import added to the package would look like to the two tests above
    edges = graph()
    edges["guard.rules"] = edges["guard.rules"] | {"resolve.resolver"}
    edges["audit.fix"] = edges["audit.fix"] | {"commands.lock"}
    edges["policy.model"] = edges["policy.model"] | {"policy.load"}
    assert forbidden_arrows(edges) == [
        "audit.fix -> commands.lock (nothing below commands/ imports it)",
        "guard.rules -> resolve.resolver (the hook path imports no such module)",
    ]
    assert any({"policy.load", "policy.model"} <= set(c) for c in cycles(edges))


def test_only_the_named_modules_start_processes_or_talk_http() -> None:
    starts = set()
    http = set()
    for path in PACKAGE.rglob("*.py"):
        imported = imports_of(path)
        if {"subprocess", "multiprocessing", "os.system"} & imported:
            starts.add(module_name(path))
        if any(i.split(".")[0] in ("urllib3", "http", "socket", "ssl") for i in imported):
            http.add(module_name(path))
        assert "pip" not in {i.split(".")[0] for i in imported}, f"{path} imports pip"
    assert starts == set(STARTS_PROCESSES)
    assert http == {"net.http", "net.tls"}  # http.py speaks it; tls.py loads its CAs


def test_modules_and_folders_stay_small() -> None:
    # about 400 lines a module and 10 modules a folder (commands/: one module per command)
    too_long = {
        module_name(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text("utf-8").splitlines())) > 420
    }
    assert too_long == {}
    crowded = {
        d.name: n
        for d in [PACKAGE, *(d for d in PACKAGE.iterdir() if d.is_dir())]
        if (n := len([p for p in d.glob("*.py") if p.name != "__init__.py"])) > 11
    }
    assert crowded == {}


# --- what the hooks load ------------------------------------------------------------------------

NOT_LOADED_BY_HOOKS = (
    "resolvelib",
    "urllib3",
    "tomlkit",
    "concurrent.futures",
    "safeinstall.index",
    "safeinstall.net",
    "safeinstall.resolve",
    "safeinstall.build",
    "safeinstall.environment",
    "safeinstall.install",
    "safeinstall.audit",
    "safeinstall.report",
    "safeinstall.lock.make",  # `lock --check` reads the digest helpers only
    "safeinstall.files.atomic",  # writing a lock: `lock --check` writes nothing
)


def _loaded(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, set[str], str]:
    code = (
        "import sys\n"
        "from safeinstall.cli import main\n"
        f"code = main({argv!r})\n"
        "sys.stderr.write('\\n--modules--\\n' + str(code) + '\\n')\n"
        "sys.stderr.write('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {
        "PYTHONPATH": str(ROOT),
        "PIP_CONFIG_FILE": "/dev/null",
        "PATH": "/usr/bin:/bin",
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    err, _, listing = done.stderr.partition("\n--modules--\n")
    first, *modules = listing.splitlines()
    return int(first), set(modules), err


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--policy", str(EVERY_KEY), "requirements.txt", "requirements.in"],
        ["check", "--policy", str(EVERY_KEY), "pylock.toml", "pyproject.toml"],
        ["lock", "--policy", str(EVERY_KEY), "--check"],
    ],
    ids=["check-requirements", "check-pylock-pyproject", "lock-check"],
)
def test_the_hooks_load_nothing_of_the_network_resolver_or_builds(
    tmp_path: Path, argv: list[str]
) -> None:
    from safeinstall.lock.model import to_requirements_txt
    from safeinstall.lock.pylock import to_pylock_toml
    from tests.support.lockdata import sample_lock

    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.in").write_text("requests>=2\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["idna"]\n')
    lock = sample_lock()
    (tmp_path / "requirements.txt").write_text(to_requirements_txt(lock, "safeinstall lock", "0"))
    (tmp_path / "pylock.toml").write_text(to_pylock_toml(lock))
    code, modules, err = _loaded(argv, tmp_path)
    assert code in (0, 1), err  # findings are fine; what matters is what got loaded
    loaded = sorted(
        m for m in modules for bad in NOT_LOADED_BY_HOOKS if m == bad or m.startswith(bad + ".")
    )
    assert loaded == []
    assert "Traceback" not in err


TREEHERDER = ROOT / "bench" / "locks" / "treeherder"  # a real lock, names off the popular list
RELOCK = ["requirements.in", "-o", "requirements.txt", "--python-version", "3.13"]
# What a hook on that lock has no use for either: its pins (with extras too), its inputs' pins and
# its `# environment:` line are simple, and read without packaging's PEP 508 and marker parsers;
# its digests are CPython's own SHA-256, not hashlib's (OpenSSL's start-up).
NOT_LOADED_ON_THE_REAL_LOCK = (
    "packaging.requirements",
    "packaging.markers",
    "packaging._parser",
    "hashlib",
    "_hashlib",
)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "requirements.txt"], 0),
        (["lock", "--policy", str(TREEHERDER / "safeinstall.toml"), *RELOCK, "--check"], 0),
        (["lock", "--policy", str(EVERY_KEY), *RELOCK, "--check"], 1),  # stale under it
    ],
    ids=["check", "lock-check-fresh", "lock-check-stale"],
)
def test_the_hooks_on_a_real_lock_load_nothing_of_the_network_resolver_or_builds(
    tmp_path: Path, argv: list[str], expected: int
) -> None:
    """bench/locks/treeherder, as `safeinstall lock` wrote it: the look-alike rules run on its
    unlisted names, and `lock --check` reads inputs, policy, targets and the whole lock."""
    (tmp_path / ".git").mkdir()
    for name in ("requirements.in", "requirements.txt"):
        (tmp_path / name).write_bytes((TREEHERDER / name).read_bytes())
    code, modules, err = _loaded(argv, tmp_path)
    assert code == expected, err
    # a fresh lock prints no command to relock with: shlex only quotes that command
    fresh = ("shlex",) if expected == 0 else ()
    forbidden = (*NOT_LOADED_BY_HOOKS, *NOT_LOADED_ON_THE_REAL_LOCK, *fresh)
    loaded = sorted(m for m in modules for bad in forbidden if m == bad or m.startswith(bad + "."))
    assert loaded == []
    assert "Traceback" not in err


# What a lock of wheels written as requirements.txt has no use for: it builds nothing, its scan
# reads member lists (not code), and it writes no TOML.
NOT_LOADED_BY_A_WHEELS_LOCK = (
    "safeinstall.inspect.code",
    "safeinstall.inspect.names",
    "safeinstall.inspect.scan",
    "multiprocessing",
    "safeinstall.build.sdist",
    "safeinstall.build.hooks",
    "safeinstall.environment.sandbox",
    "safeinstall.lock.pylock",
    "packaging.pylock",
    "tomlkit",
)


def test_a_lock_of_wheels_loads_only_what_it_uses(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up is part of every lock: each step imports what it needs when it needs it."""
    proj = demo_project(tmp_path, index_server, cli, monkeypatch)
    argv = ["lock", "requirements.in", "-o", "requirements.txt", "--policy", str(proj.policy_path)]
    env = {"SAFEINSTALL_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    env["SAFEINSTALL_OSV_DB"] = os.environ["SAFEINSTALL_OSV_DB"]  # the offline malware records
    code, modules, err = _loaded(argv, proj.root, env)
    assert code == 0, err
    assert "demo==1.0" in (proj.root / "requirements.txt").read_text()
    loaded = sorted(
        m
        for m in modules
        for bad in NOT_LOADED_BY_A_WHEELS_LOCK
        if m == bad or m.startswith(bad + ".")
    )
    assert loaded == []


@pytest.mark.parametrize("lock_name", ["requirements.txt", "pylock.toml"])
def test_the_lock_diff_hook_loads_nothing_of_the_network_resolver_or_builds(
    tmp_path: Path, lock_name: str
) -> None:
    """`diff --staged` (safeinstall-lock-diff) reads two locks with git: the lock diff is its
    job (safeinstall.report.diff), the rest of the list holds."""
    from tests.support.locks import lock, package, write

    def git(*args: str) -> None:
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin"}
        env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True, capture_output=True)

    git("init", "-q")
    write(tmp_path / lock_name, lock(package("lib", "1.0")))
    git("add", lock_name)
    git("commit", "-qm", "first")
    write(tmp_path / lock_name, lock(package("lib", "1.1"), package("new", "1.0")))
    git("add", lock_name)
    code, modules, err = _loaded(["diff", "--staged", lock_name], tmp_path)
    assert code == 0, err
    allowed = ("safeinstall.report", "safeinstall.report.diff")
    loaded = sorted(
        m
        for m in modules
        for bad in NOT_LOADED_BY_HOOKS
        if (m == bad or m.startswith(bad + ".")) and m not in allowed
    )
    assert loaded == []
    assert "Traceback" not in err


# --- one voice -----------------------------------------------------------------------------------


def _literal(node: ast.expr) -> str | None:
    """The text of a string literal or f-string (placeholders as ``{}``), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        # the constant parts of an f-string are str
        return "".join(
            cast("str", v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
        )
    return None


def voice_problems(path: Path) -> list[str]:
    """Messages and hints given to an error that start with a capital (an acronym, a placeholder
    or an option excepted) or end with a full stop."""
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if not node.func.id.endswith("Error") or node.func.id == "ValueError":
            continue
        texts = [node.args[0]] if node.args else []
        texts += [k.value for k in node.keywords if k.arg == "hint"]
        for text in filter(None, map(_literal, texts)):
            first = text.split()[0] if text.split() else text
            capital = text[:1].isupper() and not first.isupper()
            if capital or (text.endswith(".") and not text.endswith("..")):
                out.append(f"{module_name(path)}:{node.lineno}: {text[:60]!r}")
    return out


def test_errors_speak_with_one_voice() -> None:
    found = [p for path in sorted(PACKAGE.rglob("*.py")) for p in voice_problems(path)]
    assert found == []
