"""How close to 4x `hashdeep -r -c sha256` can a tree hash get on this machine?

Issue 3 asks `irkit hash` for 4x hashdeep on a tree of 20,000 files. This bench measures,
in one run and interleaved, what any program that reads the files and hashes them with
OpenSSL's SHA-256 must spend here, with nothing of irkit in it:

- read: every file read in 64 KiB blocks by one process per core, nothing hashed
  (the copy out of the page cache);
- hash: the same byte counts hashed from a buffer already in the CPU cache, one process
  per core (OpenSSL's SHA-256, the one hashlib uses);
- loop: both at once, the bare loop of open, read, hash, close per file, one process per
  core: no change detection, no output, no interpreter start.

It prints hashdeep's time over each, so the ratio a perfect implementation would reach.

Run: python bench/hash_floor.py [--files 20000] [--size 2000] [--runs 5]
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _hashdata import IRKIT, make_tree, read_into_cache, timed, tree_args

CHUNK = 64 * 1024


def _files(root: Path) -> list[tuple[bytes, int]]:
    out = []
    for dirpath, _dirs, names in os.walk(os.fsencode(root)):
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            out.append((path, os.stat(path).st_size))
    return out


def _read(path: bytes, _size: int, buf: memoryview) -> None:
    fd = os.open(path, os.O_RDONLY)
    while os.readv(fd, [buf]) == CHUNK:
        pass
    os.close(fd)


def _hash(_path: bytes, size: int, buf: memoryview) -> None:
    h = hashlib.sha256()
    while size > 0:
        h.update(buf[: min(size, CHUNK)])
        size -= CHUNK
    h.digest()


def _loop(path: bytes, _size: int, buf: memoryview) -> None:
    fd = os.open(path, os.O_RDONLY)
    h = hashlib.sha256()
    while n := os.readv(fd, [buf]):
        h.update(buf[:n])
    os.close(fd)
    h.digest()


def _in_processes(
    files: list[tuple[bytes, int]], work: Callable[[bytes, int, memoryview], None]
) -> float:
    cores = os.cpu_count() or 1
    start = time.perf_counter()
    pids = []
    for number in range(cores):
        pid = os.fork()
        if pid == 0:
            try:
                buf = memoryview(bytearray(CHUNK))
                for path, size in files[number::cores]:
                    work(path, size, buf)
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    return time.perf_counter() - start


def main() -> None:
    args = tree_args(20000, 2000, 5)
    if not shutil.which("hashdeep"):
        sys.exit("hashdeep is not installed (apt-get install hashdeep)")
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        tree = Path(tmp) / "tree"
        total = make_tree(tree, args.files, args.size)
        files = _files(tree)
        times: dict[str, list[float]] = {
            k: [] for k in ("hashdeep", "irkit", "loop", "read", "hash")
        }
        runs: dict[str, Callable[[], float]] = {
            "hashdeep": lambda: timed(["hashdeep", "-r", "-c", "sha256", str(tree)]),
            "irkit": lambda: timed([*IRKIT, str(tree)]),
            "loop": lambda: _in_processes(files, _loop),
            "read": lambda: _in_processes(files, _read),
            "hash": lambda: _in_processes(files, _hash),
        }
        for _ in range(args.runs):
            for name, run in runs.items():
                read_into_cache(
                    tree
                )  # all in the page cache, as the bar assumes (see _hashdata.medians)
                times[name].append(run())
        t = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"tree of {len(files):,} files, {total / 1e6:,.0f} MB, {os.cpu_count()} cores, "
            f"median of {args.runs}: " + ", ".join(f"{k} {v:.3f} s" for k, v in t.items())
        )
        hd = t["hashdeep"]
        print(f"hashdeep / irkit: {hd / t['irkit']:.2f}x (bar >= 4)")
        print(f"hashdeep / bare loop: {hd / t['loop']:.2f}x (no program of this kind beats it)")
        print(f"hashdeep / (read + hash): {hd / (t['read'] + t['hash']):.2f}x")


if __name__ == "__main__":
    main()
