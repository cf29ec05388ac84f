"""Append refuses a journal whose tail does not verify (issue 14): lines from another copy
appended, an entry altered, removed or forged; `repair` sets foreign lines aside."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from irkit.errors import ProblemsFound
from irkit.formats import ed25519
from irkit.formats.timefmt import format_utc
from irkit.notes.notes import add_note
from irkit.record import checkpoints
from irkit.record.case import STATE_NAME, BrokenChain, Case
from irkit.record.entry import build_line
from irkit.record.repair import repair
from irkit.record.store import QUARANTINE_PREFIX
from tests.conftest import FixedClock
from tests.helpers import lines, problems, verify, write_lines


def _two_copies(case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path) -> Case:
    """The issue's situation: Alice copies the case to Bob; both write notes."""
    add_note(case, alice, "shared history")
    bob_root = tmp_path / "bob-copy"
    shutil.copytree(case.root, bob_root)
    bobs = Case.open(bob_root)
    add_note(case, alice, "alice offline 1")
    add_note(case, alice, "alice offline 2")
    for n in range(3):
        add_note(bobs, bob, f"bob offline {n}")
    return bobs


def _refuses(case: Case, signer: ed25519.Signer, code: str) -> BrokenChain:
    before = case.journal_path.read_bytes()
    with pytest.raises(BrokenChain) as caught:
        add_note(case, signer, "must not be written")
    assert caught.value.code == code, caught.value.message
    assert case.journal_path.read_bytes() == before  # nothing written
    return caught.value


@pytest.mark.parametrize("cache", ["kept", "dropped"])
def test_bobs_lines_appended_to_alices_journal_are_refused_then_repaired(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path, cache: str
) -> None:
    bobs = _two_copies(case, alice, bob, tmp_path)
    alices = case.journal_path.read_bytes()
    bob_new = lines(bobs.root)[-3:]
    with case.journal_path.open("ab") as fh:
        fh.write(b"".join(x + b"\n" for x in bob_new))
    if cache == "dropped":  # another user, or a fresh copy: the cache is rebuilt (full fold)
        (case.root / STATE_NAME).unlink()
    report = verify(case.root, content=False)
    assert {p.code for p in report.problems} >= {"seq", "chain"}, problems(report)

    refused = _refuses(case, alice, "seq-behind")
    assert "another copy" in refused.message and refused.hint and "irkit repair" in refused.hint
    assert refused.index == len(alices.splitlines())  # the first of Bob's lines
    with pytest.raises(BrokenChain):  # nor a checkpoint over it
        checkpoints.issue(case, alice)
    with pytest.raises(BrokenChain):
        case.check_appendable()
    # reading still works: the membership of the lines that verify
    assert set(case.roster().members) == {alice.fingerprint, bob.fingerprint}

    assert repair(case, lambda _t: True, lambda _f: False).action == "declined"
    result = repair(case, lambda _t: True, lambda _f: True)
    assert result.action == "foreign" and result.foreign is not None
    assert result.foreign.count == 3 and result.quarantine
    assert result.quarantine.startswith(QUARANTINE_PREFIX)
    assert case.journal_path.read_bytes() == alices
    assert (case.root / result.quarantine).read_bytes() == b"".join(x + b"\n" for x in bob_new)
    add_note(case, alice, "appends again")
    assert verify(case.root, content=False).ok


def test_whole_other_journal_concatenated(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path
) -> None:
    bobs = _two_copies(case, alice, bob, tmp_path)
    alices = case.journal_path.read_bytes()
    case.journal_path.write_bytes(alices + bobs.journal_path.read_bytes())
    _refuses(case, alice, "seq-behind")
    result = repair(case, lambda _t: True, lambda _f: True)
    assert result.foreign is not None and result.foreign.count == len(lines(bobs.root))
    assert case.journal_path.read_bytes() == alices


def test_a_later_append_on_top_of_foreign_lines_is_set_aside_with_them(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path, clock: FixedClock
) -> None:
    """A journal broken by an earlier irkit (which went on appending after foreign lines):
    everything from the first line that does not chain goes aside together."""
    bobs = _two_copies(case, alice, bob, tmp_path)
    alices = case.journal_path.read_bytes()
    foreign = lines(bobs.root)[-2:]
    tip = json.loads(foreign[-1])
    from irkit.record.journal import entry_hash

    glued = build_line(
        alice,
        seq=tip["seq"] + 1,
        prev=entry_hash(foreign[-1]),
        kind="note.added",
        body={"text": "written after the damage", "event_time": tip["recorded"]},
        recorded=format_utc(clock()),
    )
    case.journal_path.write_bytes(alices + b"".join(x + b"\n" for x in [*foreign, glued]))
    _refuses(case, alice, "seq-behind")
    result = repair(case, lambda _t: True, lambda _f: True)
    assert result.foreign is not None and result.foreign.count == 3
    assert case.journal_path.read_bytes() == alices


def test_torn_tail_after_foreign_lines_goes_with_them(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path
) -> None:
    bobs = _two_copies(case, alice, bob, tmp_path)
    alices = case.journal_path.read_bytes()
    case.journal_path.write_bytes(alices + lines(bobs.root)[-1] + b'\n{"actor":"ed2')
    result = repair(case, lambda _t: True, lambda _f: True)
    assert result.action == "foreign" and result.foreign is not None
    assert result.foreign.count == 1 and result.torn_bytes == len(b'{"actor":"ed2')
    assert case.journal_path.read_bytes() == alices


@pytest.mark.parametrize("cache", ["kept", "dropped"])
def test_altered_last_entry_is_refused_and_left_for_verify(
    case: Case, alice: ed25519.Signer, cache: str
) -> None:
    add_note(case, alice, "original text")
    old = lines(case.root)
    write_lines(case.root, [*old[:-1], old[-1].replace(b"original text", b"altered text!")])
    if cache == "dropped":
        (case.root / STATE_NAME).unlink()
    refused = _refuses(case, alice, "signature")
    assert refused.hint and "evidence" in refused.hint
    before = case.journal_path.read_bytes()
    with pytest.raises(ProblemsFound):
        repair(case, lambda _t: True, lambda _f: True)
    assert case.journal_path.read_bytes() == before


def test_last_entry_signed_by_a_stranger_is_refused(
    case: Case, alice: ed25519.Signer, mallory: ed25519.Signer, clock: FixedClock
) -> None:
    from irkit.record.journal import entry_hash

    last = lines(case.root)[-1]
    forged = build_line(
        mallory,
        seq=json.loads(last)["seq"] + 1,
        prev=entry_hash(last),
        kind="note.added",
        body={"text": "forged", "event_time": format_utc(clock())},
        recorded=format_utc(clock()),
    )
    with case.journal_path.open("ab") as fh:
        fh.write(forged + b"\n")
    refused = _refuses(case, alice, "signer")
    assert "not a member" in refused.message


def test_altered_middle_entry_breaks_the_chain_on_rebuild(
    case: Case, alice: ed25519.Signer
) -> None:
    for n in range(3):
        add_note(case, alice, f"note {n}")
    old = lines(case.root)
    old[2] = old[2].replace(b"note 0", b"note X")
    write_lines(case.root, old)
    (case.root / STATE_NAME).unlink()
    refused = _refuses(case, alice, "prev")
    assert "another copy" not in refused.message
    with pytest.raises(ProblemsFound, match="changed nothing"):
        repair(case, lambda _t: True, lambda _f: True)


def test_removed_entry_is_refused(case: Case, alice: ed25519.Signer) -> None:
    for n in range(3):
        add_note(case, alice, f"note {n}")
    old = lines(case.root)
    write_lines(case.root, [*old[:2], *old[3:]])
    _refuses(case, alice, "seq-ahead")
    with pytest.raises(ProblemsFound):
        repair(case, lambda _t: True, lambda _f: True)


def test_garbage_line_appended_is_foreign(case: Case, alice: ed25519.Signer) -> None:
    alices = case.journal_path.read_bytes()
    with case.journal_path.open("ab") as fh:
        fh.write(b"hello from a text editor\n")
    _refuses(case, alice, "malformed")
    result = repair(case, lambda _t: True, lambda _f: True)
    assert result.action == "foreign" and case.journal_path.read_bytes() == alices


def test_a_good_journal_needs_no_repair(case: Case, alice: ed25519.Signer) -> None:
    add_note(case, alice, "fine")

    def never(_x: object) -> bool:
        raise AssertionError("nothing to confirm")

    assert repair(case, never, never).action == "none"


def test_other_copys_entry_at_the_next_position_is_a_fork(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path
) -> None:
    """Bob's entry 5 appended after Alice's entry 4: its seq fits, its prev does not."""
    bobs = _two_copies(case, alice, bob, tmp_path)
    alices = case.journal_path.read_bytes()
    fits = lines(bobs.root)[-1]
    assert json.loads(fits)["seq"] == len(alices.splitlines())
    case.journal_path.write_bytes(alices + fits + b"\n")
    refused = _refuses(case, alice, "fork")
    assert "another copy" in refused.message
    result = repair(case, lambda _t: True, lambda _f: True)
    assert result.foreign is not None and result.foreign.count == 1
    assert case.journal_path.read_bytes() == alices


def test_prev_field_altered_is_not_a_fork(case: Case, alice: ed25519.Signer) -> None:
    add_note(case, alice, "one")
    old = lines(case.root)
    obj = json.loads(old[-1])
    old[-1] = old[-1].replace(obj["prev"].encode(), b"sha256:" + b"0" * 64)
    write_lines(case.root, old)
    _refuses(case, alice, "prev")


def test_repair_completes_only_a_torn_entry_that_verifies(
    case: Case, alice: ed25519.Signer, mallory: ed25519.Signer, clock: FixedClock
) -> None:
    """A last line lacking only its newline is completed when it is a valid entry; one
    signed by a stranger is not made part of the journal (it would be a tail that does
    not verify): it is set aside like any torn line."""
    from irkit.record.journal import entry_hash

    complete = case.journal_path.read_bytes()
    last = lines(case.root)[-1]
    forged = build_line(
        mallory,
        seq=json.loads(last)["seq"] + 1,
        prev=entry_hash(last),
        kind="note.added",
        body={"text": "forged", "event_time": format_utc(clock())},
        recorded=format_utc(clock()),
    )
    case.journal_path.write_bytes(complete + forged)
    result = repair(case, lambda _t: True)
    assert result.action == "quarantined"
    assert case.journal_path.read_bytes() == complete
