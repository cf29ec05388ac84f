"""Bar (issue 3): `-a md5,sha256` over a tree in <= 0.9x the time of `-a md5` and
`-a sha256` run one after the other (one read, not two).

Run: python bench/hash_multi.py [--files 4000] [--size MIB (default 400)] [--runs 3]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _hashdata import IRKIT, make_tree, medians, tree_args


def main() -> None:
    args = tree_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        tree = Path(tmp) / "tree"
        total = make_tree(tree, args.files, args.size)
        t = medians(
            args.runs,
            warm=tree,
            md5=[*IRKIT, "-a", "md5", str(tree)],
            sha256=[*IRKIT, "-a", "sha256", str(tree)],
            both=[*IRKIT, "-a", "md5,sha256", str(tree)],
        )
        ratio = t["both"] / (t["md5"] + t["sha256"])
        print(
            f"tree of {args.files:,} files, {total / 1e6:,.0f} MB, median of {args.runs}: "
            f"md5 {t['md5']:.2f} s, sha256 {t['sha256']:.2f} s, md5,sha256 {t['both']:.2f} s "
            f"-> {ratio:.2f} of the two runs (bar <= 0.9)"
        )


if __name__ == "__main__":
    main()
