"""Bars (issue 3), each ratio measured in one run, data in the page cache:
- one large file: irkit SHA-256 throughput >= 0.95x `openssl dgst -sha256`;
- a tree of files (1 KiB .. 4 MiB): >= 1.6x one openssl process over the same files
  (`find -print0 | xargs -0 openssl dgst -sha256`) and >= 4x `sha256sum`;
- `-a md5,sha256`: <= 0.9x the time of `-a md5` then `-a sha256`.

Run: python bench/hash.py [--file-mib 2048] [--files 20000] [--tree-mib 2000]
(defaults are smaller so it finishes in a few minutes; pass the issue's sizes for the bars.)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], **kwargs: object) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - start


def median_of(runs: int, cmd: list[str], **kwargs: object) -> float:
    return statistics.median(timed(cmd, **kwargs) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file-mib", type=int, default=512)
    parser.add_argument("--files", type=int, default=4000)
    parser.add_argument("--tree-mib", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    irkit = [sys.executable, "-m", "irkit", "hash"]
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        root = Path(tmp)
        big = root / "big.bin"
        with big.open("wb") as fh:
            block = os.urandom(1024 * 1024)
            for _ in range(args.file_mib):
                fh.write(block)
        tree = root / "tree"
        rng = random.Random(7)
        sizes = [rng.randint(1024, 4 * 1024 * 1024) for _ in range(args.files)]
        scale = args.tree_mib * 1024 * 1024 / sum(sizes)
        pool = os.urandom(4 * 1024 * 1024)
        for i, size in enumerate(sizes):
            folder = tree / f"d{i % 100:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"f{i:05d}").write_bytes(pool[: max(1024, int(size * scale))])
        total = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        timed(["cat", str(big)])  # warm the page cache
        subprocess.run(
            f"find {tree} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True
        )

        o = median_of(args.runs, ["openssl", "dgst", "-sha256", str(big)])
        i = median_of(args.runs, [*irkit, str(big)])
        print(
            f"one {args.file_mib} MiB file: openssl {o:.2f} s, irkit {i:.2f} s "
            f"-> throughput ratio {o / i:.2f} (bar >= 0.95)"
        )

        xargs = f"find {tree} -type f -print0 | xargs -0 openssl dgst -sha256 > /dev/null"
        o = statistics.median(timed(["bash", "-c", xargs]) for _ in range(args.runs))
        s = median_of(1, ["bash", "-c", f"find {tree} -type f -print0 | xargs -0 sha256sum"])
        i = median_of(args.runs, [*irkit, str(tree)])
        print(
            f"tree of {args.files:,} files, {total / 1e6:,.0f} MB: openssl/xargs {o:.2f} s, "
            f"sha256sum {s:.2f} s, irkit {i:.2f} s -> {o / i:.2f}x openssl (bar >= 1.6), "
            f"{s / i:.2f}x sha256sum (bar >= 4)"
        )
        if shutil.which("hashdeep"):
            h = median_of(1, ["hashdeep", "-r", "-c", "sha256", str(tree)])
            print(f"hashdeep -r -c sha256: {h:.2f} s -> irkit {h / i:.2f}x (bar >= 4)")

        md5 = median_of(args.runs, [*irkit, "-a", "md5", str(tree)])
        both = median_of(args.runs, [*irkit, "-a", "md5,sha256", str(tree)])
        print(
            f"-a md5,sha256 {both:.2f} s vs md5 {md5:.2f} s + sha256 {i:.2f} s -> "
            f"{both / (md5 + i):.2f} (bar <= 0.9)"
        )


if __name__ == "__main__":
    main()
