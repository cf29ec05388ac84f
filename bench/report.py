"""Report rendering time for 10,000 and 20,000 notes plus as many evidence items: the bar is
< 15 s for 10,000/10,000, ratio <= 2.3, peak memory < 1 GB.

Each size runs in its own child process (peak memory is per process: ru_maxrss); the journal
is built once per size with bench/_journal.py (signed, chained notes, fixed clock), then
evidence.collected entries of 100 items each, each batch followed by a custody.stored entry.
The machine is shared with other work: several runs per size, medians reported.
The custody template (one form per item) has its own bar: 10,000 items in under 30 s.
Run: /tmp/venv/bin/python bench/report.py [--runs 3] [--sizes 10000,20000]
     /tmp/venv/bin/python bench/report.py --template custody --sizes 10000 --runs 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def add_evidence(case_dir: Path, items: int, signer: object) -> None:
    """Append `items` evidence items (by reference, 100 per entry) and their storage."""
    from datetime import UTC, datetime, timedelta

    from irkit.formats.timefmt import format_utc
    from irkit.record.entry import build_line
    from irkit.record.journal import entry_hash

    path = case_dir / "journal.jsonl"
    lines = path.read_bytes().splitlines()
    seq, prev = len(lines), entry_hash(lines[-1])
    start = datetime(2026, 1, 2, tzinfo=UTC)
    stamp = "2026-01-01T09:00:00.000000Z"
    out = []
    for first in range(1, items + 1, 100):
        ids = [f"E-{n:04d}" for n in range(first, min(first + 100, items + 1))]
        batch = [
            {
                "id": item,
                "path": f"/mnt/evidence/host-{n % 97:02d}/var/log/archive/syslog.{n}.gz",
                "sha256": hashlib.sha256(item.encode()).hexdigest(),
                "size": 1000 + n,
                "mode": 0o644,
                "uid": 0,
                "gid": 0,
                "mtime": stamp,
                "ctime": stamp,
                "atime": stamp,
                "stored": False,
            }
            for n, item in enumerate(ids, start=first)
        ]
        bodies = [
            (
                "evidence.collected",
                {
                    "host": "forensic-ws",
                    "location": "lab bench 3",
                    "description": f"log archive batch {first // 100 + 1}",
                    "items": batch,
                },
            ),
            ("custody.stored", {"items": ids, "location": "evidence locker 2"}),
        ]
        for kind, body in bodies:
            recorded = format_utc(start + timedelta(seconds=seq))
            line = build_line(signer, seq=seq, prev=prev, kind=kind, body=body, recorded=recorded)
            prev = entry_hash(line)
            out.append(line + b"\n")
            seq += 1
    with path.open("ab") as fh:
        fh.write(b"".join(out))


def child(case_dir: str, template: str) -> None:
    from irkit.record.case import Case
    from irkit.report import export

    entries = Case.open(Path(case_dir)).read_entries().entries
    start = time.perf_counter()
    pdf = export.render(entries, template, redact=False)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "bytes": len(pdf)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child")
    parser.add_argument("--sizes", default="10000,20000", help="notes (= evidence items) per run")
    parser.add_argument(
        "--template",
        default="incident",
        help="incident (bar: 10k < 15 s, ratio <= 2.3) or custody (bar: 10k items < 30 s)",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child, args.template)
        return
    from _journal import bench_signer, make_case

    sizes = [int(x) for x in args.sizes.split(",")]
    results: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for notes in sizes:
            signer = bench_signer()
            case = make_case(Path(tmp) / f"c{notes}", notes + 1, signer)
            add_evidence(case.root, notes, signer)
            case.invalidate_state()
            runs = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        str(case.root),
                        "--template",
                        args.template,
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs.append(json.loads(out.stdout))
            secs = statistics.median(r["seconds"] for r in runs)
            peak = max(r["peak_mb"] for r in runs)
            results[notes] = (secs, peak)
            all_runs = ", ".join(f"{r['seconds']:.2f}" for r in runs)
            print(
                f"{notes:>6} notes + items: render median {secs:.2f} s over {args.runs} runs "
                f"(all: {all_runs}), "
                f"peak RSS {peak:.0f} MB, {runs[0]['bytes'] / 1e6:.1f} MB PDF"
            )
    if args.template == "custody":
        first = results[sizes[0]][0]
        verdict = "PASS" if sizes[0] != 10000 or first < 30 else "FAIL"
        print(f"custody template, {sizes[0]} items: {first:.2f} s (bar: 10k < 30 s): {verdict}")
    if len(sizes) < 2 or args.template != "incident":
        return
    small, large = results[sizes[0]][0], results[sizes[-1]][0]
    ratio = large / small
    ok = small < 15 and ratio <= 2.3 and max(p for _, p in results.values()) < 1024
    print(
        f"ratio {sizes[-1]}/{sizes[0]}: {ratio:.2f} (bar: 10k < 15 s, ratio <= 2.3, "
        "peak < 1 GB): "
        f"{'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
