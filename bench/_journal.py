"""Build large, valid case journals quickly for benchmarks (signed, chained, one writer)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from irkit.formats import ed25519
from irkit.formats.timefmt import format_utc
from irkit.record.case import Case, init_case
from irkit.record.entry import build_line
from irkit.record.journal import entry_hash


def bench_signer() -> ed25519.Signer:
    return ed25519.signer_from_seed(hashlib.sha256(b"irkit bench key").digest(), "Bench", "lead")


def make_case(root: Path, entries: int, signer: ed25519.Signer) -> Case:
    """A case whose journal holds `entries` entries: case.opened plus realistic notes."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    case = init_case(root, title="bench", case_id="BENCH-1", signer=signer, clock=lambda: start)
    last = case.journal_path.read_bytes().rstrip(b"\n")
    prev = entry_hash(last)
    with case.journal_path.open("ab") as out:
        batch: list[bytes] = []
        for seq in range(1, entries):
            body = {
                "text": f"Observation {seq}: checked host web-{seq % 97:02d}, process list "
                "captured, nothing unusual in /tmp; next: memory image of the database server.",
                "tags": ["onsite", "triage"],
                "attachments": [],
                "confidential": False,
                "event_time": "2026-01-01T10:00:00+01:00",
            }
            recorded = format_utc(start + timedelta(seconds=seq))
            line = build_line(
                signer, seq=seq, prev=prev, kind="note.added", body=body, recorded=recorded
            )
            prev = entry_hash(line)
            batch.append(line + b"\n")
            if len(batch) >= 5000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    case.invalidate_state()
    return case
