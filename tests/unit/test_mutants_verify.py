"""The batch signature check goes on after a line it cannot check (mutation testing,
bench/mutation.py): a forged signature after an unknown signer's line is still found."""

from __future__ import annotations

import base64
import json

import pytest

from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import Case
from irkit.record.entry import build_line
from irkit.record.journal import entry_hash
from tests.conftest import FixedClock
from tests.helpers import lines, problems, verify, write_lines

NOTE = {"text": "invented", "tags": [], "attachments": [], "confidential": False}


def _line(signer: ed25519.Signer, seq: int, prev_line: bytes) -> bytes:
    return build_line(
        signer, seq=seq, prev=entry_hash(prev_line), kind="note.added", body=NOTE,
        recorded="2026-01-02T05:00:00.000000Z",
    )  # fmt: skip


def _forged(line: bytes) -> bytes:
    """`line` with its signature replaced by another valid-looking one."""
    obj = json.loads(line)
    sig = bytearray(base64.b64decode(obj["sig"]))
    sig[0] ^= 1
    cut = line.rindex(b'"sig":"') + 7
    return line[:cut] + base64.b64encode(bytes(sig)) + b'"}'


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("first", ["unknown signer", "unsplittable"])
def test_a_bad_signature_after_an_uncheckable_line_is_found(
    case: Case,
    alice: ed25519.Signer,
    mallory: ed25519.Signer,
    clock: FixedClock,
    first: str,
    jobs: int,
) -> None:
    for i in range(3):
        add_note(case, alice, f"note {i}", clock=clock)
    real = lines(case.root)
    n = len(real)
    odd = _line(mallory, n, real[-1])
    if first == "unsplittable":
        odd = odd.replace(b'"sig":"', b'"sag":"')
    after = _forged(_line(alice, n + 1, odd))
    write_lines(case.root, [*real, odd, after])
    report = verify(case.root, jobs=jobs)
    found = problems(report)
    codes = {p.seq: p.code for p in report.problems}  # the --json contract
    assert codes[n + 1] == "bad-signature"
    if first == "unknown signer":
        assert "unknown-signer" in {p.code for p in report.problems if p.seq == n}
    if first == "unknown signer":
        assert f"entry {n}: signed by unknown key {mallory.fingerprint}" in found, found
    else:
        assert any(p.startswith(f"entry {n}: ") for p in found), found
    assert f"entry {n + 1}: signature does not verify (entry altered or re-signed)" in found, found


def test_a_members_key_missing_from_keys_dir_comes_from_the_journal(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock
) -> None:
    """keys/ is a cache: without it every entry still verifies against the key the journal's
    own membership entries carry, and a forged one is still found."""
    add_note(case, bob, "by bob", clock=clock)
    for path in sorted(case.keys_dir.glob("*.pub")):
        path.unlink()
    assert problems(verify(case.root)) == []
    real = lines(case.root)
    write_lines(case.root, [*real[:-1], _forged(real[-1])])
    n = len(real) - 1
    assert problems(verify(case.root)) == [
        f"entry {n}: signature does not verify (entry altered or re-signed)"
    ]
