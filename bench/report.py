"""Report rendering time for 10,000 and 20,000 notes: the bar is < 15 s and ratio <= 2.3.

Each size runs in its own child process (peak memory is per process: ru_maxrss); the journal
is built once per size with bench/_journal.py (signed, chained notes, fixed clock). The
machine is shared with other work: several runs per size, medians reported.
Run: /tmp/venv/bin/python bench/report.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def child(case_dir: str) -> None:
    from irkit.case import Case
    from irkit.report import export

    entries = Case.open(Path(case_dir)).read_entries().entries
    start = time.perf_counter()
    pdf = export.render(entries, "incident", redact=False)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "bytes": len(pdf)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from _journal import bench_signer, make_case

    results: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for notes in (10_000, 20_000):
            case = make_case(Path(tmp) / f"c{notes}", notes + 1, bench_signer())
            runs = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(case.root)],
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
                f"{notes:>6} notes: render median {secs:.2f} s over {args.runs} runs "
                f"(all: {all_runs}), "
                f"peak RSS {peak:.0f} MB, {runs[0]['bytes'] / 1e6:.1f} MB PDF"
            )
    ratio = results[20_000][0] / results[10_000][0]
    ok = results[10_000][0] < 15 and ratio <= 2.3 and max(p for _, p in results.values()) < 1024
    print(
        f"ratio 20k/10k: {ratio:.2f} (bar: 10k < 15 s, ratio <= 2.3, peak < 1 GB): "
        f"{'PASS' if ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
