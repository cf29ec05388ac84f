"""The local side of a sync: the journal renamed into place under its lock, what gc keeps,
the reference fields the rebase finds from the body models."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from irkit.formats import ed25519
from irkit.record.case import Case
from irkit.record.journal import Journal
from irkit.record.leftovers import collect_garbage
from irkit.remote import rebase, state
from irkit.remote.state import append_jsonl


def test_writer_waiting_on_the_lock_follows_a_renamed_journal(
    case: Case, alice: ed25519.Signer
) -> None:
    """A sync renames a rebased journal into place while holding the lock: a note that was
    waiting for the lock must land in the new journal, not in the unlinked old one."""
    done: list[int] = []
    with Journal(case.journal_path).locked():
        worker = threading.Thread(
            target=lambda: done.append(case.append(alice, "note.added", {"text": "x"}).seq)
        )
        worker.start()
        time.sleep(0.3)  # the append now waits for the lock on the old file
        data = case.journal_path.read_bytes()
        tmp = case.journal_path.with_name(".journal.new")
        tmp.write_bytes(data)
        tmp.replace(case.journal_path)
    worker.join(10)
    assert done == [2]
    assert case.journal_path.read_bytes().count(b"\n") == 3


def test_gc_keeps_evidence_named_by_held_back_entries(case: Case, tmp_path: Path) -> None:
    blob_file = tmp_path / "f.bin"
    blob_file.write_bytes(b"evidence of a conflicting entry")
    with case.store.writing():
        blob = case.store.put_file(blob_file)
    paths = state.Paths(case.root, "origin")
    append_jsonl(paths.conflicts, [{"id": 1, "line": f'{{"sha256":"{blob.sha256}"}}'}])
    collect_garbage(case.store)
    assert case.store.path_for(blob.sha256).exists()


def test_reference_fields_found_in_every_kind() -> None:
    found = rebase.refs(
        "custody.accepted",
        {"transfer": "T-0001", "checks": [{"item": "E-0002", "ok": True}]},
    )
    assert found == [("transfer", "T-0001"), ("item", "E-0002")]
    assert rebase.refs("note.corrected", {"text": "t", "corrects": 4, "reason": "r"}) == [
        ("seq", 4)
    ]
    assert rebase.refs(
        "incident.state",
        {
            "old": "resolved",
            "new": "closed",
            "reason": "done",
            "closure": {"how": "confirmed", "confirmation": 9},
        },
    ) == [("seq", 9)]
    assert rebase.refs("note.added", {"text": "t", "links": ["E-0001"]}) == [("item", "E-0001")]
