"""Shared helpers for the hash benches: data under /tmp, interleaved timed runs, medians.

The machine is shared and has 2 cores, so every comparison alternates baseline and irkit
run by run and reports medians; data is read once first so both sides see the page cache.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

# $IRKIT_BIN times another installed `irkit` command instead of this interpreter's. The dev
# install (`pip install -e`) adds a finder that every start imports, about 6 ms here that a
# user's `pip install .` does not pay: time that form with
#   python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install .
#   IRKIT_BIN=/tmp/bench-venv/bin/irkit python bench/hash_tree.py
_BIN = os.environ.get("IRKIT_BIN")
IRKIT = [_BIN, "hash"] if _BIN else [sys.executable, "-m", "irkit", "hash"]
# irkit is timed as installed: `pip install` compiles its bytecode once. A checkout run
# under PYTHONDONTWRITEBYTECODE (set in some sandboxes) recompiles every module on every
# start, about 10 ms here, which no user pays.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def timed(cmd: list[str] | str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, shell=isinstance(cmd, str))
    return time.perf_counter() - start


def read_into_cache(root: Path) -> None:
    """Read every file under `root` (untimed), so the next command finds it in memory."""
    subprocess.run(
        f"find {root} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True
    )


def medians(runs: int, warm: Path | None = None, **cmds: list[str] | str) -> dict[str, float]:
    """Median wall time of each command, the commands interleaved run by run.

    `warm`: read every file under it, untimed, before each timed command. The bars assume
    the data in the page cache, and this VM's memory reclaim (DAMON) pages out file data
    idle for a while, so a command could otherwise pay for disk reads its rival did not.
    """
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            if warm is not None:
                read_into_cache(warm)
            times[name].append(timed(cmd))
    return {name: statistics.median(t) for name, t in times.items()}


def make_file(path: Path, mib: int) -> None:
    block = os.urandom(1024 * 1024)
    with path.open("wb") as fh:
        for _ in range(mib):
            fh.write(block)
    timed(["cat", str(path)])  # into the page cache


def make_tree(root: Path, files: int, mib: int) -> int:
    """`files` files of 1 KiB .. 4 MiB (random, scaled to about `mib` MiB) in 100 folders."""
    rng = random.Random(7)
    sizes = [rng.randint(1024, 4 * 1024 * 1024) for _ in range(files)]
    scale = mib * 1024 * 1024 / sum(sizes)
    pool = os.urandom(4 * 1024 * 1024)
    total = 0
    for i, size in enumerate(sizes):
        folder = root / f"d{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        n = min(len(pool), max(1024, int(size * scale)))
        offset = rng.randint(0, len(pool) - n)
        (folder / f"f{i:05d}").write_bytes(pool[offset : offset + n])
        total += n
    read_into_cache(root)
    return total


def tree_args(files: int = 4000, size: int = 400, runs: int = 3) -> argparse.Namespace:
    """--files, --size (MiB, about) and --runs of a tree bench, with its defaults."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=files)
    parser.add_argument("--size", type=int, default=size, help="MiB, about")
    parser.add_argument("--runs", type=int, default=runs)
    return parser.parse_args()
