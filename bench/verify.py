"""Bar (issue 2): `irkit verify` on a 100,000-entry journal reaches at least 80% of
(cores x single-core Ed25519 verify rate), both measured in this run.

Run: python bench/verify.py [--entries 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _journal import bench_signer, make_case

from irkit.audit.verify import verify_case


def single_core_rate(samples: int = 20_000) -> float:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    message = b'{"actor":"ed25519:' + b"ab" * 32 + b'","body":{"text":"' + b"x" * 250 + b'"}}'
    signature = key.sign(message)
    start = time.perf_counter()
    for _ in range(samples):
        public.verify(signature, message)
    return samples / (time.perf_counter() - start)


def _raw_worker(samples: int) -> float:
    return single_core_rate(samples)


def raw_parallel_rate(cores: int, samples: int = 20_000) -> float:
    """What the machine itself delivers: `cores` processes doing nothing but verify."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(cores) as pool:
        start = time.perf_counter()
        pool.map(_raw_worker, [samples] * cores)
        return cores * samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        print(f"building a {args.entries:,}-entry journal ...", flush=True)
        case = make_case(Path(tmp) / "case", args.entries, bench_signer())
        ratios: list[float] = []
        machine: list[float] = []
        for _ in range(args.repeat):
            # the baseline is taken right before and right after, so both see the same load
            before = single_core_rate()
            start = time.perf_counter()
            report = verify_case(case.root, content=False)
            elapsed = time.perf_counter() - start
            base = (before + single_core_rate()) / 2
            raw = raw_parallel_rate(cores)
            assert report.ok, report.problems[:3]
            rate = report.entries / elapsed
            ratio = rate / (cores * base)
            ratios.append(ratio)
            machine.append(raw / (cores * base))
            print(
                f"single-core Ed25519 verify: {base:,.0f}/s; irkit verify: {elapsed:.2f} s = "
                f"{rate:,.0f} entries/s on {cores} cores; ratio {ratio:.2f} "
                f"(raw {cores}-process verify alone: {raw:,.0f}/s)",
                flush=True,
            )
    median = statistics.median(ratios)
    print(f"median ratio {median:.2f} (bar >= 0.80: {'PASS' if median >= 0.8 else 'FAIL'})")
    print(
        f"for scale: {cores} processes doing nothing but Ed25519 verify reach a median "
        f"{statistics.median(machine):.2f} of {cores} x the single-core rate on this machine"
    )


if __name__ == "__main__":
    main()
