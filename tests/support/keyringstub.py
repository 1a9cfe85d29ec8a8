"""A stand-in ``keyring`` executable, put first on PATH, that answers ``keyring get SERVICE USER``
from a table and logs each call's arguments (never its answer) to ``calls.log``::

    stub = stub_keyring(tmp_path / "bin", {("https://127.0.0.1:8080/a/simple/", "ci"): "s3"})
    monkeypatch.setenv("PATH", f"{stub.parent}{os.pathsep}{os.environ['PATH']}")

Like keyring itself it exits 1 when it has no password. ``hang=True`` makes it wait for input
(a keyring that prompts), ``fail=True`` makes it crash.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

_SCRIPT = """#!{python}
import json, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
if {hang!r}:
    sys.stdin.read()
    import time
    time.sleep(60)
if {fail!r}:
    raise SystemExit("keyring: backend exploded")
table = {table!r}
if len(args) == 3 and args[0] == "get" and args[1] + "\\t" + args[2] in table:
    print(table[args[1] + "\\t" + args[2]])
    raise SystemExit(0)
raise SystemExit(1)
"""


def stub_keyring(
    bin_dir: Path,
    passwords: dict[tuple[str, str], str],
    *,
    hang: bool = False,
    fail: bool = False,
) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    table = {f"{service}\t{user}": password for (service, user), password in passwords.items()}
    path = bin_dir / "keyring"
    path.write_text(
        _SCRIPT.format(
            python=sys.executable, log=str(bin_dir / "calls.log"), hang=hang, fail=fail, table=table
        )
    )
    path.chmod(0o755)
    return path


def calls(bin_dir: Path) -> list[list[str]]:
    log = bin_dir / "calls.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
