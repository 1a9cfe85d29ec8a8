#!/bin/sh
# CI job: the dependency pipeline, one named step after another, stopping at the first failure
# with that step's exit code (1: a finding, 2: an input or usage error).
#
#   check    the inputs and the lock obey the policy (pins, hashes, indexes, names)   offline
#   lock     the lock is up to date with its inputs and policy (lock --check)          offline
#   install  the job's venv gets exactly the lock, every file verified (sync)
#   verify   what is installed is the lock, file for file (RECORD hashes)             offline
#   audit    no locked version has a known vulnerability (OSV)
#
# Run it from the project directory, with the job's virtual environment active:
#   python -m venv .venv && . .venv/bin/activate && sh hooks/ci.sh
# Settings (environment variables):
#   SAFEINSTALL          the safeinstall command (default: safeinstall); install it in its own
#                        venv so that it is not part of the environment being verified
#                        (hooks/install-safeinstall.sh does: VENV/bin/safeinstall)
#   SAFEINSTALL_PYTHON   the interpreter of the environment to install into and verify
#                        (default: $VIRTUAL_ENV/bin/python)
#   SAFEINSTALL_LOCK     the lock (default: pylock.toml, else requirements.txt)
#   SAFEINSTALL_LOCK_ARGS  inputs and options the lock was made with, when not the defaults,
#                        e.g. "pyproject.toml --extra web" (split on spaces)
#   SAFEINSTALL_OSV_DB   an offline OSV database (the PyPI zip, or a directory of records) for
#                        air-gapped CI; unset, the audit asks the OSV API
set -u
SAFEINSTALL=${SAFEINSTALL:-safeinstall}

fail() {
  echo "ci: $1" >&2
  exit "${2:-2}"
}

step() {
  name=$1
  shift
  echo "==> $name: $*" >&2
  "$@"
  code=$?
  [ "$code" -eq 0 ] || fail "step '$name' failed with exit code $code" "$code"
}

lock=${SAFEINSTALL_LOCK:-}
if [ -z "$lock" ]; then
  for candidate in pylock.toml requirements.txt; do
    if [ -f "$candidate" ]; then
      lock=$candidate
      break
    fi
  done
fi
[ -n "$lock" ] && [ -f "$lock" ] || fail "no lock found: set SAFEINSTALL_LOCK or run safeinstall lock"

python=${SAFEINSTALL_PYTHON:-}
if [ -z "$python" ] && [ -n "${VIRTUAL_ENV:-}" ]; then
  python=$VIRTUAL_ENV/bin/python
fi
[ -n "$python" ] || fail "no environment: activate the job's venv or set SAFEINSTALL_PYTHON"

step check "$SAFEINSTALL" check
# shellcheck disable=SC2086 # SAFEINSTALL_LOCK_ARGS is split into words on purpose
step lock "$SAFEINSTALL" lock --check ${SAFEINSTALL_LOCK_ARGS:-} -o "$lock"
step install "$SAFEINSTALL" sync --python "$python" "$lock"
step verify "$SAFEINSTALL" verify --python "$python" "$lock"
if [ -n "${SAFEINSTALL_OSV_DB:-}" ]; then
  step audit "$SAFEINSTALL" audit --db "$SAFEINSTALL_OSV_DB" "$lock"
else
  step audit "$SAFEINSTALL" audit "$lock"
fi
echo "ci: all steps passed for $lock" >&2
