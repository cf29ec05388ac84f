"""The demo's team chapter: two machines (two irkit homes, two clones) through a directory
remote; offline work rebased, a transfer accepted on the other machine, one root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from irkit.audit.verify import verify_case
from irkit.demo import story
from irkit.record.case import Case


def test_alice_and_bob_end_with_one_verified_journal(tmp_path: Path) -> None:
    home_before = os.environ.get("IRKIT_HOME")
    with pytest.MonkeyPatch.context() as patch:  # the PDF report is not needed here
        patch.setattr(story, "FINAL_STEPS", [])
        result = story.run_demo(tmp_path / "demo")
    assert os.environ.get("IRKIT_HOME") == home_before  # Bob's machine's home was put back
    assert result.report.ok, result.report.problems
    bob_case = result.root / "bob-machine" / "case"
    assert (result.root / "bob-machine" / "irkit-home" / "state-mac.key").is_file()
    assert (result.root / "team-remote" / "checkpoint").is_file()

    on_alice = verify_case(result.case_dir, trust=[result.fingerprints["alice"]], jobs=1)
    on_bob = verify_case(bob_case, trust=[result.fingerprints["alice"]], jobs=1)
    assert on_alice.ok and on_bob.ok, (on_alice.problems, on_bob.problems)
    assert (on_alice.entries, on_alice.root) == (on_bob.entries, on_bob.root)

    entries = Case.open(bob_case).read_entries().entries
    bobs_note = next(e for e in entries if "reverse shell" in str(e.body.get("text")))
    alices_note = next(e for e in entries if "open connection" in str(e.body.get("text")))
    assert alices_note.seq > bobs_note.seq  # Bob synced first: Alice's went after his
    superseded = result.case_dir / ".irkit-remote" / "team" / "superseded.jsonl"
    assert "open connection" in superseded.read_text()  # her original line, kept
    accepted = [e for e in entries if e.kind == "custody.accepted"][-1]
    assert accepted.actor == result.fingerprints["bob"]
    assert accepted.body["transfer"] == "T-0002"
    assert any("team: " in step and "same Merkle root" in step for step in result.steps)
