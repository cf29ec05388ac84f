"""Bar (issue 3): SHA-256 of one large file at >= 0.95x the throughput of
`openssl dgst -sha256` on it (the single-core limit), data in the page cache.

Run: python bench/hash_single.py [--size MIB (default 1024; the issue says 2048)] [--runs 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _hashdata import IRKIT, make_file, medians


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024, help="MiB")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        big = Path(tmp) / "big.bin"
        make_file(big, args.size)
        t = medians(
            args.runs,
            warm=big.parent,
            openssl=["openssl", "dgst", "-sha256", str(big)],
            irkit=[*IRKIT, str(big)],
        )
        print(
            f"one {args.size} MiB file, median of {args.runs}: openssl {t['openssl']:.2f} s, "
            f"irkit {t['irkit']:.2f} s -> irkit throughput {t['openssl'] / t['irkit']:.2f}x "
            "openssl (bar >= 0.95)"
        )


if __name__ == "__main__":
    main()
