"""A virtual environment into which a hostile package has put ``keyring``, ``unshare`` and ``true``
scripts (console scripts of any name are a wheel's to choose). Each touches a marker next to the
environment when run, and "succeeds": the keyring prints a password, unshare exits 0 without
cutting anything::

    venv = planted_venv(tmp_path / "target")
    monkeypatch.setenv("PATH", f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    ...
    assert ran(venv) == []
"""

from __future__ import annotations

from pathlib import Path

PLANTED = ("keyring", "unshare", "true")
_SCRIPT = '#!/bin/sh\ntouch "{marker}"\n{rest}\n'
_REST = {"keyring": "echo planted-password", "unshare": "exit 0", "true": "exit 0"}


def planted_venv(prefix: Path, *, pyvenv_cfg: bool = True) -> Path:
    """``prefix`` made a venv-like directory (``pyvenv.cfg`` unless told not) whose ``bin/``
    holds the planted programs; returns ``prefix``."""
    bin_dir = prefix / "bin"
    bin_dir.mkdir(parents=True)
    if pyvenv_cfg:
        (prefix / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for name in PLANTED:
        script = bin_dir / name
        marker = prefix.parent / f"ran-{prefix.name}-{name}"
        script.write_text(_SCRIPT.format(marker=marker, rest=_REST[name]))
        script.chmod(0o755)
    return prefix


def ran(prefix: Path) -> list[str]:
    """The planted programs of ``prefix`` that were run."""
    return [n for n in PLANTED if (prefix.parent / f"ran-{prefix.name}-{n}").exists()]
