"""Fixed keys and a fixed clock give a byte-identical journal and checkpoint.

Regenerate after an intentional format change with IRKIT_REGEN_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from irkit.notes.notes import add_note, correct_note
from irkit.record import checkpoints
from irkit.record.case import add_member, init_case
from tests.conftest import FixedClock, asset, seeded_signer


def _build(root: Path, attachment: Path) -> tuple[bytes, bytes]:
    alice = seeded_signer("alice", "lead")
    bob = seeded_signer("bob")
    clock = FixedClock(datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC), step=61.5)
    case = init_case(
        root, title="Golden case: Ünïcode ✓", case_id="GOLD-1", signer=alice, clock=clock
    )
    add_member(case, alice, bob.public, name="Bob Ωmega", role="responder", clock=clock)
    event = datetime.fromisoformat("2026-03-04T06:00:00+01:00")
    add_note(case, bob, "Arrived on site", event_time=event, tags=["onsite", "a"], clock=clock)
    wrong = add_note(case, alice, "Log copied", attach=[attachment], clock=clock)
    correct_note(
        case, alice, wrong.seq, "Log copied (auth.log)", reason="name the file", clock=clock
    )
    add_note(case, bob, "Private phone 555-0100", confidential=True, clock=clock)
    note = checkpoints.issue(case, alice).note
    return case.journal_path.read_bytes(), note


def test_golden_journal_and_checkpoint(tmp_path: Path) -> None:
    attachment = asset("golden/attachment.txt")
    journal, note = _build(tmp_path / "case", attachment)
    if os.environ.get("IRKIT_REGEN_GOLDEN"):
        asset("golden/journal.jsonl").write_bytes(journal)
        asset("golden/checkpoint.txt").write_bytes(note)
    assert journal == asset("golden/journal.jsonl").read_bytes()
    assert note == asset("golden/checkpoint.txt").read_bytes()


def test_golden_case_verifies(tmp_path: Path) -> None:
    from irkit.audit.verify import verify_case

    _build(tmp_path / "case", asset("golden/attachment.txt"))
    report = verify_case(tmp_path / "case", trust=[seeded_signer("alice").fingerprint], jobs=1)
    assert report.ok and report.anchored
