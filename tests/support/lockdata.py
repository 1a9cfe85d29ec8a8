"""A Lock made from a real resolution over the fake index, for the lock writer tests."""

from __future__ import annotations

from packaging.requirements import Requirement

from safeinstall.lock.make import from_resolution
from safeinstall.lock.model import Lock, input_digest
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.merge import resolve_targets
from safeinstall.targets import target_for
from tests.support.fakeindex import NOW, FakeFinder

TARGETS = (target_for("3.12", "linux"), target_for("3.12", "windows"))


def sample_lock(index_url: str = "https://user:secret@pkgs.example.com/simple") -> Lock:
    f = FakeFinder(index="internal")
    f.add("app", "1.0", ["colorama; sys_platform == 'win32'", "native"], license="MIT")
    f.add("colorama", "0.4.6", sdist=True)
    f.add(
        "native",
        "2.0",
        license="Apache-2.0 OR BSD-3-Clause",
        tags=[
            "cp312-cp312-manylinux_2_17_x86_64",
            "cp312-cp312-win_amd64",
            "cp312-cp312-macosx_11_0_arm64",
        ],
    )
    roots = [Root(Requirement("app"), "requirements.in:1")]
    res = resolve_targets(roots, Policy(sdists=("colorama",)), f, TARGETS, now=NOW)
    digest = input_digest([b"app\n"], None, TARGETS, "0.1.0")
    return from_resolution(res, digest, {"internal": index_url})
