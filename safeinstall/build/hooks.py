"""PEP 517 hooks in a subprocess of the running interpreter, without pip.

The runner (passed with ``-c``) starts isolated (``-I -S``: no PYTHONPATH, no user or interpreter
site-packages); its ``sys.path`` is the standard library, the sdist's ``backend-path`` entries
first and the build environment (added with ``site.addsitedir``, so its ``.pth`` files apply as in
an installed environment). It runs in the build sandbox (``environment/sandbox.py``: no network,
a scrubbed environment, a private home, its source copy-on-write, the real home hidden, only
``out`` writable) with pip's isolated settings, ``PIP_NO_INDEX`` included: a
backend that runs pip itself (setuptools does for ``setup_requires``) gets no index, whatever
``--index-url`` it passes. The source tree is the working directory. Everything the backend
prints goes to stderr, of which the last 64 KiB are kept and more than ``MAX_OUTPUT`` stops the
build; the runner talks to the parent over its own copy of stdout, one JSON line per step:

1. runner -> ``{"requires": [...]}`` (``get_requires_for_build_wheel({})``, [] when absent);
   parent -> ``go`` when the environment has them all, else ``stop`` (the runner exits);
2. runner -> ``{"metadata": DIR}`` from ``prepare_metadata_for_build_wheel(out, {})``, or
   ``{"wheel": NAME}`` from ``build_wheel(out, {})`` when the backend has no such hook or the
   wheel itself is wanted (``install`` building an allowed sdist).

The interpreter is the running one (metadata while locking) or the target's (a wheel for it at
install), started the same way: ``-I -S``, nothing of its environment on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from safeinstall.environment.mounts import Places, interpreter_places
from safeinstall.environment.pip import pip_settings
from safeinstall.environment.sandbox import MAX_OUTPUT, confined
from safeinstall.errors import BuildDenied, TargetEnvironmentError

HOOK_TIMEOUT = 600.0
_MAX_LINE = 1024 * 1024
_STDERR_TAIL = 64 * 1024
_READ_GRACE = 5.0  # seconds to finish reading stderr once the runner has exited

RUNNER = """\
import importlib, json, os, site, sys
channel = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
env, backend, out, paths = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
want = sys.argv[5]
sys.path[:0] = paths
site.addsitedir(env)
def send(**message):
    channel.write(json.dumps(message) + "\\n")
    channel.flush()
module, _, attrs = backend.partition(":")
hooks = importlib.import_module(module.strip())
for attr in filter(None, attrs.strip().split(".")):
    hooks = getattr(hooks, attr)
requires = getattr(hooks, "get_requires_for_build_wheel", None)
send(requires=[str(r) for r in requires({})] if requires is not None else [])
if sys.stdin.readline().strip() != "go":
    sys.exit(0)
prepare = getattr(hooks, "prepare_metadata_for_build_wheel", None)
if prepare is not None and want == "metadata":
    send(metadata=prepare(out, {}))
else:
    send(wheel=hooks.build_wheel(out, {}))
"""


@dataclass(frozen=True, slots=True)
class HookResult:
    requires: tuple[str, ...]  # what get_requires_for_build_wheel asked for
    output: Path | None  # a .dist-info directory or a .whl in ``out``; None: stopped after step 1


def run_hooks(
    source: Path,
    backend: str,
    backend_path: Sequence[Path],
    env: Path,
    out: Path,
    *,
    proceed: Callable[[Sequence[str]], bool],
    what: str,
    sandbox: str = "require",
    warn: Callable[[str], None] = lambda message: None,
    timeout: float = HOOK_TIMEOUT,
    python: str = sys.executable,
    want: str = "metadata",
) -> HookResult:
    """Run the hooks for ``what`` (an sdist's file name) in the build sandbox (``sandbox``: the
    policy's ``build-sandbox``); ``proceed(requires)`` says whether the environment has what
    step 1 asked for; ``want``: "metadata" (prepared where the backend can) or "wheel".
    TargetEnvironmentError when a hook fails."""
    args = [python, "-I", "-S", "-c", RUNNER, str(env), backend, str(out)]
    args += [json.dumps([str(p) for p in backend_path]), want]
    # the source copy-on-write, only ``out`` writable, the interpreter and ``env`` read-only
    places = Places(source, writable=(out,), readable=(env, *interpreter_places(python)))
    settings = pip_settings()
    with confined(
        args, mode=sandbox, what=what, extra_env=settings, warn=warn, places=places
    ) as box:
        try:
            proc = subprocess.Popen(
                box.argv,
                cwd=source,
                env=box.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError as exc:
            raise TargetEnvironmentError(f"could not start the build of {what}: {exc}") from None
        stopped = threading.Event()

        def stop() -> None:
            stopped.set()
            proc.kill()

        assert proc.stdin is not None
        assert proc.stderr is not None
        stderr = _Tail(cast(io.BufferedReader, cast(io.TextIOWrapper, proc.stderr).buffer), stop)
        timer = threading.Timer(timeout, stop)
        timer.start()
        with proc:
            try:
                result = _converse(proc, proceed, out)
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # a runner still waiting for an answer then exits
                proc.wait()
            finally:
                timer.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                stderr.join(_READ_GRACE)  # a process it left behind may hold stderr open
        if stderr.overflowed:
            raise TargetEnvironmentError(
                f"building {what} printed more than {MAX_OUTPUT >> 20} MiB and was stopped",
                hint="its build code misbehaves; pin a version that publishes a wheel",
            )
        if stopped.is_set():
            raise TargetEnvironmentError(f"building {what} took longer than {timeout:.0f} s")
        if proc.returncode != 0 or result is None:
            said = stderr.text()
            raise _failure(what, proc.returncode, said, denied=box.denied(said))
    return result


class _Tail(threading.Thread):
    """Reads a build's stderr to its end: keeps the last ``_STDERR_TAIL`` bytes, and calls
    ``on_overflow`` once more than ``MAX_OUTPUT`` went by."""

    def __init__(self, stream: io.BufferedReader, on_overflow: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.stream, self.on_overflow = stream, on_overflow
        self.kept, self.total, self.overflowed = b"", 0, False
        self.start()

    def run(self) -> None:
        while chunk := self.stream.read1(65536):
            self.total += len(chunk)
            self.kept = (self.kept + chunk)[-_STDERR_TAIL:]
            if self.total > MAX_OUTPUT and not self.overflowed:
                self.overflowed = True
                self.on_overflow()

    def text(self) -> str:
        return self.kept.decode("utf-8", "replace")


def _converse(
    proc: subprocess.Popen[str], proceed: Callable[[Sequence[str]], bool], out: Path
) -> HookResult | None:
    """The parent's side of the protocol; None when the runner stopped answering."""
    assert proc.stdin is not None
    assert proc.stdout is not None
    first = _message(proc.stdout)
    requires = first.get("requires") if first is not None else None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        return None
    go = proceed(requires)
    try:
        proc.stdin.write("go\n" if go else "stop\n")
        proc.stdin.close()
    except OSError:
        return None
    if not go:
        return HookResult(tuple(requires), None)
    second = _message(proc.stdout) or {}
    name = second.get("metadata") or second.get("wheel")
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        return None
    return HookResult(tuple(requires), out / name)


def _message(stream: IO[str]) -> dict[str, object] | None:
    line = stream.readline(_MAX_LINE)
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _failure(what: str, code: int, stderr: str, *, denied: str | None) -> TargetEnvironmentError:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    shown = lines[-1] if lines else "no output"
    if denied is not None:
        return BuildDenied(
            f"building {what} failed (exit {code}) after it {denied}: {shown}",
            hint="a build must not download anything nor touch files outside its source and "
            "output; pin a version that publishes a wheel",
        )
    return TargetEnvironmentError(
        f"building {what} failed (exit {code}): {shown}",
        hint="its build code failed (it runs with no network, a scrubbed environment, a "
        "private home and a read-only file system); pin a version that publishes a wheel, or "
        "fix the build",
    )
