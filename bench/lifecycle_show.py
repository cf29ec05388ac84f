"""Bar (issue 5): computing every SLA clock at read time costs little next to reading the
journal. Baseline: parse the journal (`case.read_entries()`, what `irkit log` does); irkit:
parse + fold the incident + read every clock on a Berlin office calendar with holidays
(what `irkit case show` does). The incident toggles in_progress <-> pending every 30 minutes
for months, so the calendar arithmetic is exercised over many intervals.

Run: python bench/lifecycle_show.py [--toggles 5000] [--runs 9]
Prints medians and the ratio (the machine may be shared: repeat, compare medians).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from irkit.formats.ed25519 import signer_from_seed
from irkit.incident import actions, lifecycle
from irkit.incident.settings import settings_from_toml
from irkit.record.case import Case, init_case

SETTINGS = (
    'preset = "itil3"\nzone = "Europe/Berlin"\n[calendars.business]\n'
    'holidays = ["2026-12-25", "2026-12-26", "2027-01-01"]\n'
)


def build(root: Path, toggles: int) -> tuple[Case, datetime]:
    signer = signer_from_seed(b"\x05" * 32, name="Bench", role="lead")
    now = [datetime(2026, 10, 1, 6, tzinfo=UTC)]

    def clock() -> datetime:
        return now[0]

    case = init_case(root, title="bench", case_id="BENCH-5", signer=signer, clock=clock)
    actions.configure(case, signer, settings_from_toml(SETTINGS), reason="bench", clock=clock)
    actions.set_field(case, signer, "impact", "3", reason="b", clock=clock)
    actions.set_field(case, signer, "urgency", "3", reason="b", clock=clock)
    actions.change_state(case, signer, "in_progress", reason="b", clock=clock)
    # Appended directly (the same bodies `irkit case status` writes): each desk command
    # folds the whole journal first, which would make building the case quadratic.
    pending = {"old": "in_progress", "new": "pending", "waiting_for": "customer", "reason": "b"}
    working = {"old": "pending", "new": "in_progress", "reason": "b"}
    for i in range(toggles):
        now[0] += timedelta(minutes=30)
        case.append(signer, "incident.state", working if i % 2 else pending, clock=clock)
        if i % 10 == 0:
            case.append(
                signer, "incident.informed", {"channel": "phone", "summary": "b"}, clock=clock
            )
    return case, now[0]


def median_time(fn: object, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--toggles", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"building a case with {args.toggles:,} state changes ...", flush=True)
        case, end = build(Path(tmp) / "case", args.toggles)
        now = end + timedelta(days=1)
        entries = len(case.read_entries().entries)
        assert not lifecycle.fold(case.read_entries().entries).problems

        def baseline() -> None:
            case.read_entries()

        def show() -> None:
            inc = lifecycle.fold(case.read_entries().entries)
            lifecycle.clocks(inc, now)

        base = median_time(baseline, args.runs)
        full = median_time(show, args.runs)
        print(f"entries: {entries:,}; runs: {args.runs} (medians)")
        print(f"baseline read_entries:          {base * 1000:8.1f} ms")
        print(f"irkit fold + every clock:       {full * 1000:8.1f} ms")
        print(f"ratio: {full / base:.2f}x")
    sys.exit(0)


if __name__ == "__main__":
    main()
