"""Bar (issue 2): `irkit note add` with a 100,000-entry journal takes at most 1.2x its time
with a 10-entry journal, and its median is under 0.35 s with an unencrypted key; with a
passphrase only the KDF's designed cost is added.

Run: python bench/note_add.py [--entries 100000] [--runs 15]
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
from _journal import bench_signer, make_case

from irkit.record import keyfiles


def time_note_add(case_dir: Path, key: Path, env: dict[str, str]) -> float:
    cmd = [
        sys.executable,
        "-m",
        "irkit",
        "note",
        "add",
        "benchmark note",
        "--tag",
        "bench",
        "--case",
        str(case_dir),
        "--key",
        str(key),
    ]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    signer = bench_signer()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plain = root / "plain.key"
        sealed = root / "sealed.key"
        keyfiles.write_key_file(plain, signer, None, created="2026-01-01T00:00:00.000000Z")
        keyfiles.write_key_file(
            sealed, signer, "bench passphrase", created="2026-01-01T00:00:00.000000Z"
        )
        print(f"building journals: 10 and {args.entries:,} entries ...", flush=True)
        small = make_case(root / "small", 10, signer).root
        large = make_case(root / "large", args.entries, signer).root
        env = dict(os.environ, IRKIT_PASSPHRASE="bench passphrase")
        for case_dir in (small, large):  # warm-up: page cache, append cache rebuilt once
            time_note_add(case_dir, plain, env)
            time_note_add(case_dir, plain, env)
        t_small: list[float] = []
        t_large: list[float] = []
        t_sealed: list[float] = []
        for _ in range(args.runs):  # interleaved, so machine noise hits both alike
            t_small.append(time_note_add(small, plain, env))
            t_large.append(time_note_add(large, plain, env))
            t_sealed.append(time_note_add(small, sealed, env))
        kdf: list[float] = []
        for _ in range(5):
            start = time.perf_counter()
            keyfiles.load_signer(sealed, lambda: "bench passphrase")
            kdf.append(time.perf_counter() - start)
    m_small, m_large = statistics.median(t_small), statistics.median(t_large)
    m_sealed, m_kdf = statistics.median(t_sealed), statistics.median(kdf)
    ratio = m_large / m_small
    print(f"note add, 10 entries:        median {m_small:.3f} s")
    print(f"note add, {args.entries:,} entries: median {m_large:.3f} s")
    print(f"ratio large/small: {ratio:.3f}  (bar <= 1.2: {'PASS' if ratio <= 1.2 else 'FAIL'})")
    print(f"median under 0.35 s: {'PASS' if m_large < 0.35 else 'FAIL'}")
    print(
        f"with passphrase: median {m_sealed:.3f} s; KDF unlock alone {m_kdf:.3f} s; "
        f"overhead beyond KDF {m_sealed - m_small - m_kdf:+.3f} s"
    )


if __name__ == "__main__":
    main()
