"""The policy: which indexes are trusted, which packages are allowed, what may be built.

Loaded from ``[tool.safeinstall]`` in pyproject.toml or from ``safeinstall.toml``; with no file, the
built-in default: the indexes pip is configured with, no sdists, no yanked, no prereleases.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable
from datetime import date, timedelta

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.frozen import Frozen, _set

# scalar keys a SAFEINSTALL_* variable may override, applied after the file (``keys.py``); here so
# that finding none set (the hook's usual case) needs no key validator
ENV_OVERRIDES = {
    "SAFEINSTALL_MIN_RELEASE_AGE": "min-release-age",
    "SAFEINSTALL_SDISTS": "sdists",
    "SAFEINSTALL_PRERELEASES": "prereleases",
    "SAFEINSTALL_YANKED": "yanked",
}


def _glob(pattern: str, name: str) -> bool:
    return _matcher(pattern)(canonicalize_name(name))


@functools.lru_cache(maxsize=512)
def _matcher(pattern: str) -> Callable[[str], bool]:
    """A test of canonical names against a glob, made once per pattern: a plain name compares
    equal, one ``*`` (``acme-*``, ``*-nightly``) is a prefix and a suffix, anything else is
    fnmatch's translation (what fnmatchcase does on every call; compiling it costs the hook)."""
    if not any(c in pattern for c in "*?["):
        return pattern.__eq__
    if "?" not in pattern and "[" not in pattern and pattern.count("*") == 1:
        head, tail = pattern.split("*")
        least = len(head) + len(tail)  # "*" matches any characters, none included
        return lambda name: len(name) >= least and name.startswith(head) and name.endswith(tail)
    match = re.compile(fnmatch.translate(pattern)).match
    return lambda name: match(name) is not None


class IndexSpec(Frozen):
    """A trusted index. With ``packages`` it serves only those names, and they come only from it."""

    __slots__ = ("file_hosts", "flat", "insecure", "name", "packages", "url")
    name: str
    url: str  # normalized: no credentials, no trailing slash
    packages: tuple[str, ...]  # glob patterns over canonical names
    # hosts (besides the index's own) that its listings may point artifact URLs to
    file_hosts: tuple[str, ...]
    insecure: bool  # plain http to a non-loopback host, allowed explicitly by the policy
    flat: bool  # a find-links folder: one directory of every project's files, no pages

    def __init__(  # noqa: PLR0917 - the fields, in order
        self,
        name: str,
        url: str,
        packages: tuple[str, ...] = (),
        file_hosts: tuple[str, ...] = (),
        insecure: bool = False,
        flat: bool = False,
    ) -> None:
        _set(self, "name", name)
        _set(self, "url", url)
        _set(self, "packages", packages)
        _set(self, "file_hosts", file_hosts)
        _set(self, "insecure", insecure)
        _set(self, "flat", flat)

    def serves(self, name: str) -> bool:
        return any(_glob(p, name) for p in self.packages)


class PackageRule(Frozen):
    """``pattern`` (a glob over canonical names) with an optional version specifier."""

    __slots__ = ("pattern", "raw", "specifier")
    raw: str
    pattern: str
    specifier: SpecifierSet

    def __init__(self, raw: str, pattern: str, specifier: SpecifierSet | None = None) -> None:
        _set(self, "raw", raw)
        _set(self, "pattern", pattern)
        _set(self, "specifier", SpecifierSet() if specifier is None else specifier)

    def matches(self, name: str, version: Version | None = None) -> bool:
        return self.matches_canonical(canonicalize_name(name), version)

    def matches_canonical(self, canon: str, version: Version | None = None) -> bool:
        if not _matcher(self.pattern)(canon):
            return False
        if version is None or not self.specifier:
            return True
        return self.specifier.contains(version, prereleases=True)


class AuditIgnore(Frozen):
    """A known vulnerability accepted for a while: ``id`` (or an alias of it), why, until when."""

    __slots__ = ("id", "reason", "until")
    id: str
    reason: str
    until: date  # the last day the ignore applies

    def __init__(self, id: str, reason: str, until: date) -> None:
        _set(self, "id", id)
        _set(self, "reason", reason)
        _set(self, "until", until)

    def active(self, today: date) -> bool:
        return today <= self.until


# the built-in start-up file rules (install/startup.py): what `startup-files = ["default"]` means
STARTUP_BUILTINS = ("setuptools", "coverage", "editable")


class StartupFile(Frozen):
    """A start-up ``.pth`` file a policy allows (``startup-files``): ``owner``'s ``file`` in
    site-packages, with exactly the bytes whose sha256 is ``sha256``."""

    __slots__ = ("file", "owner", "sha256")
    owner: str  # canonical name of the distribution whose RECORD lists it
    file: str  # its name in site-packages
    sha256: str  # lower-case hex

    def __init__(self, owner: str, file: str, sha256: str) -> None:
        _set(self, "owner", owner)
        _set(self, "file", file)
        _set(self, "sha256", sha256)


# PEP 792 statuses an index may give a project, and what the built-in policy does with each
# ("active" is always allowed; a status the policy does not name is denied: fail closed)
STATUS_ACTIONS = ("deny", "warn", "allow")
STATUS_DEFAULTS = (("archived", "warn"), ("deprecated", "warn"), ("quarantined", "deny"))


class MalwareGate(Frozen):
    """The known-malware gate (``malware = { ... }``; enforced by ``audit/malware.py``).

    ``db``: an offline OSV database (zip or directory), relative to the policy file; when set (or
    ``SAFEINSTALL_OSV_DB`` is), only it is read. Else, with ``api``, the OSV API at ``osv_url``
    (None: OSV's own) is asked. With neither, the gate is off. ``unreachable``: what an API that
    cannot be asked means, "fail" (refuse) or "warn" (go on, and say so).
    """

    __slots__ = ("api", "db", "osv_url", "unreachable")
    db: str | None
    api: bool
    osv_url: str | None
    unreachable: str

    def __init__(
        self,
        db: str | None = None,
        api: bool = True,
        osv_url: str | None = None,
        unreachable: str = "fail",
    ) -> None:
        _set(self, "db", db)
        _set(self, "api", api)
        _set(self, "osv_url", osv_url)
        _set(self, "unreachable", unreachable)


MALWARE_DEFAULT = MalwareGate()


class InspectPolicy(Frozen):
    """The ``inspect`` key: rule ids (``inspect/rules.py``) moved to ``block`` or ``warn``, and
    per package the rules whose findings are dropped (``allow``). The start-up ``.pth`` rule
    takes its allowances from ``startup_files`` only, as ``verify`` does."""

    __slots__ = ("allow", "block", "warn")
    block: tuple[str, ...]
    warn: tuple[str, ...]
    allow: tuple[tuple[str, tuple[str, ...]], ...]  # (canonical name, rule ids)

    def __init__(
        self,
        block: tuple[str, ...] = (),
        warn: tuple[str, ...] = (),
        allow: tuple[tuple[str, tuple[str, ...]], ...] = (),
    ) -> None:
        _set(self, "block", block)
        _set(self, "warn", warn)
        _set(self, "allow", allow)


INSPECT_DEFAULT = InspectPolicy()


class Policy(Frozen):
    """The rules in force (see ``safeinstall.policy.load``); defaults: the built-in policy.

    A Frozen value, not a dataclass (start-up time: a dataclass of this many fields costs the hook
    path more than reading its policy); ``frozen.replace`` makes a changed copy."""

    __slots__ = (
        "allow",
        "allow_fresh",
        "audit_ignores",
        "build_sandbox",
        "cooldown_exempt",
        "cooldown_exempt_indexes",
        "deny",
        "direct_references",
        "environments",
        "find_links",
        "indexes",
        "inspect",
        "keyring",
        "licenses",
        "malware",
        "min_release_age",
        "prereleases",
        "project_status",
        "same_versions",
        "sdists",
        "source",
        "startup_files",
        "trusted_hosts",
        "yanked",
    )

    source: str | None  # the file it came from; None for the built-in default
    # None: the indexes pip is configured with (pipconfig.trusted_indexes() looks them up)
    indexes: tuple[IndexSpec, ...] | None
    find_links: tuple[str, ...]  # trusted --find-links locations
    trusted_hosts: tuple[str, ...]  # hosts a requirement file may name in --trusted-host
    allow: tuple[PackageRule, ...] | None  # None: no allow list
    deny: tuple[PackageRule, ...]
    sdists: tuple[str, ...]  # name globs that may be built from sdists; ("*",) = all
    yanked: tuple[tuple[PackageRule, str], ...]  # (name==version rule, reason) allowed
    prereleases: tuple[str, ...]  # name globs that may resolve to prereleases
    min_release_age: timedelta
    licenses: tuple[str, ...] | None  # allowed SPDX ids; None: any
    environments: tuple[str, ...]  # PEP 508 marker expressions; () = the running interpreter
    direct_references: tuple[str, ...]  # name globs allowed as URL/VCS/path requirements
    audit_ignores: tuple[AuditIgnore, ...]  # `safeinstall audit` findings accepted for now
    same_versions: bool  # a lock whose targets get different versions is an error
    # .pth files that run code and may: built-in rule names (STARTUP_BUILTINS) and exact files
    startup_files: tuple[str | StartupFile, ...]
    build_sandbox: str  # "warn": build even where the network cannot be cut
    # "subprocess": index passwords from the keyring command; "disabled": never; None: pip's
    # keyring-provider decides (net/settings.py)
    keyring: str | None
    malware: MalwareGate  # on by default: the OSV API, failing closed
    project_status: tuple[tuple[str, str], ...]  # (status, deny|warn|allow)
    # min-release-age does not apply to these name globs, nor to files from these indexes
    cooldown_exempt: tuple[str, ...]
    cooldown_exempt_indexes: tuple[str, ...]
    # `lock --allow-fresh PKG`: (rule, who and why) let inside the min-release-age window
    allow_fresh: tuple[tuple[PackageRule, str], ...]
    inspect: InspectPolicy  # what the artifact scanner blocks, warns, allows

    def __init__(  # a keyword argument per field, as the dataclass took
        self,
        *,
        source: str | None = None,
        indexes: tuple[IndexSpec, ...] | None = None,
        find_links: tuple[str, ...] = (),
        trusted_hosts: tuple[str, ...] = (),
        allow: tuple[PackageRule, ...] | None = None,
        deny: tuple[PackageRule, ...] = (),
        sdists: tuple[str, ...] = (),
        yanked: tuple[tuple[PackageRule, str], ...] = (),
        prereleases: tuple[str, ...] = (),
        min_release_age: timedelta = timedelta(0),
        licenses: tuple[str, ...] | None = None,
        environments: tuple[str, ...] = (),
        direct_references: tuple[str, ...] = (),
        audit_ignores: tuple[AuditIgnore, ...] = (),
        same_versions: bool = False,
        startup_files: tuple[str | StartupFile, ...] = STARTUP_BUILTINS,
        build_sandbox: str = "require",
        keyring: str | None = None,
        malware: MalwareGate = MALWARE_DEFAULT,
        project_status: tuple[tuple[str, str], ...] = STATUS_DEFAULTS,
        cooldown_exempt: tuple[str, ...] = (),
        cooldown_exempt_indexes: tuple[str, ...] = (),
        allow_fresh: tuple[tuple[PackageRule, str], ...] = (),
        inspect: InspectPolicy = INSPECT_DEFAULT,
    ) -> None:
        _set(self, "source", source)
        _set(self, "indexes", indexes)
        _set(self, "find_links", find_links)
        _set(self, "trusted_hosts", trusted_hosts)
        _set(self, "allow", allow)
        _set(self, "deny", deny)
        _set(self, "sdists", sdists)
        _set(self, "yanked", yanked)
        _set(self, "prereleases", prereleases)
        _set(self, "min_release_age", min_release_age)
        _set(self, "licenses", licenses)
        _set(self, "environments", environments)
        _set(self, "direct_references", direct_references)
        _set(self, "audit_ignores", audit_ignores)
        _set(self, "same_versions", same_versions)
        _set(self, "startup_files", startup_files)
        _set(self, "build_sandbox", build_sandbox)
        _set(self, "keyring", keyring)
        _set(self, "malware", malware)
        _set(self, "project_status", project_status)
        _set(self, "cooldown_exempt", cooldown_exempt)
        _set(self, "cooldown_exempt_indexes", cooldown_exempt_indexes)
        _set(self, "allow_fresh", allow_fresh)
        _set(self, "inspect", inspect)

    def denied_by(self, name: str, version: Version | None = None) -> PackageRule | None:
        canon = canonicalize_name(name)
        return next((r for r in self.deny if r.matches_canonical(canon, version)), None)

    def is_allowed(self, name: str, version: Version | None = None) -> bool:
        """True when there is no allow list or a rule on it matches (and no deny rule does)."""
        if self.denied_by(name, version) is not None:
            return False
        canon = canonicalize_name(name)
        return self.allow is None or any(r.matches_canonical(canon, version) for r in self.allow)

    def allows_sdist(self, name: str) -> bool:
        return any(_glob(p, name) for p in self.sdists)

    def allows_prerelease(self, name: str) -> bool:
        return any(_glob(p, name) for p in self.prereleases)

    def allows_direct_reference(self, name: str) -> bool:
        return any(_glob(p, name) for p in self.direct_references)

    def yanked_reason(self, name: str, version: Version) -> str | None:
        """The reason the policy gives for allowing this yanked version, or None (refuse)."""
        return next((why for rule, why in self.yanked if rule.matches(name, version)), None)

    def status_action(self, status: str) -> str:
        """What to do with a project the index marks ``status`` (PEP 792): deny, warn, allow."""
        if status == "active":
            return "allow"
        return next((action for name, action in self.project_status if name == status), "deny")

    def cooldown_applies(
        self, name: str, index: str | None = None, version: Version | None = None
    ) -> bool:
        """Whether min-release-age holds for ``name`` (from ``index``): not when it is 0, nor
        for an exempt package or index, nor for a package locked with ``--allow-fresh``."""
        if not self.min_release_age or any(_glob(p, name) for p in self.cooldown_exempt):
            return False
        if index is not None and index in self.cooldown_exempt_indexes:
            return False
        return self.fresh_reason(name, version) is None

    def fresh_reason(self, name: str, version: Version | None = None) -> str | None:
        """Who let ``name`` in inside the min-release-age window, and why (``--allow-fresh``)."""
        return next((why for rule, why in self.allow_fresh if rule.matches(name, version)), None)
