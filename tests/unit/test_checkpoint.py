"""C2SP signed notes and checkpoints, against the golang.org/x/mod/sumdb/note vectors."""

from __future__ import annotations

import base64
import json

import pytest

from irkit.errors import InputError
from irkit.formats import ed25519
from irkit.formats.signednote import (
    Checkpoint,
    key_id,
    parse_checkpoint,
    parse_note,
    sign_note,
    verify_note,
)
from tests.conftest import asset

V = json.loads(asset("signed_note_vectors.json").read_text())


def _verifier(key_string: str) -> tuple[str, ed25519.PublicKey, bytes]:
    name, key_hash, encoded = key_string.split("+", 2)
    raw = base64.b64decode(encoded)
    assert raw[0] == 1  # Ed25519
    return name, ed25519.PublicKey(raw[1:]), bytes.fromhex(key_hash)


def test_key_ids_match_vectors() -> None:
    for key in V["keys"]:
        name, public, key_hash = _verifier(key["verifier_key"])
        assert key_id(name, public.raw) == key_hash


def test_sign_reproduces_go_signature() -> None:
    peter = next(k for k in V["keys"] if k["name"] == "PeterNeumann")
    seed = base64.b64decode(peter["signer_key"].split("+", 4)[4])[1:]
    signer = ed25519.signer_from_seed(seed, name="PeterNeumann")
    note = V["notes"][0]
    signed = sign_note(note["text"].encode(), signer, name="PeterNeumann")
    assert signed == note["signed_message"].encode()


def test_verify_two_signatures_ignoring_unknown() -> None:
    note = V["notes"][1]
    parsed = parse_note(note["signed_message"].encode())
    peter_name, peter, _ = _verifier(V["keys"][0]["verifier_key"])
    assert verify_note(parsed, {peter_name: peter}) == [peter_name]
    both = {n: k for n, k, _ in (_verifier(x["verifier_key"]) for x in V["keys"])}
    assert sorted(verify_note(parsed, both)) == sorted(both)


@pytest.mark.parametrize("row", V["malformed_messages"], ids=lambda r: r["reason"][:30])
def test_malformed_notes_rejected(row: dict[str, str]) -> None:
    with pytest.raises(InputError):
        parse_note(bytes.fromhex(row["message_hex"]))


def test_checkpoint_round_trip_and_tamper(alice: ed25519.Signer) -> None:
    cp = Checkpoint("irkit.case/X/abc", 12, bytes(range(32)))
    signed = sign_note(cp.body(), alice)
    note = parse_note(signed)
    assert parse_checkpoint(note.text) == cp
    assert verify_note(note, {alice.fingerprint: alice.public}) == [alice.fingerprint]
    forged = signed.replace(b"\n12\n", b"\n13\n")
    assert verify_note(parse_note(forged), {alice.fingerprint: alice.public}) == []


@pytest.mark.parametrize(
    "body",
    [
        b"origin\n",
        b"origin\n012\nAAAA\n",
        b"origin\n1\nnot-base64!\n",
        b"\n1\n" + b"A" * 44 + b"\n",
        b"origin\n1\n" + base64.b64encode(b"short") + b"\n",
    ],
)
def test_malformed_checkpoint_bodies(body: bytes) -> None:
    with pytest.raises(InputError):
        parse_checkpoint(body)
