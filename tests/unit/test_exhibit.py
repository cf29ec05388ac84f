"""Exhibits prove chosen entries against a checkpoint without the rest of the journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from irkit.audit import exhibit
from irkit.errors import InputError
from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record import checkpoints
from irkit.record.case import Case
from tests.conftest import FixedClock


@pytest.fixture
def noted(case: Case, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock) -> Case:
    for i in range(6):
        add_note(case, bob if i % 2 else alice, f"note {i}", clock=clock)
    return case


def _doc(case: Case, signer: ed25519.Signer, seqs: list[int]) -> dict[str, Any]:
    return exhibit.create(case, seqs, checkpoints.issue(case, signer).note)


def test_exhibit_round_trip(noted: Case, alice: ed25519.Signer, bob: ed25519.Signer) -> None:
    doc = _doc(noted, alice, [5])  # an exhibit's checkpoint is signed by a lead
    seqs = [e["seq"] for e in doc["entries"]]
    assert seqs == [0, 1, 5]  # opening, bob's admission, the entry itself
    report = exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint])
    assert report.ok, report.problems
    assert report.anchored and [e.seq for e in report.entries] == [0, 1, 5]


def test_exhibit_needs_no_other_entries(noted: Case, alice: ed25519.Signer, tmp_path: Path) -> None:
    doc = _doc(noted, alice, [2, 4])
    noted.journal_path.unlink()  # the recipient has only the exhibit
    assert exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint]).ok


@pytest.mark.parametrize("damage", ["line", "proof", "drop-admission", "checkpoint"])
def test_exhibit_tampering(
    noted: Case, alice: ed25519.Signer, bob: ed25519.Signer, damage: str
) -> None:
    doc = _doc(noted, alice, [5])
    entries = doc["entries"]
    assert isinstance(entries, list)
    if damage == "line":
        entries[-1]["line"] = entries[-1]["line"].replace("note 3", "note X")
    elif damage == "proof":
        entries[-1]["proof"][0] = "00" * 32
    elif damage == "drop-admission":
        del entries[1]
    else:
        doc["checkpoint"] = str(doc["checkpoint"]).replace("\n8\n", "\n9\n")
    report = exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint])
    assert not report.ok
    assert any("5" in p or "checkpoint" in p for p in report.problems), report.problems


def test_exhibit_wrong_anchor(noted: Case, alice: ed25519.Signer, mallory: ed25519.Signer) -> None:
    doc = _doc(noted, alice, [3])
    report = exhibit.verify(json.dumps(doc).encode(), [mallory.fingerprint])
    assert not report.ok and any("trusted" in p for p in report.problems)


def test_exhibit_refuses_uncovered_entries(noted: Case, alice: ed25519.Signer) -> None:
    note = checkpoints.issue(noted, alice).note
    add_note(noted, alice, "after the checkpoint")
    with pytest.raises(InputError, match="not covered"):
        exhibit.create(noted, [8], note)


def test_malformed_exhibit() -> None:
    with pytest.raises(InputError):
        exhibit.verify(b'{"type": "irkit-exhibit", "format": 1}', [])
    with pytest.raises(InputError):
        exhibit.verify(b"not json", [])


def test_exhibit_cli(
    irkit: object, key_files: object, noted: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    from tests.conftest import KeyFiles, Runner

    run: Runner = irkit  # type: ignore[assignment]
    kf: KeyFiles = key_files  # type: ignore[assignment]
    out = tmp_path / "ex.json"
    r = run("exhibit", "create", "4", "-o", str(out), key=kf.alice, case=noted.root)
    assert r.exit_code == 0, r.output
    r = run("exhibit", "verify", str(out), "--trust", alice.fingerprint)
    assert r.exit_code == 0 and "exhibit VERIFIED" in r.output
    out.write_text(out.read_text().replace("note 2", "note Z"))
    r = run("exhibit", "verify", str(out), "--trust", alice.fingerprint)
    assert r.exit_code == 1 and "PROBLEM" in r.output
