"""Write safeinstall/policy/data/spdx-ids.txt from the installed packaging's SPDX table.

Usage: python bench/derive_spdx_ids.py

The policy's ``licenses.allow`` ids are validated on every `check`; written as packaging writes
them, they are answered from this list instead of importing packaging's table. The list is
stamped with the CRC-32 of packaging's license sources: after a packaging upgrade it is not used
(packaging answers) until this script is re-run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from safeinstall.policy.licenses import spdx_ids_text

OUT = Path(__file__).parent.parent / "safeinstall" / "policy" / "data" / "spdx-ids.txt"


def main() -> int:
    OUT.write_text(spdx_ids_text(), encoding="ascii", newline="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
