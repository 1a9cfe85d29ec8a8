"""The indexes pip itself is configured with: the built-in default policy trusts these.

pip is asked in a subprocess: a short script running the code behind ``pip config list``, or
``pip config list`` itself where that code moved (its internals are not an API); pip's own
default index is read from the installed pip at run time, so its address is never written here.
Extra index URLs come FIRST and the index URL last (as uv orders them): a name published on the
default index cannot shadow an internal name served by an extra index (dependency confusion).
Local sources come before both: pip's ``find-links`` folders (``pip-find-links-1`` ...), then
``file://`` indexes keep their configured place; a find-links entry that is a web page, not a
folder, is not a source here (safeinstall reads only folders and indexes).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from safeinstall.errors import SafeinstallError, TargetEnvironmentError
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.urls import normalize, origin

# pip applies [global], then the command's own section, then PIP_* variables (":env:"); later wins.
_SECTIONS = (":env:", "install", "global")
# Variables that decide which configuration pip reads (and so the cache key).
_ENV_PREFIXES = ("PIP_", "XDG_CONFIG", "VIRTUAL_ENV", "HOME", "APPDATA")
_TIMEOUT = 60.0
_DEFAULT_INDEX_SCRIPT = (
    "from pip._internal.models.index import PyPI\n"
    "print(PyPI.simple_url)\n"
    "print(PyPI.file_storage_domain)\n"
)
_DEFAULT = ":pip-default:"  # the section the script below gives pip's default index
# What `pip config list` prints (pip's own code for it), plus pip's default index, in one run
# that loads much less of pip than its command line does (~0.25 s instead of ~0.5 s).
_CONFIG_SCRIPT = (
    "from pip._internal.configuration import Configuration\n"
    "from pip._internal.models.index import PyPI\n"
    "config = Configuration(isolated=False)\n"
    "config.load()\n"
    "for key, value in sorted(config.items()):\n"  # per file (pip >= 23), or flat (older)
    "    pairs = sorted(value.items()) if isinstance(value, dict) else [(key, value)]\n"
    "    for name, setting in pairs:\n"
    "        print(f'{name}={setting!r}')\n"
    "print(':pip-default:.index-url=' + repr(PyPI.simple_url))\n"
    "print(':pip-default:.file-host=' + repr(PyPI.file_storage_domain))\n"
)


def trusted_indexes(policy: Policy) -> tuple[IndexSpec, ...]:
    """The trusted indexes: the policy's, else (looked up only now) the ones pip is configured
    with. The Policy is a plain value; this is the one step that asks pip."""
    base = Path(policy.source).parent if policy.source else Path.cwd()
    folders = find_link_specs(policy.find_links, base, "find-links")
    if policy.indexes is not None:
        return _unique([*folders, *policy.indexes]) if folders else policy.indexes
    indexes, _, pip_folders = _configured(None)
    return _unique([*folders, *pip_folders, *indexes])


def find_link_specs(entries: tuple[str, ...], base: Path, prefix: str) -> list[IndexSpec]:
    """The local folders among ``entries`` (paths, relative to ``base``, or ``file:`` URLs) as
    flat indexes named ``PREFIX-1`` ...; web pages are left out (see the module docstring)."""
    specs: list[IndexSpec] = []
    for entry in entries:
        if entry.lower().startswith("file:"):
            url = normalize(entry)
        elif "://" in entry:
            continue
        else:
            url = (base / os.path.expanduser(entry)).absolute().as_uri()
        specs.append(IndexSpec(name=f"{prefix}-{len(specs) + 1}", url=url, flat=True))
    return specs


def configured_indexes(python: str | None = None) -> tuple[IndexSpec, ...]:
    """The indexes pip for ``python`` (default: this interpreter) uses, in trust order.

    Names: ``pip-extra-1`` ... for extra index URLs, then ``pip-index``. Credentials are stripped
    (``index_credentials`` gives them to the HTTP layer, and to nothing else). pip's find-links
    folders are not among them (``trusted_indexes`` puts them first).
    """
    return _configured(python)[0]


def index_credentials(policy: Policy) -> tuple[str, ...]:
    """The index URLs with ``user:password@`` that pip is configured with (PIP_INDEX_URL,
    PIP_EXTRA_INDEX_URL, pip.conf), for the origins of the trusted indexes only.

    The HTTP layer sends each as Basic auth to its own origin and nowhere else; they are never
    printed or written. With the indexes listed in the policy, only the environment variables
    are read (pip is not run for this), and a URL counts only where its origin is a policy
    index's origin.
    """
    if policy.indexes is None:
        specs, urls, _ = _configured(None)
    else:
        specs = policy.indexes
        urls = tuple(
            url
            for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
            for url in os.environ.get(name, "").split()
        )
    trusted = {_origin(spec.url) for spec in specs}
    trusted.discard(None)
    return tuple(url for url in urls if "@" in url and _origin(url) in trusted)


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        return origin(url)
    except ValueError:  # not a URL credentials can be scoped to: none are taken from it
        return None


def _configured(
    python: str | None,
) -> tuple[tuple[IndexSpec, ...], tuple[str, ...], tuple[IndexSpec, ...]]:
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)))
    with _LOOKUP:  # one lookup at a time: a second caller takes the first one's answer
        return _configured_indexes(python or sys.executable, env)


def look_up_in_background(python: str | None = None) -> None:
    """Start ``configured_indexes`` in a thread. pip takes ~0.4 s to answer, which the caller
    can spend on other work; its own call then takes the answer (or raises the error)."""
    threading.Thread(target=_look_up, args=(python,), daemon=True).start()


def _look_up(python: str | None) -> None:
    with contextlib.suppress(SafeinstallError):  # raised again by the caller's own lookup
        configured_indexes(python)


_LOOKUP = threading.Lock()


@functools.cache
def _configured_indexes(
    python: str, env: tuple[tuple[str, str], ...]
) -> tuple[tuple[IndexSpec, ...], tuple[str, ...], tuple[IndexSpec, ...]]:
    """The indexes, the URLs as configured (with any credentials), and the find-links folders,
    for one configuration."""
    settings = dict(env)
    index_url = settings.get("PIP_INDEX_URL")
    extra = settings.get("PIP_EXTRA_INDEX_URL")
    no_index = settings.get("PIP_NO_INDEX")
    links = settings.get("PIP_FIND_LINKS")
    if links is None and settings.get("PIP_CONFIG_FILE") == os.devnull:
        links = ""  # pip reads no configuration file: the variables are all there is
    config: dict[str, str] = {}
    if None in (index_url, extra, no_index, links):
        config = _cached_pip_config(python, env)
        if links is None:
            links = _first(config, "find-links")
        if no_index is None:
            no_index = _first(config, "no-index")
        if index_url is None:
            index_url = _first(config, "index-url")
        if extra is None:
            extra = _first(config, "extra-index-url")
    folders = find_link_specs(tuple((links or "").split()), Path.cwd(), "pip-find-links")
    if _truthy(no_index):
        return (), (), tuple(folders)
    try:
        urls = (*(extra or "").split(), *([index_url] if index_url else []))
        return _specs(python, index_url, extra, config), urls, tuple(folders)
    except ValueError as exc:  # a URL urllib cannot split (bad port, bad brackets)
        raise TargetEnvironmentError(
            f"pip is configured with an index URL that is not valid: {exc}",
            hint="fix the index-url / extra-index-url setting (`pip config list` shows it)",
        ) from exc


def _specs(
    python: str, index_url: str | None, extra: str | None, config: dict[str, str]
) -> tuple[IndexSpec, ...]:
    specs = [
        IndexSpec(name=f"pip-extra-{n}", url=normalize(url))
        for n, url in enumerate((extra or "").split(), start=1)
    ]
    if index_url:
        specs.append(IndexSpec(name="pip-index", url=normalize(index_url)))
    else:
        url, file_host = _pip_default_index(python, config)
        specs.append(IndexSpec(name="pip-index", url=url, file_hosts=(file_host,)))
    return _unique(specs)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _unique(specs: list[IndexSpec] | tuple[IndexSpec, ...]) -> tuple[IndexSpec, ...]:
    """Drop a URL configured twice (keep the first: the higher-trust position)."""
    seen: set[str] = set()
    out = []
    for spec in specs:
        if spec.url not in seen:
            seen.add(spec.url)
            out.append(spec)
    return tuple(out)


def _first(config: dict[str, str], key: str) -> str | None:
    return next((config[f"{s}.{key}"] for s in _SECTIONS if f"{s}.{key}" in config), None)


def parse_config_list(output: str) -> dict[str, str]:
    """Parse ``pip config list`` lines (``section.key='value'``, value a Python literal)."""
    from ast import literal_eval

    config: dict[str, str] = {}
    for line in output.splitlines():
        key, sep, raw = line.partition("=")
        if not sep:
            continue
        try:
            value = literal_eval(raw)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, str):
            config[key.strip()] = value
    return config


def _run(python: str, args: list[str], what: str) -> str:
    # -I: neither the current directory (a repository's own `pip/` would be imported instead of
    # pip) nor PYTHONPATH nor the user's site-packages is on sys.path.
    import subprocess

    try:
        proc = subprocess.run(
            [python, "-I", *args],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TargetEnvironmentError(
            f"could not run {python} to ask pip for {what}: {exc}",
            hint="check that the interpreter exists and has pip installed, "
            "or list the trusted indexes in the policy",
        ) from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        raise TargetEnvironmentError(
            f"pip for {python} could not tell {what}: {last}",
            hint="check that pip is installed for this interpreter, "
            "or list the trusted indexes in the policy",
        )
    return proc.stdout


@functools.cache
def _cached_pip_config(python: str, env: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """``_pip_config``, asked once per interpreter and configuration (``env``: the variables
    that choose it): the indexes and the network settings share one run of pip."""
    return _pip_config(python)


def _pip_config(python: str) -> dict[str, str]:
    """pip's settings as `pip config list` gives them (``section.key``), with its default index
    in the ``:pip-default:`` section when the short way of asking works with this pip."""
    try:
        return parse_config_list(_run(python, ["-c", _CONFIG_SCRIPT], "its configuration"))
    except TargetEnvironmentError:  # a pip whose internals moved: ask its command line
        return parse_config_list(
            _run(python, ["-m", "pip", "config", "list"], "its configured indexes")
        )


def default_index(python: str | None = None) -> tuple[str, str]:
    """pip's own default index URL and the host its files come from, read from pip."""
    return _pip_default_index(python or sys.executable, {})


def _pip_default_index(python: str, config: dict[str, str]) -> tuple[str, str]:
    url, host = config.get(f"{_DEFAULT}.index-url"), config.get(f"{_DEFAULT}.file-host")
    if url and host:
        lines = [url, host]
    else:
        lines = _run(python, ["-c", _DEFAULT_INDEX_SCRIPT], "its default index").split()
    if len(lines) != 2 or not lines[0].startswith("https://"):
        raise TargetEnvironmentError(
            f"pip for {python} answered something unexpected for its default index",
            hint="list the trusted indexes in the policy",
        )
    return normalize(lines[0]), lines[1].lower()


@dataclass(frozen=True, slots=True)
class PipNetwork:
    """pip's network settings (``--proxy``, ``--cert``, ``--client-cert``, ``--keyring-provider``,
    ``--use-feature truststore``) as its configuration and PIP_* variables give them."""

    proxy: str | None = None
    cert: str | None = None
    cert_source: str = "the system's CA certificates"  # PIP_CERT, or pip's configuration
    client_cert: str | None = None
    keyring_provider: str | None = None
    truststore: bool = False


_NETWORK_KEYS = ("proxy", "cert", "client-cert", "keyring-provider", "use-feature")


def pip_network(python: str | None = None) -> PipNetwork:
    """pip's network settings for ``python`` (default: this interpreter), from the same cached
    answer as ``configured_indexes``. pip is not run when the PIP_* variables say all there is
    to say: every setting given, or ``PIP_CONFIG_FILE`` pointing at the null device (pip then
    reads no file). Without a pip to ask, the PIP_* variables are all there is."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)))
    given = {k.removeprefix("PIP_").lower().replace("_", "-"): v for k, v in env if v}
    config = {f":env:.{key}": value for key, value in given.items()}
    if os.environ.get("PIP_CONFIG_FILE") != os.devnull and not all(
        key in given for key in _NETWORK_KEYS
    ):
        with _LOOKUP, contextlib.suppress(TargetEnvironmentError):  # no pip: no pip.conf
            config = _cached_pip_config(python or sys.executable, env)
    cert = _first(config, "cert")
    features = (_first(config, "use-feature") or "").replace(",", " ").split()
    return PipNetwork(
        proxy=_first(config, "proxy") or None,
        cert=cert or None,
        cert_source="PIP_CERT" if ":env:.cert" in config else "cert in pip's configuration",
        client_cert=_first(config, "client-cert") or None,
        keyring_provider=(_first(config, "keyring-provider") or "").strip().lower() or None,
        truststore="truststore" in features,
    )
