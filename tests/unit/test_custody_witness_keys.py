"""A disposal's witness signature verifies only under the key this journal admitted for the
witness. Keys met while folding another case in the same process (a report of case B, a
second case verified by the same worker) must not make a stranger a valid witness here."""

from __future__ import annotations

from pathlib import Path

import pytest

from irkit.errors import InputError
from irkit.evidence import custody
from irkit.evidence.collect import collect
from irkit.formats import ed25519
from irkit.record.case import Case, init_case
from tests.conftest import FixedClock
from tests.helpers import verify


def test_a_witness_from_another_case_is_refused(
    case: Case,
    alice: ed25519.Signer,
    mallory: ed25519.Signer,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    other = init_case(tmp_path / "other", title="Mallory's", case_id="OTHER-1", signer=mallory)
    custody.fold(other.read_entries().entries)  # Mallory's key is now known to some fold
    src = tmp_path / "disk.img"
    src.write_bytes(b"disk")
    collect(case, alice, [src], location="server room", clock=clock)
    before = case.journal_path.read_bytes()
    with pytest.raises(InputError, match="witness signature does not verify"):
        custody.finish(case, alice, "custody.disposed", ["E-0001"], reason="wiped", witness=mallory)
    assert case.journal_path.read_bytes() == before
    assert verify(case.root).ok


def test_a_removed_member_witnesses_no_more(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock, tmp_path: Path
) -> None:
    from irkit.record.case import remove_member

    src = tmp_path / "disk.img"
    src.write_bytes(b"disk")
    collect(case, alice, [src], location="server room", clock=clock)
    remove_member(case, alice, bob.fingerprint, reason="left the team", clock=clock)
    with pytest.raises(InputError, match="witness signature does not verify"):
        custody.finish(case, alice, "custody.disposed", ["E-0001"], reason="wiped", witness=bob)
