"""A script of bench/ loaded as a module, as ``python bench/NAME.py`` would run it (its
neighbours, such as ``benchenv``, importable by name)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.support.paths import ROOT


def load_bench(name: str) -> ModuleType:
    """bench/``name``.py, registered under ``name`` (dataclasses look their module up)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "bench"))
