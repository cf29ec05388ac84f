"""Bar (issue 3): `irkit evidence collect` of a 1 GiB file (copy, hash, verify) takes at most
1.3x the time of `cp` followed by `openssl dgst -sha256` of the copy.

irkit fsyncs the copy before it signs the entry that records it (the journal must never name
a copy a power cut can lose); `cp` does not. So a second baseline, `cp` + `sync FILE` +
`openssl dgst`, is timed as well, and both ratios are printed. The machine is shared: medians.

With `--files N` the source is instead a folder of N small files (1 to 64 KiB), collected
as one entry, against `cp -r`, (`sync`,) and `openssl dgst` of every copy through xargs. No
bar: it shows what a folder collection costs per file.

Every timed command starts with memory that a helper process has just touched and freed.
This VM hands free memory back to its host (virtio-balloon free page reporting), and the
first write to such memory costs a host page fault per page: measured here, writing 1 GiB
into the page cache took 0.3 s or 1.7 s depending only on how long the memory had been
free, so whichever command ran after a pause lost. Touching memory first gives every
command the same start.

Run: python bench/collect.py [--mib 1024] [--files N] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _journal import bench_signer

from irkit.record import keyfiles
from irkit.record.case import init_case


def _touch_memory(gib: int = 3) -> None:
    """Allocate, write and free `gib` GiB in a child process (see the module docstring)."""
    code = f"b = bytearray({gib} << 30); b[::4096] = bytes(len(range(0, {gib} << 30, 4096)))"
    subprocess.run([sys.executable, "-c", code], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--files", type=int, help="a folder of this many small files")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    signer = bench_signer()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        root = Path(tmp)
        if args.files:
            src = root / "folder"
            rng = random.Random(7)
            for i in range(args.files):
                sub = src / f"d{i % 50:02d}"
                sub.mkdir(parents=True, exist_ok=True)
                (sub / f"f{i:06d}").write_bytes(os.urandom(rng.randint(1024, 64 * 1024)))
            what = f"folder of {args.files:,} files"
        else:
            src = root / "image.bin"
            with src.open("wb") as fh:
                for _ in range(args.mib):
                    fh.write(os.urandom(1024 * 1024))
            what = f"{args.mib} MiB"
        key = root / "k.key"
        keyfiles.write_key_file(key, signer, None, created="2026-01-01T00:00:00.000000Z")
        base, durable, ours = [], [], []
        for n in range(args.runs):
            copy = root / f"copy{n}"
            for synced, times in ((False, base), (True, durable)):
                _touch_memory()
                start = time.perf_counter()
                subprocess.run(["cp", "-r", str(src), str(copy)], check=True)
                if synced:
                    subprocess.run(["sync", "-f", str(copy)], check=True)
                subprocess.run(
                    f"find {copy} -type f -print0 | xargs -0 openssl dgst -sha256",
                    shell=True,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                times.append(time.perf_counter() - start)
                subprocess.run(["rm", "-rf", str(copy)], check=True)
            case = init_case(root / f"case{n}", title="bench", case_id=f"B-{n}", signer=signer)
            _touch_memory()
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
    for name, times in (("cp + openssl", base), ("cp + sync + openssl", durable), ("irkit", ours)):
        print(f"{name}: " + ", ".join(f"{t:.2f}" for t in times))
    print(
        f"{what}, median of {args.runs}: cp + openssl dgst {b:.2f} s, "
        f"cp + sync + openssl dgst {d:.2f} s, irkit evidence collect {o:.2f} s\n"
        f"ratio vs cp + openssl {o / b:.2f}"
        + ("" if args.files else f" (bar <= 1.3: {'PASS' if o / b <= 1.3 else 'FAIL'})")
        + f"; ratio vs cp + sync + openssl {o / d:.2f}"
    )
    if args.files:
        print(f"irkit: {o / args.files * 1e6:.0f} us per file")


if __name__ == "__main__":
    main()
