"""`safeinstall sbom [LOCK] [-o FILE]`: a CycloneDX 1.6 JSON bill of materials of a lock."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from safeinstall.commands import add_lock_argument
from safeinstall.ui import UI

HELP = "write a CycloneDX 1.6 JSON bill of materials of a lock"
DESCRIPTION = (
    "Write a CycloneDX 1.6 JSON SBOM of every locked package: purl, version, sha256 of each "
    "file, license, index of origin and the dependency graph. SOURCE_DATE_EPOCH fixes the "
    "timestamp and serial number for reproducible output."
)
FORMATS = ("json",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_lock_argument(parser, git=True)
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not stdout")


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall import __version__
    from safeinstall.errors import TargetEnvironmentError
    from safeinstall.files.atomic import digest_of, replace_file
    from safeinstall.lock.read import default_lock
    from safeinstall.lock.ref import LockRef, parse_ref, read_lock_ref
    from safeinstall.report.sbom import timestamp, to_cyclonedx

    ref = parse_ref(args.lock) if args.lock else LockRef(default_lock())
    before = digest_of(args.output) if args.output is not None else None  # replaced if unchanged
    lock = read_lock_ref(ref)
    try:  # pip's own default index: purls from it need no repository_url
        from safeinstall.policy.pipconfig import default_index

        pip_default: str | None = default_index(sys.executable)[0]
    except TargetEnvironmentError:
        pip_default = None  # every purl then names its index: longer, still right
    bom = to_cyclonedx(
        lock,
        tool_version=__version__,
        when=timestamp(os.environ),
        default_index=pip_default,
        reproducible="SOURCE_DATE_EPOCH" in os.environ,
    )
    if args.output is None:
        ui.json(bom)
    else:
        import json

        data = (json.dumps(bom, indent=2) + "\n").encode()
        replace_file(args.output, data, expected_digest=before)
        ui.summary(f"wrote {args.output}: {len(bom['components'])} components from {ref}")
    return 0
