"""inspect/clobber.py against a plain reading of its rules: the findings, in order, for any
wheels installed together (the rule works on sets for speed; the plain reading scans)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import NormalizedName, canonicalize_name

from safeinstall.inspect.clobber import clobbering
from safeinstall.inspect.rules import Finding
from safeinstall.inspect.wheel import Layout

PATHS = st.sampled_from(
    [
        "site/a/__init__.py",
        "site/a/x.py",
        "site/a/sub/y.py",
        "site/A/x.py",
        "site/a.b/z.py",
        "site/b/__init__.py",
        "site/b/x.py",
        "site/top.py",
        "scripts/tool",
        "data/share/x",
    ]
)


@st.composite
def layouts(draw: st.DrawFn) -> list[Layout]:
    out = []
    for name in draw(st.lists(st.sampled_from("pqrs"), min_size=1, max_size=4, unique=True)):
        paths = tuple(draw(st.lists(PATHS, max_size=8)))
        tops = sorted({p.split("/")[1] for p in paths if p.endswith("/__init__.py")})
        requires = frozenset(
            canonicalize_name(r) for r in draw(st.lists(st.sampled_from("pqrs"), max_size=2))
        )
        package = NormalizedName(name)
        out.append(Layout(package, f"{name}-1.0.whl", paths, tuple(tops), (), requires))
    return out


def plain_reading(layouts: list[Layout]) -> list[Finding]:
    """clobber-path and clobber-package as written before they were made fast."""
    found = []
    writers: dict[str, Layout] = {}
    owners: dict[str, Layout] = {}
    for layout in layouts:
        for top in layout.import_packages:
            owners.setdefault(top, layout)
    for layout in layouts:
        for path in layout.paths:
            first = writers.setdefault(path.casefold(), layout)
            if first.package != layout.package:
                shown = path.removeprefix("site/") if path.startswith("site/") else None
                where = shown or f"<{path.split('/', 1)[0]}>/{path.split('/', 1)[1]}"
                why = f"{first.artifact} writes it too"
                found.append(
                    Finding("clobber-path", layout.package, layout.artifact, where, None, why)
                )
        for path in sorted({p for p in layout.paths if p.startswith("site/")}):
            top = path.split("/")[1]
            owner = owners.get(top)
            if (
                owner is not None
                and owner.package != layout.package
                and layout.package not in owner.requires
                and path not in owner.paths
            ):
                why = f"it writes into the package {top}, which {owner.artifact} owns"
                where = path.removeprefix("site/")
                found.append(
                    Finding("clobber-package", layout.package, layout.artifact, where, None, why)
                )
    return found


@settings(max_examples=300)
@given(layouts())
def test_the_fast_rules_find_what_the_plain_reading_finds_in_its_order(
    wheels: list[Layout],
) -> None:
    assert clobbering(wheels) == plain_reading(wheels)


def test_a_provider_writing_into_its_framework_is_found_file_by_file_in_path_order() -> None:
    framework = Layout(
        NormalizedName("a"), "a-1.0.whl", ("site/a/__init__.py", "site/a/x.py"), ("a",), ()
    )
    provider = Layout(
        NormalizedName("p"),
        "p-1.0.whl",
        ("site/a/z.py", "site/a/sub/y.py", "site/a/x.py", "site/a.b/z.py"),
        (),
        (),
    )
    found = clobbering([framework, provider])
    assert [(f.rule, f.file) for f in found] == [
        ("clobber-path", "a/x.py"),
        ("clobber-package", "a/sub/y.py"),
        ("clobber-package", "a/z.py"),
    ]
    assert found == plain_reading([framework, provider])
