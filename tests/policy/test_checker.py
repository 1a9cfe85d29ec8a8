"""The policy validators' character rules: sets that say what the expressions they replaced said."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeinstall import digests
from safeinstall.policy import checker, gates, keys, locations

# The validators test characters with sets, not compiled regular expressions (start-up time);
# each says exactly what the expression it replaced says.
_REPLACED = [
    (r"[A-Za-z0-9*?._-]+", lambda t: checker.spelled(t, checker._NAME_GLOB)),
    (r"[0-9a-fA-F]{64}", lambda t: digests.is_sha256(t.lower())),  # as gates checks it
    (
        r"[a-z][a-z0-9-]{0,31}",
        lambda t: checker.spelled(t, gates._STATUS, first=gates._LOWER) and len(t) <= 32,
    ),
    (r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", gates._project_name),
    (r"[^/\\\s.][^/\\\s]*\.pth", gates._pth_name),
    (
        r"[A-Za-z0-9][A-Za-z0-9._-]*",
        lambda t: checker.spelled(t, locations._INDEX_NAME, first=checker.ALNUM),
    ),
    (
        r"[A-Za-z0-9][A-Za-z0-9._:-]*",
        lambda t: checker.spelled(t, keys._ADVISORY_ID, first=checker.ALNUM),
    ),
]
_TRICKY = "aZ09*?._-:/\\ \t\n\x1cé\u212a\u017f.pth" + "f" * 3


@pytest.mark.parametrize(("pattern", "check"), _REPLACED, ids=[p for p, _ in _REPLACED])
@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=_TRICKY, max_size=70) | st.sampled_from(["a" * 64, "a.pth", "x" * 33]))
def test_set_validators_say_what_the_expressions_said(
    pattern: str, check: Callable[[str], bool], text: str
) -> None:
    assert bool(check(text)) is (re.fullmatch(pattern, text) is not None)


def test_canonical_glob_is_pep_503_normalisation() -> None:
    for glob in ("Acme_Lib*", "a.-_b", "X..Y", "*", "a--b__c"):
        assert checker.canonical_glob(glob) == re.sub(r"[-_.]+", "-", glob).lower()


@settings(max_examples=400, deadline=None)
@given(
    pattern=st.text(alphabet="ab-*?[]", max_size=6),
    name=st.text(alphabet="ab-\n", max_size=8),
)
def test_name_globs_match_what_fnmatch_matches(pattern: str, name: str) -> None:
    # one "*" is tested as a prefix and a suffix, without compiling fnmatch's translation
    import fnmatch

    from safeinstall.policy.model import _matcher

    assert _matcher(pattern)(name) is fnmatch.fnmatchcase(name, pattern)
