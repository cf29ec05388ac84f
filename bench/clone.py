"""Bar (issue 14): `irkit clone` of a 100,000-entry case from a local SeaweedFS takes at most
3x the time `irkit verify` takes on the same journal, both measured in this run (median).

Run: python bench/clone.py [--entries 100000] [--repeat 3] [--dir]
(--dir, or no `weed` binary installed: a directory remote instead, said in the output)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.s3server
from _journal import bench_signer, make_case

from irkit.audit.verify import verify_case
from irkit.remote import state, sync


def s3_remote(work: Path) -> tuple[state.RemoteConfig, object] | None:
    from tests.s3server import S3Server, weed_binary

    binary = weed_binary()
    if binary is None:
        return None
    server = S3Server(binary, work / "weed")
    (work / "weed").mkdir()
    server.start()
    os.environ.update(server.env())
    bucket = server.new_bucket()
    return state.RemoteConfig(url=f"s3://{bucket}/case", endpoint_url=server.endpoint), server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", action="store_true", help="a directory remote, not SeaweedFS")
    args = parser.parse_args()
    os.environ.setdefault("IRKIT_HOME", tempfile.mkdtemp(prefix="irkit-bench-home-"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = None
        got = None if args.dir else s3_remote(work)
        if got is None:
            (work / "remote").mkdir()
            config = state.RemoteConfig(url=str(work / "remote"))
            kind = "directory remote" + ("" if args.dir else " (no `weed` binary found)")
        else:
            config, server = got
            kind = f"SeaweedFS at {config.endpoint_url}"
        try:
            print(f"building a {args.entries:,}-entry journal ...", flush=True)
            signer = bench_signer()
            case = make_case(work / "case", args.entries, signer)
            sync.add_remote(case, "origin", config)
            start = time.perf_counter()
            sync.sync(case, signer=signer)
            print(f"published to the {kind} in {time.perf_counter() - start:.1f} s", flush=True)
            clones: list[float] = []
            verifies: list[float] = []
            for i in range(args.repeat):
                start = time.perf_counter()
                report = verify_case(case.root, trust=[signer.fingerprint])
                verifies.append(time.perf_counter() - start)
                assert report.ok, report.problems[:3]
                dest = work / f"clone-{i}"
                start = time.perf_counter()
                result = sync.clone(config.url, dest, trust=signer.fingerprint, settings=config)
                clones.append(time.perf_counter() - start)
                assert result.entries == args.entries
                shutil.rmtree(dest)
                print(f"run {i + 1}: verify {verifies[-1]:.2f} s, clone {clones[-1]:.2f} s")
        finally:
            if server is not None:
                server.stop()  # type: ignore[attr-defined]
    ratio = statistics.median(clones) / statistics.median(verifies)
    print(
        f"clone of {args.entries:,} entries from the {kind}: median "
        f"{statistics.median(clones):.2f} s; verify median "
        f"{statistics.median(verifies):.2f} s; ratio {ratio:.2f}x (bar <= 3x): "
        + ("PASS" if ratio <= 3 else "FAIL")
    )


if __name__ == "__main__":
    main()
