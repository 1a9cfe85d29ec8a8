"""The guard's rules: one set, applied to requirement files, pyproject.toml and PEP 751 locks.

A rule about a name, a URL, a hash, an index or a direct reference is written once here;
``check`` (guard/check.py), the pylock reader (guard/pylock.py), ``lock`` (its inputs) and
``install NAME`` all apply these, so a pylock.toml is held to what a requirements.txt is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from safeinstall import urls
from safeinstall.digests import HEX_LENGTHS, is_hex_digest
from safeinstall.errors import Location
from safeinstall.guard import popular
from safeinstall.guard.findings import Finding
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.requirements.file import ReqLine, RequirementsFile

if TYPE_CHECKING:  # imported where used: a hashed lock needs neither (start-up time)
    from packaging.requirements import Requirement

BUILD_OPTIONS = frozenset(
    {"--config-settings", "--global-option", "--install-option", "--build-option"}
)
LOCK_FIX = "regenerate the lock with `safeinstall lock` (it pins every package with --hash lines)"


def valid_hash(algorithm: str, digest: str) -> bool:
    return is_hex_digest(algorithm, digest.lower())


def exact_pin(req: ReqLine | Requirement) -> Version | None:
    """The version a requirement pins with a single ``==``/``===`` (no wildcard), else None."""
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        return None
    try:
        return Version(specs[0].version)
    except InvalidVersion:
        return None


class Rules:
    """The guard's rules under one policy, shared by every file format: requirement files,
    pyproject.toml and pylock.toml get the same rule for the same thing."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._specs: tuple[IndexSpec, ...] | None = None
        allow = policy.allow or ()
        self._known = tuple(r.pattern for r in allow if not any(c in r.pattern for c in "*?["))

    # --- shared rules -------------------------------------------------------------------
    def index_specs(self) -> tuple[IndexSpec, ...]:
        if self._specs is None:  # may ask pip for its configuration: only when needed
            from safeinstall.policy.pipconfig import trusted_indexes

            self._specs = trusted_indexes(self.policy)
        return self._specs

    def trusted_indexes(self) -> frozenset[str]:
        return frozenset(urls.normalize(spec.url) for spec in self.index_specs())

    def name_findings(self, name: str, version: Version | None, where: Location) -> list[Finding]:
        out: list[Finding] = []
        rule = self.policy.denied_by(name, version)
        allow = self.policy.allow
        if rule is not None:
            out.append(
                Finding(
                    "denied",
                    f"{name} is denied by the policy rule {rule.raw!r}",
                    where,
                    "remove it, or change the policy's deny list",
                )
            )
        elif allow is not None and not self.policy.is_allowed(name, version):
            out.append(
                Finding(
                    "not-allowed",
                    f"{name} is not on the policy's allow list",
                    where,
                    f"remove it, or add {name!r} to the policy's allow list after review",
                )
            )
        # A listed name (the list is canonical) is never a typosquat: most names of a lock are,
        # and answering them here spares the hook path importing the typosquat machinery.
        target = None if popular.is_listed(name) else _typosquat_of(name, self._known)
        if target is not None:
            out.append(
                Finding(
                    "typosquat",
                    f"{name!r} looks like the popular project {target!r} (possible typosquat)",
                    where,
                    f"if you meant {target!r}, fix the name; else add {name!r} to the allow list",
                )
            )
        return out

    def url_findings(self, url: str, where: Location, *, what: str) -> list[Finding]:
        out: list[Finding] = []
        parts = urlsplit(url)
        if parts.username or parts.password:
            out.append(
                Finding(
                    "credentials",
                    f"{what} {urls.redact(url)} carries credentials",
                    where,
                    "remove them from the file; use netrc or a keyring instead",
                )
            )
        if parts.scheme == "http" and not urls.is_loopback(parts.hostname or ""):
            out.append(
                Finding(
                    "insecure-url",
                    f"{what} {urls.redact(url)} uses plain http",
                    where,
                    "use https",
                )
            )
        return out

    def hash_findings(
        self, hashes: Iterable[tuple[str, str]], label: str, where: Location, *, locked: bool
    ) -> list[Finding]:
        out: list[Finding] = []
        good = 0
        for algorithm, digest in hashes:
            if valid_hash(algorithm, digest):
                good += algorithm == "sha256"
                continue
            problem = (
                f"unsupported hash algorithm {algorithm!r}"
                if algorithm not in HEX_LENGTHS
                else f"malformed {algorithm} digest {digest!r}"
            )
            out.append(Finding("bad-hash", f"{label}: {problem}", where, LOCK_FIX))
        if locked and not good:
            out.append(Finding("missing-hash", f"{label} has no sha256 hash", where, LOCK_FIX))
        return out

    # --- requirement files ----------------------------------------------------------------
    def requirements(self, rf: RequirementsFile, *, locked: bool) -> list[Finding]:
        out: list[Finding] = []
        for option in rf.options:
            out += self.option_findings(option.name, option.value, option.location)
            out += self.env_var_findings(option.env_vars, option.location)
        for req in rf.requirements:
            out += self.line_findings(req, locked=locked)
        out += self.duplicate_findings([r for r in rf.requirements if not r.constraint])
        if locked and self.policy.licenses is not None:
            from safeinstall.guard.licenses import requirements_license_findings

            out += requirements_license_findings(rf, self.policy.licenses)
        return out

    def env_var_findings(self, env_vars: Sequence[str], where: Location) -> list[Finding]:
        if not env_vars:
            return []
        refs = ", ".join(f"${{{v}}}" for v in env_vars)
        return [
            Finding(
                "env-var",
                f"environment variable reference {refs} (pip would expand it; it can leak secrets)",
                where,
                "write the value out, or configure it outside the requirement file",
            )
        ]

    def option_findings(self, name: str, value: str | None, where: Location) -> list[Finding]:
        value = value or ""
        if name in ("--index-url", "--extra-index-url"):
            out = self.url_findings(value, where, what="index")
            if urls.normalize(value) not in self.trusted_indexes():
                out.append(
                    Finding(
                        "untrusted-index",
                        f"{name} {urls.redact(value)} is not a trusted index",
                        where,
                        "remove the line; trusted indexes come from the policy's `indexes`",
                    )
                )
            return out
        if name == "--find-links":
            out = self.url_findings(value, where, what="find-links location")
            if urls.normalize(value) not in {urls.normalize(f) for f in self.policy.find_links}:
                out.append(
                    Finding(
                        "untrusted-index",
                        f"--find-links {urls.redact(value)} is not trusted by the policy",
                        where,
                        "remove the line, or list it in the policy's `find-links`",
                    )
                )
            return out
        if name == "--trusted-host" and value.lower() not in self.policy.trusted_hosts:
            return [
                Finding(
                    "untrusted-index",
                    f"--trusted-host {value} turns off TLS verification for that host",
                    where,
                    "remove the line; serve the index over verified https",
                )
            ]
        if name == "--no-binary" and not self.policy.allows_sdist("*"):
            return [
                Finding(
                    "build-option",
                    f"--no-binary {value} forces building from source, which runs package code",
                    where,
                    "remove the line, or allow sdists for those packages in the policy",
                )
            ]
        return []

    def line_findings(self, req: ReqLine, *, locked: bool) -> list[Finding]:
        where = req.location
        label = req.raw_name or req.line
        out = self.env_var_findings(req.env_vars, where)
        for option, value in req.options:
            if option in BUILD_OPTIONS:
                out.append(
                    Finding(
                        "build-option",
                        f"{option} {value} on {label} passes options to a build backend",
                        where,
                        "remove it: wheels need no build options",
                    )
                )
        if req.url is not None:
            out += self.url_findings(req.url, where, what="URL")
        if req.kind != "named" or req.editable:
            out += self.direct_findings(req, label, locked=locked)
        version = exact_pin(req) if req.kind == "named" else None
        pinned_line = locked and not req.constraint
        if pinned_line and req.kind == "named" and version is None:
            out.append(
                Finding(
                    "unpinned", f"{label} is not pinned to one version with ==", where, LOCK_FIX
                )
            )
        # VCS/path/editable lines cannot carry a hash: `unhashable` above already says so
        must_hash = pinned_line and req.kind in ("named", "url") and not req.editable
        hashes = ((h.algorithm, h.digest) for h in req.hashes)
        out += self.hash_findings(hashes, label, where, locked=must_hash)
        if req.name is not None:
            out += self.name_findings(req.name, version, where)
        return out

    def direct_findings(self, req: ReqLine, label: str, *, locked: bool) -> list[Finding]:
        """URL, VCS, local-path and editable requirements."""
        what = "an editable" if req.editable else {"url": "a URL", "vcs": "a VCS"}.get(req.kind)
        hashable = req.kind == "url" and not req.editable
        return self.direct_reference_findings(
            req.name, label, what or "a local path", req.location, hashable=hashable, locked=locked
        )

    def direct_reference_findings(
        self,
        name: str | None,
        label: str,
        what: str,
        where: Location,
        *,
        hashable: bool,
        locked: bool,
    ) -> list[Finding]:
        """The one rule for what is not a release from an index, in every file format: in a lock
        only a URL with hashes can be pinned, and anywhere the policy must name it."""
        allowed = name is not None and self.policy.allows_direct_reference(name)
        if locked and not hashable:
            problem = f"{label} is {what} requirement, which cannot be pinned to exact bytes"
        elif not allowed:
            problem = f"{label} is {what} requirement, which the policy does not allow"
        else:
            return []
        return [
            Finding(
                "unhashable",
                problem,
                where,
                "depend on a released version from a trusted index, or allow the name in the "
                "policy's `direct-references`",
            )
        ]

    def file_url_findings(
        self, url: str, label: str, where: Location, *, index: str | None
    ) -> list[Finding]:
        """A locked file's URL: clean, and on a host that its trusted index (or, with no index
        named, any trusted index) serves files from, by the host rule install applies."""
        from safeinstall.policy.hosts import HostPolicy

        out = self.url_findings(url, where, what="file URL")
        specs = self.index_specs()
        if index is not None:
            specs = tuple(s for s in specs if urls.normalize(s.url) == urls.normalize(index))
        if not HostPolicy(specs)(url):
            out.append(
                Finding(
                    "untrusted-index",
                    f"{label} is locked at {urls.redact(url)}, a host no trusted index serves "
                    "files from",
                    where,
                    "relock from a trusted index, or add that host to the index's `file-hosts`",
                )
            )
        return out

    def duplicate_findings(self, reqs: Sequence[ReqLine]) -> list[Finding]:
        out: list[Finding] = []
        seen: dict[str, list[ReqLine]] = {}
        for req in reqs:
            if req.name is None:
                continue
            for other in seen.get(req.name, []):
                both = req.marker is None or other.marker is None or req.marker == other.marker
                if not both:
                    continue
                if str(req.specifier) != str(other.specifier) or req.url != other.url:
                    problem = "with a different pin than"
                elif req.hashes and other.hashes and not set(req.hashes) & set(other.hashes):
                    problem = "with hashes disjoint from"
                else:
                    continue
                out.append(
                    Finding(
                        "hash-conflict",
                        f"{req.raw_name} is listed again {problem} {other.location}",
                        req.location,
                        "keep one entry per package (regenerate the lock)",
                    )
                )
            seen.setdefault(req.name, []).append(req)
        return out

    # --- pyproject.toml -------------------------------------------------------------------
    def pyproject(self, path: Path, raw: bytes | None = None) -> list[Finding]:
        from safeinstall.requirements.pep508 import parse_pep508
        from safeinstall.requirements.pyproject import read_pyproject

        out: list[Finding] = []
        for declared in read_pyproject(path, raw).requirements:
            req = parse_pep508(declared.text, declared.location)
            name = canonicalize_name(req.name)
            if req.url is not None:
                out += self.url_findings(req.url, declared.location, what="URL")
                out += self.direct_reference_findings(
                    name, req.name, "a URL", declared.location, hashable=True, locked=False
                )
            out += self.name_findings(name, exact_pin(req), declared.location)
        return out


def _typosquat_of(name: str, known: Sequence[str]) -> str | None:
    from safeinstall.guard import names

    return names.typosquat_of(name, extra_known=known)
