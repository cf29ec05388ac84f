"""Bench: `irkit backup verify` of a .tar.gz against its manifest vs `tar -xzf` alone.

Bar (issue 4): at most 1.15x the time of `tar -xzf`, peak memory under 300 MB. Data is
generated under /tmp (half random, half compressible text, in files of 1-32 MiB) and
deleted afterwards. The machine is shared (2 cores): runs alternate, medians are reported.

    python bench/backup_verify.py [--size MIB] [--runs N]
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


def _make(src: Path, size_mib: int) -> None:
    rng = random.Random(4)
    left = size_mib << 20
    i = 0
    text = b"".join(f"row {n}: lorem ipsum {n * 7919 % 10007}\n".encode() for n in range(50000))
    while left > 0:
        n = min(left, rng.randint(1, 32) << 20)
        with (src / f"f{i:04d}.bin").open("wb") as fh:
            if i % 2:
                fh.write(os.urandom(n))
            else:
                fh.write((text * (n // len(text) + 1))[:n])
        left -= n
        i += 1


def _run(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {cmd}")
    return took, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024, help="MiB of data (default 1024)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="irkit-bench-backup-"))
    try:
        src = work / "src"
        src.mkdir()
        _make(src, args.size)
        archive = work / "backup.tar.gz"
        subprocess.run(["tar", "-czf", str(archive), "-C", str(src), "."], check=True)
        manifest = work / "manifest.json"
        irkit = [sys.executable, "-m", "irkit", "backup"]
        subprocess.run([*irkit, "manifest", str(src), "-o", str(manifest)], check=True)
        shutil.rmtree(src)
        tar_t: list[float] = []
        irk_t: list[float] = []
        peak = 0
        for n in range(args.runs):
            dest = work / f"x{n}"
            dest.mkdir()
            tar_t.append(_run(["tar", "-xzf", str(archive), "-C", str(dest)])[0])
            shutil.rmtree(dest)
            took, rss = _run([*irkit, "verify", str(archive), "--manifest", str(manifest)])
            irk_t.append(took)
            peak = max(peak, rss)
        t, i = statistics.median(tar_t), statistics.median(irk_t)
        size = archive.stat().st_size >> 20
        print(f"data {args.size} MiB, archive {size} MiB, {args.runs} runs (medians)")
        print(f"tar -xzf:            {t:7.2f} s   runs {[round(x, 2) for x in tar_t]}")
        print(f"irkit backup verify: {i:7.2f} s   runs {[round(x, 2) for x in irk_t]}")
        print(f"ratio {i / t:.2f}x (bar 1.15x); irkit peak RSS {peak / 1024:.0f} MiB (bar 300)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
