"""Bar (issue 3): `irkit evidence collect` of a 1 GiB file (copy, hash, verify) takes at most
1.3x the time of `cp` followed by `openssl dgst -sha256` of the copy.

irkit fsyncs the copy before it signs the entry that records it (the journal must never name
a copy a power cut can lose); `cp` does not. So a second baseline, `cp` + `sync FILE` +
`openssl dgst`, is timed as well, and both ratios are printed. The machine is shared: medians.

Run: python bench/collect.py [--mib 1024] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _journal import bench_signer

from irkit import keys
from irkit.case import init_case


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    signer = bench_signer()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        root = Path(tmp)
        src = root / "image.bin"
        with src.open("wb") as fh:
            for _ in range(args.mib):
                fh.write(os.urandom(1024 * 1024))
        key = root / "k.key"
        keys.write_key_file(key, signer, None, created="2026-01-01T00:00:00.000000Z")
        base, durable, ours = [], [], []
        for n in range(args.runs):
            copy = root / f"copy{n}"
            for synced, times in ((False, base), (True, durable)):
                start = time.perf_counter()
                subprocess.run(["cp", str(src), str(copy)], check=True)
                if synced:
                    subprocess.run(["sync", str(copy)], check=True)
                subprocess.run(
                    ["openssl", "dgst", "-sha256", str(copy)],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                times.append(time.perf_counter() - start)
                copy.unlink()
            case = init_case(root / f"case{n}", title="bench", case_id=f"B-{n}", signer=signer)
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "irkit",
                    "evidence",
                    "collect",
                    str(src),
                    "--case",
                    str(case.root),
                    "--key",
                    str(key),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            ours.append(time.perf_counter() - start)
            subprocess.run(["rm", "-rf", str(case.root)], check=True)
    b, d, o = statistics.median(base), statistics.median(durable), statistics.median(ours)
    print(
        f"{args.mib} MiB, median of {args.runs}: cp + openssl dgst {b:.2f} s, "
        f"cp + sync + openssl dgst {d:.2f} s, irkit evidence collect {o:.2f} s\n"
        f"ratio vs cp + openssl {o / b:.2f} (bar <= 1.3: {'PASS' if o / b <= 1.3 else 'FAIL'}); "
        f"ratio vs cp + sync + openssl {o / d:.2f}"
    )


if __name__ == "__main__":
    main()
