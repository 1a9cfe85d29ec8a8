"""The comment lines a requirements.txt lock carries besides its pins: the freshness digest, the
content digest, the target environments, notes for the reader (a package locked at different
versions on different targets), and under each package where it comes from and its license.

The lock writer and reader (``model.py``) and `check`'s license rule read them from here; the
rule runs on every commit, so it loads this and not the Lock model.
"""

DIGEST_PREFIX = "# safeinstall-digest: "
CONTENT_PREFIX = "# safeinstall-content: "  # the lock's own content digest (lock/content.py)
ENVIRONMENT_PREFIX = "# environment: "
LICENSE_PREFIX = "# license: "
NOTE_PREFIX = "# note: "
VIA_PREFIX = "# via "
# under a package let in inside min-release-age by `lock --allow-fresh`: why, and by whom
ALLOW_FRESH_PREFIX = "# allow-fresh: "
# the build environment of a locked sdist (a BuildSet): a heading, then one line per pin
BUILD_PREFIX = "# safeinstall-build: "
BUILD_PIN_PREFIX = "#   build-requires: "
