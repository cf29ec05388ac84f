"""JSONL export (irkit/export/jsonl.py): the journal byte for byte, once it verifies."""

from __future__ import annotations

import pytest

from irkit.errors import ProblemsFound
from irkit.export import jsonl
from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import Case
from tests.helpers import lines, write_lines


def test_the_copy_is_the_journal(case: Case, alice: ed25519.Signer) -> None:
    add_note(case, alice, "first look at web01")
    copy = jsonl.export(case)
    assert copy.data == case.journal_path.read_bytes()
    assert copy.entries == 3 and copy.report.ok


def test_a_journal_that_does_not_verify_is_refused_unless_forced(
    case: Case, alice: ed25519.Signer
) -> None:
    add_note(case, alice, "the original text")
    old = lines(case.root)
    old[2] = old[2].replace(b"the original text", b"the altered text!")
    write_lines(case.root, old)
    with pytest.raises(ProblemsFound, match="does not verify"):
        jsonl.export(case)
    forced = jsonl.export(case, force=True)
    assert forced.data == case.journal_path.read_bytes()
    assert not forced.report.ok
