from __future__ import annotations

import re
from datetime import timedelta

import pytest
from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.errors import IntegrityError, PolicyError, ResolutionError
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.policy.model import PackageRule, Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.resolver import Resolution, ResolvedPackage, resolve
from safeinstall.targets import target_for
from tests.support.fakeindex import NOW, FakeFinder

LINUX = target_for("3.12", "linux")
WINDOWS = target_for("3.12", "windows")


def roots(*reqs: str) -> list[Root]:
    return [Root(Requirement(r), f"requirements.in:{i}") for i, r in enumerate(reqs, 1)]


def run(finder: FakeFinder, *reqs: str, policy: Policy | None = None, **kw: object) -> Resolution:
    kw.setdefault("target", LINUX)
    return resolve(roots(*reqs), policy or Policy(), finder, now=NOW, **kw)  # type: ignore[arg-type]


def pins(res: Resolution) -> dict[str, str]:
    return {p.name: str(p.version) for p in res.packages}


def rule(raw: str) -> PackageRule:
    req = Requirement(raw)
    return PackageRule(raw, req.name, req.specifier)


def test_simple_graph_with_dependencies_and_via() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["lib>=2", "util"])
    f.add("lib", "1.0")
    f.add("lib", "2.0", ["util<2"])
    f.add("lib", "2.1", ["util<2"])
    f.add("util", "1.5")
    f.add("util", "2.0")
    res = run(f, "app")
    assert pins(res) == {"app": "1.0", "lib": "2.1", "util": "1.5"}
    by_name: dict[str, ResolvedPackage] = {p.name: p for p in res.packages}
    assert by_name["app"].dependencies == ("lib", "util")
    assert by_name["app"].via == ("requirements.in:1",)
    assert by_name["util"].via == ("app", "lib")
    assert [p.name for p in res.packages] == ["app", "lib", "util"]


def test_extras_pull_their_dependencies_at_the_same_version() -> None:
    f = FakeFinder()
    f.add("web", "1.0", ["fast; extra == 'speed'"], extras=["speed"])
    f.add("web", "2.0", ["fast; extra == 'speed'"], extras=["speed"])
    f.add("fast", "1.0")
    assert pins(run(f, "web")) == {"web": "2.0"}
    assert pins(run(f, "web[speed]<2")) == {"web": "1.0", "fast": "1.0"}


def test_markers_are_evaluated_against_the_target() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["winonly; sys_platform == 'win32'", "old; python_version < '3.10'"])
    f.add("winonly", "1.0")
    f.add("old", "1.0")
    assert pins(run(f, "app")) == {"app": "1.0"}
    assert pins(run(f, "app", target=WINDOWS)) == {"app": "1.0", "winonly": "1.0"}
    assert pins(run(f, "app ; sys_platform == 'darwin'")) == {}


def test_requires_python_of_files_and_metadata() -> None:
    f = FakeFinder()
    f.add("lib", "1.0")
    f.add("lib", "2.0", requires_python=">=3.13")
    assert pins(run(f, "lib")) == {"lib": "1.0"}
    with pytest.raises(ResolutionError, match=r"lib 2\.0: requires Python>=3\.13"):
        run(f, "lib==2.0")


def test_prereleases_only_when_named_or_allowed() -> None:
    f = FakeFinder()
    f.add("lib", "1.0")
    f.add("lib", "2.0rc1")
    assert pins(run(f, "lib")) == {"lib": "1.0"}
    assert pins(run(f, "lib>=2.0rc1")) == {"lib": "2.0rc1"}
    assert pins(run(f, "lib", policy=Policy(prereleases=("lib",)))) == {"lib": "2.0rc1"}
    with pytest.raises(ResolutionError, match="a prerelease"):
        run(f, "lib>1.0")


def test_yanked_refused_unless_pinned_and_allowed_with_a_reason() -> None:
    f = FakeFinder()
    f.add("lib", "1.0")
    f.add("lib", "1.1", yanked="broken build")
    assert pins(run(f, "lib")) == {"lib": "1.0"}
    with pytest.raises(ResolutionError, match=r"lib 1\.1: yanked \(broken build\)"):
        run(f, "lib==1.1")
    allowed = Policy(yanked=((rule("lib==1.1"), "we need the fix in 1.1"),))
    with pytest.raises(ResolutionError, match="yanked"):
        run(f, "lib>=1.1", policy=allowed)  # not pinned with ==
    res = run(f, "lib==1.1", policy=allowed)
    assert pins(res) == {"lib": "1.1"}
    assert res.packages[0].yanked == "we need the fix in 1.1"


def test_min_release_age_uses_the_earliest_upload_of_a_version() -> None:
    f = FakeFinder()
    f.add("lib", "1.0")
    f.add("lib", "2.0", uploaded=NOW - timedelta(days=2))
    f.add("lib", "3.0", tags=["py3-none-any"], uploaded=NOW - timedelta(days=30))
    f.add("lib", "3.0", tags=["cp312-cp312-manylinux_2_17_x86_64"], uploaded=NOW)
    week = Policy(min_release_age=timedelta(days=7))
    assert pins(run(f, "lib", policy=week)) == {"lib": "3.0"}
    with pytest.raises(ResolutionError, match=r"lib 2\.0: uploaded 2026-05-30.*min-release-age"):
        run(f, "lib==2.0", policy=week)
    assert pins(run(f, "lib==2.0")) == {"lib": "2.0"}


def test_min_release_age_fails_closed_without_upload_times() -> None:
    f = FakeFinder()
    f.add("lib", "1.0", uploaded=None)
    assert pins(run(f, "lib")) == {"lib": "1.0"}
    with pytest.raises(PolicyError, match="does not say when its files were uploaded"):
        run(f, "lib", policy=Policy(min_release_age=timedelta(days=7)))


def test_denied_transitive_package_names_who_pulls_it_in() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["middle"])
    f.add("middle", "1.0", ["evil-pkg"])
    f.add("evil-pkg", "1.0")
    policy = Policy(deny=(PackageRule("evil-*", "evil-*"),))
    with pytest.raises(ResolutionError) as exc:
        run(f, "app", policy=policy)
    text = exc.value.message
    assert "evil-pkg (from middle 1.0 <- app 1.0 <- requirements.in:1) wants any version" in text
    assert "evil-pkg 1.0: denied by the policy (evil-*)" in text


def test_allow_list_applies_to_transitive_packages() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["other"])
    f.add("other", "1.0")
    with pytest.raises(ResolutionError, match=r"other 1\.0: not on the allow list"):
        run(f, "app", policy=Policy(allow=(rule("app"),)))
    assert pins(run(f, "app", policy=Policy(allow=(rule("app"), rule("other"))))) == {
        "app": "1.0",
        "other": "1.0",
    }


def test_sdists_only_when_the_policy_allows_building() -> None:
    f = FakeFinder()
    f.add("lib", "1.0")
    f.add("lib", "2.0", tags=[], sdist=True)
    f.add("both", "1.0", sdist=True)
    assert pins(run(f, "lib")) == {"lib": "1.0"}
    with pytest.raises(ResolutionError, match="only an sdist"):
        run(f, "lib==2.0")
    res = run(f, "lib", "both", policy=Policy(sdists=("lib", "both")))
    assert pins(res) == {"both": "1.0", "lib": "2.0"}
    files: dict[str, list[str]] = {p.name: [x.filename for x in p.files] for p in res.packages}
    assert files["both"] == ["both-1.0-py3-none-any.whl", "both-1.0.tar.gz"]
    assert [x.filename for x in run(f, "both").packages[0].files] == ["both-1.0-py3-none-any.whl"]


def test_wheel_tags_must_fit_the_target_and_files_are_best_first() -> None:
    f = FakeFinder()
    f.add("native", "1.0", tags=["cp312-cp312-win_amd64"])
    f.add("native", "2.0", tags=["cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-win_amd64"])
    f.add("native", "2.0", tags=["py3-none-any", "cp312-abi3-manylinux_2_28_x86_64"])
    res = run(f, "native")
    assert [x.filename for x in res.packages[0].files] == [
        "native-2.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "native-2.0-cp312-abi3-manylinux_2_28_x86_64.whl",
        "native-2.0-py3-none-any.whl",
    ]
    with pytest.raises(ResolutionError, match=r"native 1\.0: no wheel for cp3\.12-linux-x86_64"):
        run(f, "native<2")


def test_conflict_explains_each_requirement_and_its_parent() -> None:
    f = FakeFinder()
    f.add("a", "1.0", ["shared>=2"])
    f.add("b", "1.0", ["shared<2"])
    f.add("shared", "1.0")
    f.add("shared", "2.0")
    with pytest.raises(ResolutionError) as exc:
        run(f, "a", "b")
    lines = exc.value.message.splitlines()
    assert lines[0] == "no set of versions satisfies the requirements on cp3.12-linux-x86_64:"
    assert "  shared (from a 1.0 <- requirements.in:1) wants >=2" in lines
    assert "  shared (from b 1.0 <- requirements.in:2) wants <2" in lines


def test_unknown_project_is_reported() -> None:
    with pytest.raises(ResolutionError, match="nothing: the index lists no files for it"):
        run(FakeFinder(), "nothing")


def test_preferred_pins_are_kept_unless_upgrading() -> None:
    f = FakeFinder()
    for v in ("1.0", "1.1", "2.0"):
        f.add("lib", v)
        f.add("tool", v)
    old = {NormalizedName("lib"): Version("1.1"), NormalizedName("tool"): Version("1.0")}
    assert pins(run(f, "lib", "tool", preferred=old)) == {"lib": "1.1", "tool": "1.0"}
    assert pins(run(f, "lib", "tool", preferred=old, upgrade=True)) == {"lib": "2.0", "tool": "2.0"}
    partial = run(f, "lib", "tool", preferred=old, upgrade={NormalizedName("tool")})
    assert pins(partial) == {"lib": "1.1", "tool": "2.0"}
    # a preferred pin that no longer fits the requirements gives way
    assert pins(run(f, "lib>=2", preferred=old)) == {"lib": "2.0"}


def test_metadata_that_names_another_project_is_refused() -> None:
    f = FakeFinder()
    f.add("lib", "1.0")
    f.add("other", "9.9")
    lib, other = NormalizedName("lib"), NormalizedName("other")
    f.meta[(lib, Version("1.0"))] = f.meta[(other, Version("9.9"))]
    with pytest.raises(IntegrityError, match=r"names other 9\.9"):
        run(f, "lib")


def test_direct_url_dependency_is_refused() -> None:
    f = FakeFinder()
    f.add("lib", "1.0", ["evil @ https://example.com/evil-1.0-py3-none-any.whl"])
    with pytest.raises(PolicyError, match="direct URL"):
        run(f, "lib")
    with pytest.raises(ResolutionError, match="direct URL"):
        run(f, "x @ https://example.com/x-1.0-py3-none-any.whl")


def test_prefetch_walks_ahead_from_the_roots_to_the_likely_candidates() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["lib", "win-only; sys_platform == 'win32'"])
    f.add("lib", "1.0")
    f.add("lib", "2.0", ["util"])
    f.add("util", "1.0")
    f.add("win-only", "1.0")
    run(f, "app")
    # the roots first, then each likely candidate's dependencies (markers for the target only)
    wanted = ["app-1.0-py3-none-any.whl", "lib-2.0-py3-none-any.whl", "util-1.0-py3-none-any.whl"]
    assert [x.filename for x in f.prefetched] == wanted


def test_prefetch_follows_the_extras_asked_for() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["lib[fast]"])
    f.add("lib", "1.0", ["speedup; extra == 'fast'", "docs-only; extra == 'docs'"])
    f.add("speedup", "1.0")
    f.add("docs-only", "1.0")
    assert pins(run(f, "app")) == {"app": "1.0", "lib": "1.0", "speedup": "1.0"}
    prefetched = {x.filename for x in f.prefetched}
    assert "speedup-1.0-py3-none-any.whl" in prefetched
    assert "docs-only-1.0-py3-none-any.whl" not in prefetched


def test_prefetch_takes_the_newest_version_the_requirement_allows() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["lib<2"])
    f.add("lib", "1.5")
    f.add("lib", "2.0")
    run(f, "app==1.0")
    assert [x.filename for x in f.prefetched] == [
        "app-1.0-py3-none-any.whl",
        "lib-1.5-py3-none-any.whl",
    ]


def test_prefetch_takes_the_version_already_pinned_in_the_lock() -> None:
    f = FakeFinder()
    f.add("lib", "1.0")
    f.add("lib", "2.0")
    res = run(f, "lib", preferred={NormalizedName("lib"): Version("1.0")})
    assert pins(res) == {"lib": "1.0"}
    assert [x.filename for x in f.prefetched] == ["lib-1.0-py3-none-any.whl"]


def test_license_not_on_the_allow_list_is_refused_and_explained() -> None:
    f = FakeFinder()
    f.add("app", "1.0", ["lib"], license="MIT")
    f.add("lib", "1.0", license="MIT OR GPL-3.0-only")
    f.add("lib", "2.0", license="GPL-3.0-only")
    f.add("lib", "3.0")  # no license information at all
    policy = Policy(licenses=("MIT", "Apache-2.0"))
    res = run(f, "app", policy=policy)
    assert pins(res) == {"app": "1.0", "lib": "1.0"}
    assert {p.name: p.license for p in res.packages} == {"app": "MIT", "lib": "MIT OR GPL-3.0-only"}
    with pytest.raises(ResolutionError) as err:
        run(f, "app", "lib>=2", policy=policy)
    assert "lib 2.0: its license GPL-3.0-only is not on the policy's licenses.allow list" in str(
        err.value
    )
    assert "lib 3.0: its license is unknown" in str(err.value)


def test_license_is_recorded_without_a_license_policy() -> None:
    f = FakeFinder()
    f.add("app", "1.0", license="GPL-3.0-only")
    f.add("app", "2.0", license="apache-2.0")
    res = run(f, "app")
    assert [(p.name, str(p.version), p.license) for p in res.packages] == [
        ("app", "2.0", "Apache-2.0")
    ]


def test_license_check_reads_metadata_only_of_versions_tried() -> None:
    f = FakeFinder()
    for minor in range(10):
        f.add("lib", f"1.{minor}", license="MIT")
    res = run(f, "lib", policy=Policy(licenses=("MIT",)))
    assert pins(res) == {"lib": "1.9"}
    assert {v for _, v in f.metadata_read} == {Version("1.9")}


def test_a_release_without_files_of_its_own_is_passed_over_with_a_reason() -> None:
    f = FakeFinder()
    f.add("lib", "1.0")
    listed = f.project

    def project(name: NormalizedName) -> ProjectPage:
        page = listed(name)
        empty = Version("2.0")  # a release whose entries all named other projects

        def load(version: Version) -> tuple[DistFile, ...]:
            return () if version == empty else page.files_of(version)

        return ProjectPage(page.project, page.index, (), lazy=({*page.releases(), empty}, load))

    f.project = project  # type: ignore[method-assign]
    assert pins(run(f, "lib")) == {"lib": "1.0"}
    with pytest.raises(
        ResolutionError, match=re.escape("lib 2.0: the index lists no file of this project")
    ):
        run(f, "lib>=2")


def test_a_python_conflict_names_only_the_requires_python_that_excludes_the_target() -> None:
    """Only a Requires-Python the target's Python fails becomes a requirement on <python>: one
    it meets cannot constrain anything (so resolvelib need not check it again every round), and
    a conflict message must not list it as a cause."""
    f = FakeFinder()
    f.add("app", "1.0", ["native==2.0", "old"], requires_python=">=3.9")
    f.add("old", "1.0", requires_python=">=3.8")
    f.add("native", "2.0")  # its metadata alone says it needs 3.13 (the page says nothing)
    raw = {"metadata_version": "2.3", "name": "native", "version": "2.0"}
    f.meta[(NormalizedName("native"), Version("2.0"))] = Metadata.from_raw(
        {**raw, "requires_python": ">=3.13"}  # type: ignore[typeddict-item]
    )
    with pytest.raises(ResolutionError) as exc:
        run(f, "app")
    message = exc.value.message
    assert "needs Python>=3.13" in message
    assert ">=3.8" not in message and ">=3.9" not in message


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("lib==1.0", "lib-1.0.0"),  # == pads with zeros
        ("lib==1.0.0.0", "lib-1.0.0"),
        ("lib==1.0.post1", "lib-1.0.post1"),
        ("lib===1.0.0", "lib-1.0.0"),
        ("lib<2", "lib-1.5"),  # below the bound, not 2.0 nor its prerelease
        ("lib<2.0.1,>=1.5,!=2.0", "lib-1.5"),
        ("lib<1.0.0", "lib-0.9"),
        ("lib>=1,<3", "lib-2.0"),
    ],
)
def test_prefetch_finds_the_likely_version_under_pins_and_upper_bounds(
    wanted: str, expected: str
) -> None:
    """The likely version of a pin or an upper-bounded requirement is found without judging
    every release (a resolver stepping back through ~900 releases asks for each step's)."""
    f = FakeFinder()
    f.add("app", "1.0", [wanted])
    for version in ("0.9", "1.0.0", "1.0.post1", "1.5", "2.0rc1", "2.0", "3.0"):
        f.add("lib", version)
    run(f, "app==1.0")
    assert [x.filename for x in f.prefetched][1] == f"{expected}-py3-none-any.whl"


def test_each_pin_is_checked_against_its_requirements_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """resolvelib re-checks every pin at every round; the check is remembered per (criterion,
    pin) (resolve/engine.py), so a lock of n packages asks about n-ish pairs, not n^2."""
    from safeinstall.resolve import engine, resolver

    assert engine.MEMO  # the resolvelib in use has the internals the memo relies on
    asked: list[object] = []
    real = resolver._Provider.is_satisfied_by

    def counting(self: object, requirement: object, candidate: object) -> bool:
        asked.append(candidate)
        return real(self, requirement, candidate)  # type: ignore[arg-type]

    monkeypatch.setattr(resolver._Provider, "is_satisfied_by", counting)
    f = FakeFinder()
    names = [f"lib{i:02}" for i in range(40)]
    f.add("app", "1.0", names)
    for name in names:
        f.add(name, "1.0")
    assert len(pins(run(f, "app"))) == 41
    assert len(asked) < 200
