"""Build the five-databases example: `python build.py DEST [--empty NAME]`.

Five SQLite databases (billing, customers, inventory, orders, payroll); `--empty payroll`
(or `payroll.sqlite`) leaves that one without rows, the failure a digest cannot see.
Re-running rebuilds the same data in place. Then:

    irkit backup manifest DEST -o m.json
    tar czf b.tgz -C DEST .
    irkit backup verify b.tgz --manifest m.json --spec spec.toml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from irkit.backup.testrestore import FIVE_DATABASES, build_five_databases
from irkit.errors import IrkitError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write the databases into")
    parser.add_argument(
        "--empty", metavar="NAME", help=f"leave this one empty: {', '.join(FIVE_DATABASES)}"
    )
    args = parser.parse_args(argv)
    try:
        paths = build_five_databases(args.dest, empty=args.empty)
    except IrkitError as exc:
        print(f"build.py: error: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"build.py: error: {exc.filename or args.dest}: {exc.strerror}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
