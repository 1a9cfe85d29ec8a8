"""The environment every benchmarked tool runs in: no user configuration, its own caches."""

from __future__ import annotations

import os
from pathlib import Path

POLICIES = Path(__file__).resolve().parent / "policies"


def clean_env(cache: Path) -> dict[str, str]:
    """No PIP_*/UV_*/SAFEINSTALL_* settings or pip config file; every tool caches under ``cache``
    (emptied for a cold run, kept for a warm one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "SAFEINSTALL_"))}
    # an installed tool has its bytecode: without this, a session that sets it makes every run
    # of a Python tool compile its sources again (~0.5 s of CPU for safeinstall's lock)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        XDG_CACHE_HOME=str(cache),
        PIP_CACHE_DIR=str(cache / "pip"),
        UV_CACHE_DIR=str(cache / "uv"),
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",  # no tool fetches an interpreter: each uses python3.X on PATH
    )
    return env


def bench_policy(name: str, work: Path, policies: Path = POLICIES) -> Path:
    """The set's policy (``policies``/SET.toml, else the default), and: go on without the
    known-malware check when its service cannot be reached (a warning), as on a machine whose
    only way out is the package index. Where it can be reached, the check runs and is timed."""
    own = policies / f"{name}.toml"
    text = own.read_text() if own.exists() else ""
    if not any(line.startswith("malware") for line in text.splitlines()):
        text += '\nmalware = { unreachable = "warn" }\n'
    policy = work / "safeinstall.toml"
    policy.write_text(text)
    return policy
