"""Build the five-databases example: `python build.py DEST [--empty NAME]`.

Then: irkit backup manifest DEST -o m.json; tar czf b.tgz -C DEST .;
      irkit backup verify b.tgz --manifest m.json --spec spec.toml
"""

from __future__ import annotations

import sys
from pathlib import Path

from irkit.backup import build_five_databases

if __name__ == "__main__":
    dest = Path(sys.argv[1])
    empty = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--empty" else None
    for path in build_five_databases(dest, empty=empty):
        print(path)
