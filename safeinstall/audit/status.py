"""`audit --status`: the PEP 792 status each locked project has on its index now, judged by the
policy's ``project-status`` (a project quarantined since it was locked is a finding)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from safeinstall.lock.model import LockedPackage
from safeinstall.policy.model import Policy


@dataclass(frozen=True, slots=True)
class ProjectStatus:
    """A locked project that is not ``active`` on its index, and what the policy does with it."""

    package: LockedPackage
    status: str
    text: str  # ``index 'corp' marks demo quarantined: reason`` (printable, bounded)
    action: str  # deny, warn or allow

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.package.name,
            "version": str(self.package.version),
            "status": self.status,
            "action": self.action,
            "message": self.text,
        }


def project_statuses(
    packages: Sequence[LockedPackage], policy: Policy, cache: Path
) -> list[ProjectStatus]:
    """Each locked project's page, read from the index the policy binds it to (as ``install``
    reads it); the ones whose status is not ``active``, in lock order."""
    from safeinstall.install.plan import open_network
    from safeinstall.resolve.candidates import status_text

    names = list(dict.fromkeys(p.name for p in packages))
    with open_network(policy, cache) as net, ThreadPoolExecutor(8, "safeinstall-status") as pool:
        pages = dict(zip(names, pool.map(net.client.project, names), strict=True))
    found = []
    for pkg in packages:
        page = pages[pkg.name]
        if page.status != "active":
            action = policy.status_action(page.status)
            found.append(ProjectStatus(pkg, page.status, status_text(page), action))
    return found
