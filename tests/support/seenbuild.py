"""Run a hostile in-tree backend through the real build hooks and read what it saw.

The sandbox tests' backends write ``seen.json`` (what they found or managed inside the sandbox)
next to the metadata directory they return; this runs one and hands that back.
"""

from __future__ import annotations

import json
from pathlib import Path

from safeinstall.build.hooks import run_hooks


def build_seen(tmp_path: Path, source: Path, backend: str, **kwargs: object) -> dict[str, object]:
    """Run ``prepare_metadata_for_build_wheel`` of ``source/backend/<backend>.py`` in the sandbox
    (``kwargs`` go to ``run_hooks``) and return the backend's ``seen.json``."""
    env, out = tmp_path / "env", tmp_path / "out"
    env.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    result = run_hooks(
        source,
        backend,
        [source / "backend"],
        env,
        out,
        proceed=lambda requires: True,
        what="hostile-1.0.tar.gz",
        **kwargs,  # type: ignore[arg-type]
    )
    assert result.output == out / "hostile-1.0.dist-info"
    seen: dict[str, object] = json.loads((out / "seen.json").read_text())
    return seen
