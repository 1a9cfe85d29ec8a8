"""The scanner's rules: each an id, a default severity and a one-line explanation; a finding.

A finding names the rule, the package, the artifact, the file inside it and the line (when there
is one): what SARIF needs (``ruleId``, ``level``, ``artifactLocation``, ``region``), so an output
format can be added without touching the rules. Severity is the policy's (``inspect``): a rule
``block``s (nothing is installed) or ``warn``s; ``allow`` drops a rule's findings for one package.

This module imports nothing heavy: the policy's key validation reads the rule ids from it.
"""

from __future__ import annotations

from safeinstall.frozen import Frozen, _set, replace

# Bumped whenever a rule changes what it finds: cached results of an older rule set are not used.
RULESET_VERSION = "5"

BLOCK, WARN = "block", "warn"


class Rule(Frozen):  # Frozen, not a dataclass: the policy's key validation imports this
    __slots__ = ("id", "severity", "summary")
    id: str
    severity: str  # the shipped default: BLOCK or WARN
    summary: str  # one line, for the README table and SARIF rule metadata

    def __init__(self, id: str, severity: str, summary: str) -> None:
        _set(self, "id", id)
        _set(self, "severity", severity)
        _set(self, "summary", summary)


_RULES = (
    # start-up code
    Rule(
        "startup-pth",
        BLOCK,
        "a .pth file landing in site-packages with a line that runs code at every interpreter "
        "start (allowances: the startup-files policy key)",
    ),
    Rule(
        "startup-customize",
        BLOCK,
        "a sitecustomize or usercustomize module, which Python imports at every start",
    ),
    # clobbering
    Rule("clobber-path", BLOCK, "two locked wheels write the same installed path"),
    Rule("clobber-package", BLOCK, "a wheel writes into another locked project's import package"),
    Rule(
        "clobber-script",
        BLOCK,
        "a console script or .data/scripts file shadows python, pip, a shell or another "
        "package's command",
    ),
    # code patterns, read with the AST (never run)
    Rule("code-exec-decoded", WARN, "exec, eval or compile of decoded or decompressed data"),
    Rule(
        "code-import-time-call",
        WARN,
        "a network or subprocess call at the top level of an importable module",
    ),
    Rule("code-setup-runs", WARN, "setup.py downloads something or runs a program"),
    Rule(
        "code-startup-write", WARN, "code that writes a .pth, sitecustomize or usercustomize file"
    ),
    Rule(
        "code-secrets-sent",
        WARN,
        "a module reads credential files or secret environment variables and talks to the network",
    ),
    Rule(
        "code-hidden-chars",
        WARN,
        "bidirectional-control or invisible characters in code (the code reads as it does not run)",
    ),
    Rule("code-encoded-blob", WARN, "a very long base64 or hex string literal"),
    Rule("code-uninspectable", WARN, "a source file too large to inspect, or that does not parse"),
    # metadata and the archive itself
    Rule(
        "meta-mismatch", BLOCK, "the METADATA (or PKG-INFO) name or version is not the file name's"
    ),
    Rule("meta-url-dependency", BLOCK, "a Requires-Dist on a direct URL"),
    Rule(
        "archive-unreadable", BLOCK, "the artifact cannot be read as an archive within the limits"
    ),
)
RULES: dict[str, Rule] = {r.id: r for r in _RULES}
# The rules whose results are cached (they read every source file, and are policy-free); the
# others are cheap and always run afresh.
CODE_RULES = frozenset(r for r in RULES if r.startswith("code-"))


class Finding(Frozen):
    """One rule's hit in one artifact: ``file`` is the member path inside it (None: the artifact
    as a whole), ``line`` 1-based when known. ``severity`` is set by ``judge``."""

    __slots__ = ("artifact", "file", "line", "message", "package", "rule", "severity")
    rule: str
    package: str
    artifact: str  # the file name of the wheel or sdist
    file: str | None
    line: int | None
    message: str
    severity: str

    def __init__(  # noqa: PLR0917 - the fields, in order
        self,
        rule: str,
        package: str,
        artifact: str,
        file: str | None,
        line: int | None,
        message: str,
        severity: str = "",
    ) -> None:
        _set(self, "rule", rule)
        _set(self, "package", package)
        _set(self, "artifact", artifact)
        _set(self, "file", file)
        _set(self, "line", line)
        _set(self, "message", message)
        _set(self, "severity", severity)

    @property
    def where(self) -> str:
        place = self.artifact if self.file is None else f"{self.artifact}:{self.file}"
        return place if self.line is None else f"{place}:{self.line}"

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "package": self.package,
            "artifact": self.artifact,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: object) -> Finding:
        """A finding as ``to_json`` wrote it; ValueError for anything else."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        rule, package, artifact = data.get("rule"), data.get("package"), data.get("artifact")
        file, line, message = data.get("file"), data.get("line"), data.get("message")
        if not (isinstance(rule, str) and rule in RULES):
            raise ValueError("unknown rule")
        if not (isinstance(package, str) and isinstance(artifact, str)):
            raise ValueError("no package")
        if not (file is None or isinstance(file, str)) or not isinstance(message, str):
            raise ValueError("no message")
        if not (line is None or (isinstance(line, int) and not isinstance(line, bool))):
            raise ValueError("bad line")
        return cls(rule, package, artifact, file, line, message)


def severity_of(
    rule: str,
    package: str,
    block: tuple[str, ...] = (),
    warn: tuple[str, ...] = (),
    allow: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> str | None:
    """The severity of ``rule`` for ``package`` (canonical) under a policy's ``inspect`` key:
    None when allowed for that package, else its block/warn list's, else the rule's default."""
    if any(name == package and rule in rules for name, rules in allow):
        return None
    if rule in block:
        return BLOCK
    if rule in warn:
        return WARN
    return RULES[rule].severity


def judged(finding: Finding, severity: str) -> Finding:
    return replace(finding, severity=severity)
