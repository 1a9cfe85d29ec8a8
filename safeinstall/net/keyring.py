"""Passwords from the ``keyring`` command, as pip's ``--keyring-provider subprocess`` gets them.

For an index URL with a user name and no password (``https://USER@host/simple/``) safeinstall
runs ``keyring get <index URL> USER`` and, if that finds nothing, ``keyring get <host[:port]>
USER`` (pip asks the same two in the same order). The first ``keyring`` on PATH outside every
place a package can write (a Python environment, the current directory: files/programs.py) runs
with stdin closed and a time limit; keyring's Python plug-ins are never imported here. What it
prints is the password: it is neither logged nor shown, not even when the command fails.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from safeinstall.errors import IndexServerError
from safeinstall.files.programs import trusted_program
from safeinstall.urls import redact

TIMEOUT = 30.0
_HINT = "store it with `keyring set {service} {user}`, or give the credentials through netrc"


@dataclass(frozen=True, slots=True)
class Keyring:
    command: str = "keyring"
    timeout: float = TIMEOUT

    def password(self, index_url: str, host: str, user: str) -> str:
        """The password for ``user`` at ``index_url`` (without credentials), else for ``host``
        (``host[:port]``); IndexServerError when the keyring has neither or cannot be run."""
        for service in (index_url, host):
            found = self._get(service, user)
            if found is not None:
                return found
        raise IndexServerError(
            f"the keyring has no password for {user!r} at {redact(index_url)} or {host}",
            hint=_HINT.format(service=index_url, user=user),
        )

    def _get(self, service: str, user: str) -> str | None:
        found = trusted_program(self.command)
        executable = found.path
        if executable is None and found.skipped:
            raise IndexServerError(
                f"the keyring command {found.skipped[0]} is not run: it lies inside a Python "
                "environment or the current directory, where an installed package or a "
                "checked-out repository may have put it",
                hint="install keyring outside them (for example `pipx install keyring`, or your "
                "system's package), or set keyring-provider to disabled and use netrc",
            )
        if executable is None:
            raise IndexServerError(
                f"the keyring command {self.command!r} is not on PATH "
                "(pip's keyring-provider is subprocess)",
                hint="install keyring where PATH finds it (for example `pipx install keyring`), "
                "or set keyring-provider to disabled and use netrc",
            )
        env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
        try:
            done = subprocess.run(
                [executable, "get", service, user],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env=env,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise IndexServerError(
                f"the keyring command took longer than {self.timeout:g} s to answer for "
                f"{redact(service)}",
                hint="a keyring that waits for input cannot be used here; unlock it first, "
                "or use netrc",
            ) from None
        except OSError as exc:
            raise IndexServerError(
                f"the keyring command {executable} could not be run: {exc.strerror}",
                hint="fix or reinstall keyring, or use netrc",
            ) from None
        if done.returncode != 0:
            return None  # keyring's answer for "no such password"
        text = done.stdout.decode("utf-8", "replace")
        password = text[:-1] if text.endswith("\n") else text
        return password.removesuffix("\r") or None
