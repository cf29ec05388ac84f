"""Bars (issue 3): SHA-256 of a tree of files (1 KiB .. 4 MiB) at >= 1.6x the throughput of
one openssl process over the same files (`find -print0 | xargs -0 openssl dgst -sha256`)
and >= 4x `sha256sum` and `hashdeep -r -c sha256`.

Run: python bench/hash_tree.py [--files 4000] [--size MIB (default 400)] [--runs 3]
(the issue's figure is --files 20000 --size 2000).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from _hashdata import IRKIT, make_tree, medians, tree_args


def main() -> None:
    args = tree_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        tree = Path(tmp) / "tree"
        total = make_tree(tree, args.files, args.size)
        cmds: dict[str, list[str] | str] = {
            "openssl": f"find {tree} -type f -print0 | xargs -0 openssl dgst -sha256",
            "sha256sum": f"find {tree} -type f -print0 | xargs -0 sha256sum",
            "irkit": [*IRKIT, str(tree)],
        }
        if shutil.which("hashdeep"):
            cmds["hashdeep"] = ["hashdeep", "-r", "-c", "sha256", str(tree)]
        t = medians(args.runs, warm=tree, **cmds)
        i = t["irkit"]
        print(
            f"tree of {args.files:,} files, {total / 1e6:,.0f} MB, median of {args.runs}: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in t.items())
        )
        print(f"irkit vs openssl/xargs: {t['openssl'] / i:.2f}x (bar >= 1.6)")
        print(f"irkit vs sha256sum: {t['sha256sum'] / i:.2f}x (bar >= 4)")
        if "hashdeep" in t:
            print(f"irkit vs hashdeep: {t['hashdeep'] / i:.2f}x (bar >= 4)")


if __name__ == "__main__":
    main()
