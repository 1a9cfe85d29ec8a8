"""Where the suite finds things: the repository, its test data, the wheelhouse of dev deps."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
# Wheels of every dev/test dependency, downloaded hash-checked by .ci/run; tests that install this
# project into a new environment (pre-commit hooks) take its dependencies from there, offline.
WHEELHOUSE = Path(os.environ.get("SAFEINSTALL_TEST_WHEELHOUSE") or ROOT / ".ci" / "wheelhouse")
