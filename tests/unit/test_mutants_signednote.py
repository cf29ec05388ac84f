"""Signed notes and checkpoint bodies refuse exactly what they must, and say which rule
broke (mutation testing, bench/mutation.py): `irkit verify` prints these messages."""

from __future__ import annotations

import base64

import pytest

from irkit.errors import InputError
from irkit.formats import ed25519, signednote
from irkit.formats.signednote import EM_DASH, Checkpoint, parse_checkpoint, parse_note
from tests.conftest import seeded_signer

ALICE = seeded_signer("alice")
BOB = seeded_signer("bob")
ROOT = base64.b64encode(bytes(32)).decode()
SIG = base64.b64encode(b"\x01\x02\x03\x04" + bytes(64)).decode()


def _note(signature_lines: str, text: str = "origin\n1\n" + ROOT + "\n") -> bytes:
    return (text + "\n" + signature_lines).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\n\n", "signed note is not UTF-8"),
        (b"text only\n", "not a signed note: no blank line before the signatures"),
        (_note(f"{EM_DASH} k {SIG}\n", text="a\x7fb\n"), "signed note contains control characters"),
        (_note(f"{EM_DASH} k {SIG}\n", text="a\x01b\n"), "signed note contains control characters"),
        (_note(f"{EM_DASH} k !!!!\n"), "signature line is not base64"),
        (_note(f"{EM_DASH} k {SIG[:-4]}AA=!\n"), "signature line is not base64"),
        (_note(f"{EM_DASH} k AAAA\n"), "signature line too short"),
        (_note(""), "signed note carries no signature"),
    ],
)
def test_note_problems_are_named(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_note(data)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "line",
    [
        f"- k {SIG}",  # not an em dash
        f"{EM_DASH} k  {SIG}",  # two spaces: four fields
        f"{EM_DASH} k+1 {SIG}",  # '+' is not allowed in a key name
        f"{EM_DASH} k {SIG} extra",
    ],
)
def test_malformed_signature_lines_are_refused(line: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_note(_note(line + "\n"))
    assert str(raised.value) == f"malformed signature line: {line[:60]!r}"


def test_a_long_malformed_line_is_cut_at_60_characters() -> None:
    line = f"- {'k' * 80} {SIG}"
    with pytest.raises(InputError) as raised:
        parse_note(_note(line + "\n"))
    assert str(raised.value) == f"malformed signature line: {line[:60]!r}"


def test_the_shortest_signature_blob_parses() -> None:
    blob = base64.b64encode(b"\x01\x02\x03\x04\x05").decode()
    (sig,) = parse_note(_note(f"{EM_DASH} k {blob}\n")).signatures
    assert (sig.key_id, sig.signature) == (b"\x01\x02\x03\x04", b"\x05")


def test_the_signatures_start_after_the_last_blank_line() -> None:
    text = b"first\n\nsecond\n"
    note = parse_note(signednote.sign_note(text, ALICE))
    assert note.text == text
    assert parse_note(signednote.sign_note(b"\n", ALICE)).text == b"\n"


def test_an_unknown_first_signer_does_not_hide_a_known_one() -> None:
    text = b"origin\n1\n" + ROOT.encode() + b"\n"
    alice_line = signednote.sign_note(text, ALICE)[len(text) + 1 :]
    cosigned = signednote.sign_note(text, BOB) + alice_line
    note = parse_note(cosigned)
    assert [s.name for s in note.signatures] == [BOB.fingerprint, ALICE.fingerprint]
    keys: dict[str, ed25519.PublicKey] = {ALICE.fingerprint: ALICE.public}
    assert signednote.verify_note(note, keys) == [ALICE.fingerprint]


def test_sign_note_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^a note's text ends with a newline$"):
        signednote.sign_note(b"no newline", ALICE)
    with pytest.raises(ValueError, match=r"^a key name is non-empty, without spaces or '\+'$"):
        signednote.sign_note(b"text\n", ALICE, name="a b")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"origin\n1\n", "checkpoint body needs origin, size and root lines"),
        (f"\n1\n{ROOT}\n".encode(), "checkpoint has a malformed origin or size"),
        (f"origin\nx\n{ROOT}\n".encode(), "checkpoint has a malformed origin or size"),
        (f"origin\n01\n{ROOT}\n".encode(), "checkpoint size has leading zeros"),
        (b"origin\n1\n" + ROOT[:-4].encode() + b"AA=!\n", "checkpoint root is not base64"),
        (b"origin\n1\nAAAA\n", "checkpoint root is not a SHA-256 hash"),
    ],
)
def test_checkpoint_problems_are_named(body: bytes, message: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_checkpoint(body)
    assert str(raised.value) == message


def test_checkpoint_extension_lines_are_kept_exactly() -> None:
    body = f"origin\n7\n{ROOT}\nfirst extension\nsecond\nthird\n".encode()
    cp = parse_checkpoint(body)
    assert cp == Checkpoint("origin", 7, bytes(32), ("first extension", "second", "third"))
    assert cp.body() == body
    assert parse_checkpoint(f"origin\n7\n{ROOT}\n".encode()).extensions == ()
