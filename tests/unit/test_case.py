"""Opening, finding and appending to a case; the append cache; refusals that write nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from irkit.errors import (
    CaseExistsError,
    CaseNotFoundError,
    InputError,
    NotAuthorizedError,
    TornTailError,
)
from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import STATE_NAME, Case, add_member, init_case
from tests.conftest import FixedClock
from tests.helpers import lines, verify


def test_layout(case: Case) -> None:
    for name in (
        "irkit-case.json",
        "journal.jsonl",
        "evidence/sha256",
        "keys",
        "checkpoints",
        "reports",
    ):
        assert (case.root / name).exists(), name
    marker = json.loads((case.root / "irkit-case.json").read_text())
    assert marker["case_id"] == "TEST-1" and marker["format"] == 1


def test_init_refuses_existing_case(case: Case, alice: ed25519.Signer) -> None:
    before = case.journal_path.read_bytes()
    with pytest.raises(CaseExistsError):
        init_case(case.root, title="again", case_id=None, signer=alice)
    assert case.journal_path.read_bytes() == before


def test_init_into_existing_empty_folder_and_cleanup_on_failure(
    tmp_path: Path, alice: ed25519.Signer
) -> None:
    target = tmp_path / "pre"
    (target / "keys").mkdir(parents=True)
    with pytest.raises(CaseExistsError):
        init_case(target, title="t", case_id="X", signer=alice)
    assert sorted(p.name for p in target.iterdir()) == ["keys"]  # nothing else left behind
    with pytest.raises(InputError, match="invalid case id"):
        init_case(tmp_path / "bad", title="t", case_id="no spaces allowed", signer=alice)
    assert not (tmp_path / "bad").exists()


def test_find_upward_and_explicit(case: Case, tmp_path: Path) -> None:
    deep = case.root / "reports" / "a" / "b"
    deep.mkdir(parents=True)
    assert Case.find(None, deep).root == case.root.resolve()
    assert Case.find(case.root, tmp_path).info.case_id == "TEST-1"
    with pytest.raises(CaseNotFoundError):
        Case.find(None, tmp_path)
    with pytest.raises(CaseNotFoundError):
        Case.find(tmp_path, tmp_path)


def test_non_member_cannot_append(case: Case, mallory: ed25519.Signer) -> None:
    before = case.journal_path.read_bytes()
    with pytest.raises(NotAuthorizedError, match="not a member"):
        add_note(case, mallory, "sneaky")
    assert case.journal_path.read_bytes() == before


def test_refused_note_leaves_no_attachment(
    case: Case, mallory: ed25519.Signer, tmp_path: Path
) -> None:
    attachment = tmp_path / "a.txt"
    attachment.write_text("x")
    with pytest.raises(NotAuthorizedError):
        add_note(case, mallory, "sneaky", attach=[attachment])
    assert not any(p.is_file() for p in (case.root / "evidence").rglob("*"))


def test_unreadable_attachment_writes_nothing(
    case: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_text("fine")
    before = case.journal_path.read_bytes()
    with pytest.raises(InputError, match="cannot read"):
        add_note(case, alice, "two files", attach=[ok, tmp_path / "missing.txt"])
    assert case.journal_path.read_bytes() == before
    assert not any(p.is_file() for p in (case.root / "evidence").rglob("*"))


def test_append_refuses_torn_tail(case: Case, alice: ed25519.Signer) -> None:
    with case.journal_path.open("ab") as fh:
        fh.write(b'{"actor":"ed25519:')
    before = case.journal_path.read_bytes()
    with pytest.raises(TornTailError):
        add_note(case, alice, "after a crash")
    assert case.journal_path.read_bytes() == before


def test_append_cache_is_checked_not_trusted(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    state_path = case.root / STATE_NAME
    sealed = json.loads(state_path.read_text())
    doc = json.loads(sealed["state"])
    # forge the cache: make mallory a member and point at the wrong tail
    doc["roster"]["members"].append(
        dict(doc["roster"]["members"][0], fingerprint=mallory.fingerprint)
    )
    doc["hash"] = "sha256:" + "1" * 64
    state_path.write_text(json.dumps(dict(sealed, state=json.dumps(doc))))
    with pytest.raises(NotAuthorizedError):
        add_note(case, mallory, "via a forged cache")
    add_note(case, bob, "still fine")
    assert verify(case.root).ok


def test_append_catches_up_when_cache_is_behind(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer
) -> None:
    state = (case.root / STATE_NAME).read_bytes()
    add_note(case, alice, "one")
    (case.root / STATE_NAME).write_bytes(state)  # as if a crash lost the cache update
    add_note(case, bob, "two")
    assert [json.loads(x)["seq"] for x in lines(case.root)] == [0, 1, 2, 3]
    assert verify(case.root).ok


def test_append_without_cache_rebuilds(case: Case, alice: ed25519.Signer) -> None:
    os.unlink(case.root / STATE_NAME)
    add_note(case, alice, "x")
    assert verify(case.root).ok


def test_member_add_twice_refused(case: Case, alice: ed25519.Signer, bob: ed25519.Signer) -> None:
    with pytest.raises(InputError, match="already a member"):
        add_member(case, alice, bob.public, name="Bob", role="responder")


def test_entry_times_are_utc_microseconds(case: Case, alice: ed25519.Signer) -> None:
    entry = add_note(case, alice, "t", clock=FixedClock())
    assert entry.recorded == "2026-01-02T03:04:05.000000Z"


def test_invalid_body_refused(case: Case, alice: ed25519.Signer) -> None:
    with pytest.raises(InputError, match=r"invalid note\.added"):
        case.append(
            alice, "note.added", {"text": "x", "tags": [], "attachments": [], "confidential": "yes"}
        )
    with pytest.raises(InputError, match="unknown entry kind"):
        case.append(alice, "note.deleted", {})


@pytest.mark.parametrize("tail", [b'{"actor":"ed25519:ab', b"x" * 200_000])
def test_torn_tail_is_found_from_the_end(case: Case, tail: bytes) -> None:
    from irkit.record.journal import read

    assert case.torn_tail() is None
    with case.journal_path.open("ab") as fh:
        fh.write(tail)
    found = case.torn_tail()
    expected = read(case.journal_path).torn
    assert found is not None and expected is not None
    assert (found.offset, found.data) == (expected.offset, expected.data) and found.data == tail
