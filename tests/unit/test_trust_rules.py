"""Trust rules (issue #12): what verify enforces, the append path refuses; the append cache
never widens who may write."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from irkit.errors import InputError, NotAuthorizedError
from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import (
    STATE_NAME,
    BrokenChain,
    Case,
    add_member,
    member_info,
    remove_member,
)
from tests.conftest import FixedClock
from tests.helpers import verify
from tests.unit.test_forgery import force_append

NOTE = {"text": "n", "tags": [], "attachments": [], "confidential": False}


def _codes(case: Case) -> set[tuple[int | None, str]]:
    return {(p.seq, p.code) for p in verify(case.root).problems}


# -- member remove ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["stranger", "removed", "opener"])
def test_remove_refused_before_writing(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, mallory: ed25519.Signer, who: str
) -> None:
    if who == "removed":
        remove_member(case, alice, bob.fingerprint, reason="left")
    target = {"stranger": mallory, "removed": bob, "opener": alice}[who].fingerprint
    before = case.journal_path.read_bytes()
    with pytest.raises(
        InputError,
        match=r"refused: the opener cannot be removed; nothing was written|"
        r"is not a member of this case|was removed from the case at entry",
    ):
        remove_member(case, alice, target, reason="typo")
    assert case.journal_path.read_bytes() == before
    add_note(case, alice, "the case goes on")
    assert verify(case.root).ok


@pytest.mark.parametrize("who", ["stranger", "opener"])
def test_verify_flags_bad_removals(
    case: Case, alice: ed25519.Signer, mallory: ed25519.Signer, who: str
) -> None:
    target = mallory if who == "stranger" else alice
    force_append(case, alice, "member.removed", {"fingerprint": target.fingerprint, "reason": "x"})
    assert (2, "membership") in _codes(case)


# -- tags and links sorted, unique --------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"tags": ["b", "a"]},
        {"tags": ["a", "a"]},
        {"links": ["E-0002", "E-0001"]},
        {"links": ["E-0001", "E-0001"]},
    ],
)
def test_unsorted_tags_links(case: Case, alice: ed25519.Signer, extra: dict[str, Any]) -> None:
    body = dict(NOTE, **extra)
    before = case.journal_path.read_bytes()
    with pytest.raises(InputError, match="not sorted and unique"):
        case.append(alice, "note.added", body)
    assert case.journal_path.read_bytes() == before
    force_append(case, alice, "note.added", body)
    assert (2, "unsorted") in _codes(case)


def test_note_commands_normalise_tags(case: Case, alice: ed25519.Signer, tmp_path: Path) -> None:
    from irkit.evidence.collect import collect
    from irkit.notes.notes import correct_note, note_extras

    for name in ("a", "b"):  # links name items the case holds
        (tmp_path / name).write_text(name)
        collect(case, alice, [tmp_path / name])
    entry = add_note(
        case, alice, "x", tags=["b", "a", "b"], extra=note_extras(["e-0002", "E-0001"])
    )
    assert entry.body["tags"] == ["a", "b"] and entry.body["links"] == ["E-0001", "E-0002"]
    fixed = correct_note(case, alice, entry.seq, "y", reason="r", tags=["z", "y", "z"])
    assert fixed.body["tags"] == ["y", "z"]
    assert verify(case.root).ok


# -- member keys in bodies ----------------------------------------------------------------


def test_non_canonical_base64_key(
    case: Case, alice: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    info = member_info(mallory.public, "Mal", "responder")
    text = info["public_key"]
    assert text.endswith("=")  # 32 bytes: one pad, two unused bits in the last character
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(text[-2]) ^ 1]  # flip an unused bit: same bytes decoded
    bent = dict(info, public_key=text[:-2] + last + "=")
    assert base64.b64decode(bent["public_key"]) == mallory.public.raw
    before = case.journal_path.read_bytes()
    with pytest.raises(InputError, match="canonical base64"):
        case.append(alice, "member.added", {"member": bent})
    assert case.journal_path.read_bytes() == before
    force_append(case, alice, "member.added", {"member": bent})
    assert (2, "member-key") in _codes(case)
    assert info["public_key"] == base64.b64encode(mallory.public.raw).decode()  # the writer's


# -- custody to a non-member --------------------------------------------------------------


def _collected(case: Case, alice: ed25519.Signer, tmp_path: Path) -> None:
    from irkit.evidence.collect import collect

    src = tmp_path / "disk.img"
    src.write_bytes(b"evidence")
    collect(case, alice, [src], description="disk")


def test_release_to_non_member(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, mallory: ed25519.Signer, tmp_path: Path
) -> None:
    _collected(case, alice, tmp_path)
    remove_member(case, alice, bob.fingerprint, reason="left")
    body = {"transfer": "T-0001", "items": ["E-0001"], "to": mallory.fingerprint, "purpose": "p"}
    before = case.journal_path.read_bytes()
    with pytest.raises(InputError, match="not a member"):
        case.append(alice, "custody.released", body)
    with pytest.raises(InputError, match="not a member"):  # removed counts as not a member
        case.append(alice, "custody.released", dict(body, to=bob.fingerprint))
    assert case.journal_path.read_bytes() == before
    seq = len(before.splitlines())
    force_append(case, alice, "custody.released", body)
    assert (seq, "custody") in _codes(case)


# -- the append cache ---------------------------------------------------------------------


def _poison(case: Case, mallory: ed25519.Signer, *, keep_mac: bool) -> None:
    """Add Mallory as a lead to the cache, leaving its tail position and hash right."""
    path = case.root / STATE_NAME
    sealed = json.loads(path.read_text())
    doc = json.loads(sealed["state"])
    member = dict(doc["roster"]["members"][0])
    member.update(
        fingerprint=mallory.fingerprint,
        public_key=base64.b64encode(mallory.public.raw).decode(),
        name="Mal",
    )
    doc["roster"]["members"].append(member)
    sealed["state"] = json.dumps(doc)
    if not keep_mac:
        sealed["mac"] = "0" * 64
    path.write_text(json.dumps(sealed))


def test_poisoned_cache_admits_nobody(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    add_note(case, bob, "cache is warm")
    for keep_mac in (True, False):  # the old MAC over other bytes, or a made-up one
        _poison(case, mallory, keep_mac=keep_mac)
        before = case.journal_path.read_bytes()
        with pytest.raises(NotAuthorizedError):
            add_note(case, mallory, "via a poisoned cache")
        assert case.journal_path.read_bytes() == before
        assert not case.roster().is_member(mallory.fingerprint)
    add_note(case, bob, "still fine")
    assert verify(case.root).ok


def test_cache_of_another_user_is_ignored(
    case: Case,
    bob: ed25519.Signer,
    mallory: ed25519.Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Someone else who can write the folder makes a cache under their own secret: it is not
    trusted here (rebuilt from the journal), so it cannot admit Mallory."""
    import irkit.record.case as case_module

    other = tmp_path / "other-home"
    monkeypatch.setenv("IRKIT_HOME", str(other))
    _poison(case, mallory, keep_mac=True)  # the poison itself, under our secret's MAC...
    path = case.root / STATE_NAME
    sealed = json.loads(path.read_text())
    secret = case_module._cache_secret()
    assert secret is not None and (other / "state-mac.key").is_file()
    sealed["mac"] = case_module._cache_mac(secret, sealed["state"].encode())  # ...re-MACed
    path.write_text(json.dumps(sealed))
    assert case.roster().is_member(mallory.fingerprint)  # the other user's view: poisoned
    monkeypatch.undo()
    with pytest.raises(NotAuthorizedError):
        add_note(case, mallory, "x")
    add_note(case, bob, "y")


def test_secret_is_private_and_checked(
    case: Case, bob: ed25519.Signer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import irkit.record.case as case_module

    home = tmp_path / "home2"
    monkeypatch.setenv("IRKIT_HOME", str(home))
    add_note(case, bob, "makes the secret")
    secret = home / "state-mac.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and secret.stat().st_size == 32
    assert not [p for p in home.iterdir() if p.name != "state-mac.key"]  # no temp left
    case_module._secrets.clear()
    os.chmod(secret, 0o644)  # readable by others: it authenticates nothing
    assert case_module._cache_secret() is None
    add_note(case, bob, "still appends, from the journal")
    assert verify(case.root).ok
    case_module._secrets.clear()


def test_fold_ignores_a_forged_admission(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    """A member.added written into the journal by hand with a bad signature, or by a key not
    allowed to sign it, admits nobody to the append path either (verify flags it)."""
    line = force_append(
        case, alice, "member.added", {"member": member_info(mallory.public, "Mal", "lead")}
    )
    lines = case.journal_path.read_bytes().splitlines()
    sig_at = line.rindex(b'"sig":"') + 7
    lines[-1] = (
        line[:sig_at] + (b"A" if line[sig_at : sig_at + 1] != b"A" else b"B") + line[sig_at + 1 :]
    )
    case.journal_path.write_bytes(b"".join(x + b"\n" for x in lines))
    with pytest.raises(BrokenChain):  # a tail that does not verify: no append at all
        add_note(case, mallory, "x")
    force_append(case, alice, "note.added", NOTE)  # buried under a valid entry
    with pytest.raises(NotAuthorizedError):
        add_note(case, mallory, "x")
    (case.root / STATE_NAME).unlink()  # a full rebuild judges the same
    with pytest.raises(NotAuthorizedError):
        add_note(case, mallory, "x")


def test_fold_ignores_admission_by_a_responder(
    case: Case, bob: ed25519.Signer, mallory: ed25519.Signer, clock: FixedClock
) -> None:
    force_append(case, bob, "member.added", {"member": member_info(mallory.public, "M", "lead")})
    with pytest.raises(BrokenChain):  # the tail is signed by a key not allowed to sign it
        add_note(case, mallory, "x")
    force_append(case, bob, "note.added", NOTE)
    with pytest.raises(NotAuthorizedError):
        add_note(case, mallory, "x")
    codes = _codes(case)
    assert (2, "not-member") in codes


def test_verify_does_not_let_a_forged_admission_admit(
    case: Case, bob: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    force_append(case, bob, "member.added", {"member": member_info(mallory.public, "M", "lead")})
    force_append(case, mallory, "note.added", NOTE)
    codes = _codes(case)
    assert (2, "not-member") in codes and (3, "not-member") in codes


def test_add_member_still_works(case: Case, alice: ed25519.Signer, mallory: ed25519.Signer) -> None:
    add_member(case, alice, mallory.public, name="Mal", role="responder")
    add_note(case, mallory, "now a member")
    assert verify(case.root).ok


def test_a_deeply_nested_cache_or_marker_is_one_clean_error(
    case: Case, bob: ed25519.Signer
) -> None:
    """Damaged files beside the journal are either ignored (the cache) or one clear error
    (the marker), never a RecursionError."""
    from irkit.errors import CaseNotFoundError
    from irkit.notes import notes

    (case.root / ".irkit-state.json").write_bytes(b"[" * 200_000 + b"]" * 200_000)
    notes.add_note(case, bob, "still appends")
    marker = case.root / "irkit-case.json"
    marker.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(CaseNotFoundError):
        Case.open(case.root)
