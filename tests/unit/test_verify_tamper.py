"""The tamper suite: every way of altering a journal is found and named."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from irkit.formats import ed25519
from irkit.formats.canonical import canonical_bytes, signed_bytes
from irkit.notes.notes import add_note, correct_note
from irkit.record import checkpoints
from irkit.record.case import Case
from tests.conftest import FixedClock
from tests.helpers import entry, lines, problems, verify, write_lines


@pytest.fixture
def small(case: Case, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock) -> Case:
    """Opened, member added, three notes (one corrected): five entries in all."""
    add_note(case, alice, "first note", clock=clock)
    wrong = add_note(case, bob, "second note, with a mistake", tags=["x"], clock=clock)
    correct_note(case, bob, wrong.seq, "second note, fixed", reason="typo", clock=clock)
    return case


def _resign(obj: dict[str, object], signer: ed25519.Signer) -> bytes:
    obj = dict(obj)
    obj["actor"] = signer.fingerprint
    obj.pop("sig", None)
    obj["sig"] = base64.b64encode(signer.sign(signed_bytes(obj))).decode()
    return canonical_bytes(obj)


def test_untouched_case_verifies(small: Case, alice: ed25519.Signer) -> None:
    report = verify(small.root, trust=[alice.fingerprint])
    assert report.ok, problems(report)
    assert report.anchored and report.entries == 5


def test_every_single_byte_flip_is_detected(small: Case) -> None:
    path = small.journal_path
    original = path.read_bytes()
    missed = []
    for position in range(len(original)):
        for flip in (0x01, 0x20):
            data = bytearray(original)
            data[position] ^= flip
            path.write_bytes(bytes(data))
            if verify(small.root, content=False).ok:
                missed.append((position, flip, chr(original[position])))
    path.write_bytes(original)
    assert not missed, f"undetected flips: {missed[:10]}"


def test_body_edit_resigned_by_non_member(small: Case, mallory: ed25519.Signer) -> None:
    ls = lines(small.root)
    obj = entry(ls[2])
    obj["body"] = dict(obj["body"], text="a different first note")
    ls[2] = _resign(obj, mallory)
    write_lines(small.root, ls)
    found = problems(verify(small.root))
    assert any(p.startswith("entry 2:") and "not a member" in p for p in found), found


def test_body_edit_resigned_by_member_breaks_chain(small: Case, bob: ed25519.Signer) -> None:
    ls = lines(small.root)
    obj = entry(ls[2])
    obj["body"] = dict(obj["body"], text="rewritten by bob")
    ls[2] = _resign(obj, bob)
    write_lines(small.root, ls)
    found = problems(verify(small.root))
    assert any(p.startswith("entry 3:") and "prev hash" in p for p in found), found


@pytest.mark.parametrize("index", [1, 2, 3])
def test_deleting_an_entry(small: Case, index: int) -> None:
    ls = lines(small.root)
    del ls[index]
    write_lines(small.root, ls)
    found = problems(verify(small.root))
    assert any(f"entry {index + 1}:" in p for p in found), found


def test_reordering_entries(small: Case) -> None:
    ls = lines(small.root)
    ls[2], ls[3] = ls[3], ls[2]
    write_lines(small.root, ls)
    found = problems(verify(small.root))
    assert any("entry 3:" in p and "out of sequence" in p for p in found), found


def test_duplicating_an_entry(small: Case) -> None:
    ls = lines(small.root)
    ls.insert(3, ls[2])
    write_lines(small.root, ls)
    found = problems(verify(small.root))
    assert any("entry 2:" in p and "out of sequence" in p for p in found), found


def test_swapping_in_another_valid_signature(small: Case) -> None:
    ls = lines(small.root)
    a, b = entry(ls[2]), entry(ls[3])
    a["sig"] = b["sig"]
    ls[2] = canonical_bytes(a)
    write_lines(small.root, ls)
    found = problems(verify(small.root))
    assert any(p.startswith("entry 2:") and "signature" in p for p in found), found


def test_truncation_below_kept_checkpoint(
    small: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.txt"
    kept.write_bytes(checkpoints.issue(small, alice).note)
    shutil.rmtree(small.checkpoints_dir)  # the attacker removes the case's own copies too
    ls = lines(small.root)
    write_lines(small.root, ls[:-2])
    assert verify(small.root).ok  # without the kept checkpoint, a clean truncation is invisible
    found = problems(verify(small.root, checkpoints=[kept]))
    assert any("entry 3:" in p and "truncation" in p for p in found), found


def test_rewritten_history_against_checkpoint(
    small: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.txt"
    kept.write_bytes(checkpoints.issue(small, alice).note)
    # rebuild the whole journal after entry 1 as a plausible alternative history
    ls = lines(small.root)
    shutil.rmtree(small.checkpoints_dir)
    write_lines(small.root, ls[:2])
    small.invalidate_state()
    add_note(small, alice, "alternative history", clock=FixedClock())
    add_note(small, alice, "more of it", clock=FixedClock())
    add_note(small, alice, "and more", clock=FixedClock())
    assert verify(small.root).ok
    found = problems(verify(small.root, checkpoints=[kept]))
    assert any("rewritten" in p for p in found), found


def test_replacing_a_keys_file(small: Case, bob: ed25519.Signer, mallory: ed25519.Signer) -> None:
    path = small.key_path(bob.fingerprint)
    path.chmod(0o644)
    path.write_bytes(mallory.public.pem())
    found = problems(verify(small.root))
    assert any("keys/" in p and "replaced" in p for p in found), found


def test_wrong_trust_anchor(small: Case, mallory: ed25519.Signer) -> None:
    found = problems(verify(small.root, trust=[mallory.fingerprint]))
    assert any("not among the trusted keys" in p for p in found), found


def test_forged_opening_by_another_key(small: Case, mallory: ed25519.Signer) -> None:
    """Replacing the whole journal with one opened by another key: only the anchor tells."""
    ls = lines(small.root)
    obj = entry(ls[0])
    obj["body"]["opener"]["fingerprint"] = mallory.fingerprint
    obj["body"]["opener"]["public_key"] = base64.b64encode(mallory.public.raw).decode()
    ls[0] = _resign(obj, mallory)
    write_lines(small.root, ls)
    found = problems(verify(small.root, trust=[small.info.opener]))
    assert any("not among the trusted keys" in p for p in found), found
    assert any(p.startswith("entry 1:") and "prev hash" in p for p in found), found


def test_unknown_kind_and_malformed_line(small: Case, alice: ed25519.Signer) -> None:
    ls = lines(small.root)
    obj = entry(ls[2])
    obj["kind"] = "note.exploded"
    obj["prev"] = entry(ls[2])["prev"]
    ls[2] = _resign(obj, alice)
    ls.insert(3, b'{"not": "an entry"')
    write_lines(small.root, ls)
    found = problems(verify(small.root))
    assert any(p.startswith("entry 2:") and "unknown entry kind" in p for p in found), found
    assert any("line 4" in p and "JSON" in p for p in found), found


def test_removed_member_cannot_sign_later(
    small: Case, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock
) -> None:
    from irkit.errors import NotAuthorizedError
    from irkit.record.case import remove_member

    remove_member(small, alice, bob.fingerprint, reason="left the team", clock=clock)
    with pytest.raises(NotAuthorizedError):
        add_note(small, bob, "after removal", clock=clock)
    # forge it in anyway: build a correctly chained entry signed by bob
    ls = lines(small.root)
    last = entry(ls[-1])
    from irkit.record.entry import build_line
    from irkit.record.journal import entry_hash

    forged = build_line(
        bob,
        seq=last["seq"] + 1,
        prev=entry_hash(ls[-1]),
        kind="note.added",
        body={"text": "forged", "tags": [], "attachments": [], "confidential": False},
        recorded="2026-01-02T03:05:00.000000Z",
    )
    write_lines(small.root, [*ls, forged])
    found = problems(verify(small.root))
    assert any(f"entry {last['seq'] + 1}:" in p and "removed" in p for p in found), found


def test_member_without_lead_role_cannot_add_members(
    small: Case, bob: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    from irkit.errors import NotAuthorizedError
    from irkit.record.case import add_member

    before = small.journal_path.read_bytes()
    with pytest.raises(NotAuthorizedError):
        add_member(small, bob, mallory.public, name="M", role="responder")
    assert small.journal_path.read_bytes() == before


def test_tampered_attachment(case: Case, alice: ed25519.Signer, tmp_path: Path) -> None:
    photo = tmp_path / "photo.bin"
    photo.write_bytes(b"\x89PNG fake image" * 100)
    note = add_note(case, alice, "photo attached", attach=[photo])
    digest = note.body["attachments"][0]["sha256"]
    stored = case.store.path_for(digest)
    assert verify(case.root).ok
    stored.chmod(0o644)
    stored.write_bytes(b"\x89PNG other image" * 100)
    found = problems(verify(case.root))
    assert any(p.startswith(f"entry {note.seq}:") and "altered" in p for p in found), found
    assert verify(case.root, content=False).ok


def test_marker_pointing_elsewhere(small: Case) -> None:
    marker = small.root / "irkit-case.json"
    doc = json.loads(marker.read_text())
    doc["case_id"] = "OTHER-9"
    marker.write_text(json.dumps(doc))
    found = problems(verify(small.root))
    assert any("names case" in p for p in found), found


def test_non_canonical_base64_spelling_of_the_same_signature(small: Case) -> None:
    """Base64 leaves two unused bits in a 64-byte signature's last character; setting them
    keeps the signature bytes but changes the stored line, which must not pass."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    ls = lines(small.root)
    obj = entry(ls[-1])
    sig = obj["sig"]
    last = alphabet.index(sig[-3].encode())
    obj["sig"] = sig[:-3] + chr(alphabet[last | 0b0011]) + "=="
    if obj["sig"] == sig:
        obj["sig"] = sig[:-3] + chr(alphabet[last & ~0b0011 | 0b0001]) + "=="
    assert base64.b64decode(obj["sig"]) == base64.b64decode(sig)
    ls[-1] = canonical_bytes(obj)
    write_lines(small.root, ls)
    found = problems(verify(small.root))
    assert any(p.startswith(f"entry {len(ls) - 1}:") for p in found), found
