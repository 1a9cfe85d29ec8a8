#!/bin/sh
# Install safeinstall into a virtual environment of its own, from its git repository at one commit:
# its dependencies and its build backend come from that commit's hash-pinned runtime lock
# (requirements.txt: pip --require-hashes, wheels only), then safeinstall itself is built from
# the checkout with no other download. safeinstall is not on a package index; the commit hash is
# what pins it, so a branch or tag name (which can be moved) is refused.
#
#   sh install-safeinstall.sh REPO COMMIT VENV
#
#   REPO    safeinstall's git repository (a URL or a path)
#   COMMIT  a full 40-character commit hash of it; get the newest with
#             git ls-remote REPO refs/heads/main
#   VENV    the virtual environment to create; the command is then VENV/bin/safeinstall
#
# PYTHON (default: python3) is the interpreter the environment is made with.
set -eu

fail() {
  echo "install-safeinstall: $1" >&2
  exit 2
}

[ "$#" -eq 3 ] || fail "usage: sh install-safeinstall.sh REPO COMMIT VENV"
repo=$1 commit=$2 venv=$3
printf '%s\n' "$commit" | grep -Eqx '[0-9a-f]{40}' \
  || fail "COMMIT must be a full 40-character commit hash, not '$commit' (get one with: git ls-remote $repo refs/heads/main)"

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git clone -q --no-checkout "$repo" "$src" || fail "cannot clone $repo"
git -C "$src" -c advice.detachedHead=false checkout -q "$commit^{commit}" \
  || fail "$repo has no commit $commit"
[ "$(git -C "$src" rev-parse HEAD)" = "$commit" ] || fail "$repo: $commit is not what was checked out"

"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install -q --require-hashes --only-binary :all: -r "$src/requirements.txt"
"$venv/bin/python" -m pip install -q --no-deps --no-build-isolation "$src"
"$venv/bin/safeinstall" --version
