"""Forgery (issue #12): small-order keys, exhibits a member makes up, an uncovered tail."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from irkit.audit import exhibit
from irkit.errors import InputError, KeyFileError
from irkit.formats import ed25519, merkle, signednote
from irkit.formats.canonical import signed_bytes
from irkit.notes.notes import add_note
from irkit.record import checkpoints, journal, keyfiles
from irkit.record.case import Case, add_member, member_info
from irkit.record.entry import build_line
from tests.conftest import FixedClock, Runner, seeded_signer
from tests.helpers import lines, verify

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
IDENTITY = b"\x01" + b"\x00" * 31
FORGED_SIG = IDENTITY + b"\x00" * 32  # R = identity, S = 0: "valid" for any message


def _enc(y: int, sign: int = 0) -> bytes:
    return (y | (sign << 255)).to_bytes(32, "little")


# The Ed25519 small-order points (libsodium's blocklist, "Taming the many EdDSAs" table 1)
# in every encoding: canonical, with y >= p, and with the sign bit set.
_ORDER_8_Y = [
    int.from_bytes(bytes.fromhex(h), "little")
    for h in (
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    )
]
SMALL_ORDER = [
    _enc(y, sign)
    for y in (1, 0, P - 1, P, P + 1, *_ORDER_8_Y)  # order 1, 4, 2, 4 (y=p), 1 (y=p+1), 8
    for sign in (0, 1)
]
NON_CANONICAL = [_enc(y) for y in range(P, 2**255)]  # every y >= p (19 of them)


class ForgingSigner:
    """Signs nothing: every 'signature' is identity || 0, which a small-order key accepts."""

    def __init__(self, raw: bytes) -> None:
        self.public = ed25519.PublicKey(raw)
        self.fingerprint = self.public.fingerprint

    def sign(self, message: bytes) -> bytes:
        return FORGED_SIG


def force_append(case: Case, signer: Any, kind: str, body: dict[str, Any]) -> bytes:
    """Write a signed entry straight into the journal, past every check of Case.append."""
    existing = lines(case.root)
    prev = journal.entry_hash(existing[-1]) if existing else journal.GENESIS_PREV
    line = build_line(
        signer,
        seq=len(existing),
        prev=prev,
        kind=kind,
        body=body,
        recorded=f"2026-01-02T04:00:{len(existing):02d}.000000Z",
    )
    with case.journal_path.open("ab") as fh:
        fh.write(line + b"\n")
    return line


def identity_pem(tmp_path: Path) -> Path:
    path = tmp_path / "identity.pub"
    path.write_bytes(
        Ed25519PublicKey.from_public_bytes(IDENTITY).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


# -- the key check itself -----------------------------------------------------------------


@pytest.mark.parametrize("raw", SMALL_ORDER + NON_CANONICAL, ids=lambda b: b.hex()[:8])
def test_small_order_and_non_canonical_keys_refused(raw: bytes) -> None:
    assert ed25519.public_key_problem(raw) is not None
    with pytest.raises(KeyFileError):
        ed25519.check_public_key(raw)
    assert not ed25519.PublicKey(raw).verify(FORGED_SIG, b"any message")


def test_negative_zero_is_named() -> None:
    assert "negative zero" in (ed25519.public_key_problem(_enc(1, 1)) or "")
    assert "negative zero" in (ed25519.public_key_problem(_enc(P - 1, 1)) or "")


def test_real_keys_pass_the_check() -> None:
    for label in ("alice", "bob", "mallory", *(str(i) for i in range(200))):
        assert ed25519.public_key_problem(seeded_signer(label).public.raw) is None


def test_the_identity_forgery_is_real_without_the_check() -> None:
    """Why the check exists: the crypto library alone accepts the forged signature."""
    Ed25519PublicKey.from_public_bytes(IDENTITY).verify(FORGED_SIG, b"any message")


def test_non_canonical_s_is_refused(alice: ed25519.Signer) -> None:
    sig = alice.sign(b"m")
    s = int.from_bytes(sig[32:], "little")
    assert alice.public.verify(sig, b"m")
    assert not alice.public.verify(sig[:32] + (s + L).to_bytes(32, "little"), b"m")


# -- where keys enter ---------------------------------------------------------------------


def test_member_add_refuses_identity(case: Case, alice: ed25519.Signer, tmp_path: Path) -> None:
    before = case.journal_path.read_bytes()
    with pytest.raises(KeyFileError, match="small-order"):
        keyfiles.read_public(identity_pem(tmp_path))
    with pytest.raises(KeyFileError, match="small-order"):
        add_member(case, alice, ed25519.PublicKey(IDENTITY), name="Nobody", role="lead")
    with pytest.raises(InputError, match="small-order"):  # the append path on its own
        case.append(
            alice, "member.added", {"member": member_info(ed25519.PublicKey(IDENTITY), "N", "lead")}
        )
    assert case.journal_path.read_bytes() == before
    assert not case.key_path(ed25519.fingerprint_of(IDENTITY)).exists()


def test_key_file_with_identity_refused(tmp_path: Path) -> None:
    doc = {
        "type": "irkit-private-key",
        "format": 1,
        "algorithm": "ed25519",
        "name": "x",
        "role": "",
        "fingerprint": ed25519.fingerprint_of(IDENTITY),
        "public_key": base64.b64encode(IDENTITY).decode(),
        "encryption": None,
        "private_key": base64.b64encode(b"\x00" * 32).decode(),
    }
    path = tmp_path / "x.key"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="small-order"):
        keyfiles.read_public(path)


def test_forged_note_fails_verify(case: Case, alice: ed25519.Signer, bob: ed25519.Signer) -> None:
    """The issue's attack: a lead admits the identity point (here past every command), then
    a note 'signed' identity||0 with no private key, and a checkpoint signed the same way."""
    forger = ForgingSigner(IDENTITY)
    info = member_info(forger.public, "Nobody", "lead")
    from irkit.record.roster import origin_for

    origin = origin_for(case.roster()) or ""  # read before the forgery: appends refuse after
    force_append(case, alice, "member.added", {"member": info})
    force_append(
        case,
        forger,
        "note.added",
        {"text": "forged", "tags": [], "attachments": [], "confidential": False},
    )
    case.keys_dir.joinpath(forger.fingerprint.removeprefix("ed25519:") + ".pub").write_bytes(
        forger.public.pem()
    )
    # a checkpoint "signed" by the forger over the true journal
    all_lines = lines(case.root)
    cp = signednote.Checkpoint(
        origin,
        len(all_lines),
        merkle.root([merkle.leaf_hash(x) for x in all_lines]),
    )
    blob = signednote.key_id(forger.fingerprint, IDENTITY) + FORGED_SIG
    note = cp.body() + f"\n\u2014 {forger.fingerprint} {base64.b64encode(blob).decode()}\n".encode()
    kept = case.root.parent / "kept.txt"
    kept.write_bytes(note)
    report = verify(case.root, checkpoints=[kept])
    codes = {(p.seq, p.code) for p in report.problems}
    assert (2, "member-key") in codes  # the admission of a small-order key
    assert (3, "not-member") in codes  # so the forged note's signer is nobody
    assert any(p.code == "keys-dir" for p in report.problems)  # keys/ holds it: refused too
    kept_result = [c for c in report.checkpoints if c.kept]
    assert kept_result and not kept_result[0].consistent and kept_result[0].signers == []


def test_trust_value_small_order_key_refused(
    irkit: Runner, key_files: Any, tmp_path: Path, case: Case
) -> None:
    r = irkit("verify", "--trust", str(identity_pem(tmp_path)), case=case.root)
    assert r.exit_code == 2 and "small-order" in r.stderr and "Traceback" not in r.output


def test_member_add_cli_refuses_identity(irkit: Runner, key_files: Any, tmp_path: Path) -> None:
    case_dir = tmp_path / "c"
    assert (
        irkit("init", str(case_dir), "--title", "t", "--id", "C-1", key=key_files.alice).exit_code
        == 0
    )
    before = (case_dir / "journal.jsonl").read_bytes()
    keys_before = sorted(p.name for p in (case_dir / "keys").iterdir())
    r = irkit(
        "member",
        "add",
        str(identity_pem(tmp_path)),
        "--name",
        "N",
        "--role",
        "lead",
        key=key_files.alice,
        case=case_dir,
    )
    assert r.exit_code == 2 and "small-order" in r.stderr, r.output
    assert (case_dir / "journal.jsonl").read_bytes() == before
    assert sorted(p.name for p in (case_dir / "keys").iterdir()) == keys_before


# -- exhibits -----------------------------------------------------------------------------


@pytest.fixture
def noted(case: Case, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock) -> Case:
    for i in range(6):
        add_note(case, bob if i % 2 else alice, f"note {i}", clock=clock)
    return case  # entries: 0 opened, 1 bob added, 2..7 notes


def _fake_exhibit(
    tree_lines: list[bytes], include: list[int], cp_signer: ed25519.Signer, origin: str
) -> bytes:
    """An exhibit over a tree of the forger's own making, checkpoint signed by cp_signer."""
    leaves = [merkle.leaf_hash(x) for x in tree_lines]
    cp = signednote.Checkpoint(origin, len(tree_lines), merkle.root(leaves))
    note = signednote.sign_note(cp.body(), cp_signer)
    doc = {
        "type": "irkit-exhibit",
        "format": 1,
        "requested": [include[-1]],
        "checkpoint": note.decode(),
        "entries": [
            {
                "seq": s,
                "line": tree_lines[s].decode(),
                "proof": [h.hex() for h in merkle.inclusion_proof(s, leaves)],
            }
            for s in include
        ],
    }
    return json.dumps(doc).encode()


def _origin(case: Case) -> str:
    from irkit.record.roster import origin_for

    origin = origin_for(case.roster())
    assert origin is not None
    return origin


def _line(signer: Any, seq: int, prev_line: bytes | None, kind: str, body: dict[str, Any]) -> bytes:
    prev = journal.entry_hash(prev_line) if prev_line is not None else journal.GENESIS_PREV
    return build_line(
        signer, seq=seq, prev=prev, kind=kind, body=body, recorded="2026-01-02T05:00:00.000000Z"
    )


NOTE = {"text": "invented", "tags": [], "attachments": [], "confidential": False}


def test_responder_cannot_fabricate_a_tree(
    noted: Case, alice: ed25519.Signer, bob: ed25519.Signer
) -> None:
    """Attack 1: Bob builds his own tree with an invented entry and signs the checkpoint."""
    real = lines(noted.root)
    fake = [*real[:6], _line(bob, 6, real[5], "note.added", NOTE)]
    data = _fake_exhibit(fake, [0, 1, 6], bob, _origin(noted))
    report = exhibit.verify(data, [alice.fingerprint])
    assert not report.ok
    assert report.checkpoint_signers == [(bob.fingerprint, "Bob", "responder")]
    assert any("no active lead" in p for p in report.problems), report.problems


def test_responder_cannot_make_an_outsider_lead(
    noted: Case, alice: ed25519.Signer, bob: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    """Attack 2: Bob signs a member.added making Mallory a lead; Mallory signs a note and the
    checkpoint."""
    real = lines(noted.root)
    admit = _line(
        bob, 8, real[7], "member.added", {"member": member_info(mallory.public, "Mal", "lead")}
    )
    note = _line(mallory, 9, admit, "note.added", NOTE)
    data = _fake_exhibit([*real, admit, note], [0, 1, 8, 9], mallory, _origin(noted))
    report = exhibit.verify(data, [alice.fingerprint])
    assert not report.ok
    text = "\n".join(report.problems)
    assert "entry 8: role 'responder' may not sign member.added" in text, text
    assert "entry 9: signer is not a member" in text, text
    assert report.checkpoint_signers == []  # Mallory was never admitted
    assert 9 not in {e.seq for e in report.entries}


def test_exhibit_checks_prev_between_neighbours(noted: Case, alice: ed25519.Signer) -> None:
    """Two adjacent included entries must chain; here the lead re-signs entry 3 with a prev
    that is not entry 2's hash (every proof and signature holds)."""
    real = lines(noted.root)
    bent = _line(alice, 3, real[1], "note.added", NOTE)  # prev of entry 1, not entry 2
    fake = [*real[:3], bent, *real[4:]]
    report = exhibit.verify(
        _fake_exhibit(fake, [0, 2, 3], alice, _origin(noted)), [alice.fingerprint]
    )
    assert not report.ok and any("entry 3: prev hash" in p for p in report.problems), (
        report.problems
    )


def test_exhibit_refuses_duplicates(noted: Case, alice: ed25519.Signer) -> None:
    doc = exhibit.create(noted, [4], checkpoints.issue(noted, alice).note)
    doc["entries"].append(dict(doc["entries"][-1]))
    report = exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint])
    assert not report.ok and any("more than once" in p for p in report.problems)


def test_exhibit_includes_admissions_transitively(
    noted: Case,
    alice: ed25519.Signer,
    bob: ed25519.Signer,
    mallory: ed25519.Signer,
    clock: FixedClock,
) -> None:
    """Carol, a lead added by the opener, adds Mallory; Mallory's note is exhibited with a
    checkpoint Carol signs: both admissions come along, back to the opener."""
    carol = seeded_signer("carol", "lead")
    add_member(noted, alice, carol.public, name="Carol", role="lead", clock=clock)  # 8
    add_member(noted, carol, mallory.public, name="Mal", role="responder", clock=clock)  # 9
    add_note(noted, mallory, "by mallory", clock=clock)  # 10
    doc = exhibit.create(noted, [10], checkpoints.issue(noted, carol).note)
    assert [e["seq"] for e in doc["entries"]] == [0, 8, 9, 10]
    report = exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint])
    assert report.ok, report.problems
    assert report.checkpoint_signers == [(carol.fingerprint, "Carol", "lead")]
    by_opener = exhibit.create(noted, [10], checkpoints.issue(noted, alice).note)
    assert [e["seq"] for e in by_opener["entries"]] == [0, 8, 9, 10]  # 8: who admitted 9
    assert exhibit.verify(json.dumps(by_opener).encode(), [alice.fingerprint]).ok
    del doc["entries"][1]  # without Carol's admission nothing after it holds
    report = exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint])
    assert not report.ok and any("entry 9: signer is not a member" in p for p in report.problems)


def test_exhibit_create_refuses_a_responders_checkpoint(noted: Case, bob: ed25519.Signer) -> None:
    with pytest.raises(InputError, match="no active lead"):
        exhibit.create(noted, [3], checkpoints.issue(noted, bob).note)


def test_exhibit_with_identity_member_fails(noted: Case, alice: ed25519.Signer) -> None:
    forger = ForgingSigner(IDENTITY)
    real = lines(noted.root)
    admit = _line(
        alice, 8, real[7], "member.added", {"member": member_info(forger.public, "N", "lead")}
    )
    forged = _line(forger, 9, admit, "note.added", NOTE)
    report = exhibit.verify(
        _fake_exhibit([*real, admit, forged], [0, 8, 9], alice, _origin(noted)),
        [alice.fingerprint],
    )
    assert not report.ok
    assert any("entry 8: small-order" in p for p in report.problems), report.problems
    assert 9 not in {e.seq for e in report.entries}


def _valid_doc(noted: Case, alice: ed25519.Signer) -> dict[str, Any]:
    return exhibit.create(noted, [3], checkpoints.issue(noted, alice).note)


MALFORMED: list[tuple[str, Any]] = [
    ("not an object", lambda d: [d]),
    ("no type", lambda d: {k: v for k, v in d.items() if k != "type"}),
    ("checkpoint missing", lambda d: {k: v for k, v in d.items() if k != "checkpoint"}),
    ("checkpoint a number", lambda d: dict(d, checkpoint=5)),
    ("checkpoint garbage", lambda d: dict(d, checkpoint="hello")),
    ("entries missing", lambda d: {k: v for k, v in d.items() if k != "entries"}),
    ("entries a dict", lambda d: dict(d, entries={})),
    ("entry not a dict", lambda d: dict(d, entries=[1])),
    ("entry seq missing", lambda d: dict(d, entries=[{"line": "x", "proof": []}])),
    ("entry seq a string", lambda d: dict(d, entries=[{"seq": "1", "line": "x", "proof": []}])),
    ("entry seq a bool", lambda d: dict(d, entries=[{"seq": True, "line": "x", "proof": []}])),
    ("entry line missing", lambda d: dict(d, entries=[{"seq": 1, "proof": []}])),
    ("entry line a list", lambda d: dict(d, entries=[{"seq": 1, "line": [], "proof": []}])),
    ("proof not a list", lambda d: dict(d, entries=[{"seq": 1, "line": "x", "proof": "ab"}])),
    ("proof of numbers", lambda d: dict(d, entries=[{"seq": 1, "line": "x", "proof": [1]}])),
    ("requested of strings", lambda d: dict(d, requested=["3"])),
]


@pytest.mark.parametrize(("label", "damage"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_exhibits_raise_input_error(
    noted: Case, alice: ed25519.Signer, label: str, damage: Any
) -> None:
    data = json.dumps(damage(_valid_doc(noted, alice))).encode()
    with pytest.raises(InputError, match="malformed exhibit"):
        exhibit.verify(data, [alice.fingerprint])


def test_deeply_nested_exhibit(alice: ed25519.Signer) -> None:
    with pytest.raises(InputError, match="malformed exhibit"):
        exhibit.verify(b"[" * 100_000 + b"]" * 100_000, [alice.fingerprint])


ENTRY_DAMAGE: list[tuple[str, Any]] = [
    ("line not JSON", lambda o: "{not json"),
    ("line missing body", lambda o: json.dumps({k: v for k, v in o.items() if k != "body"})),
    ("body a string", lambda o: json.dumps(dict(o, body="x"), sort_keys=True)),
    ("seq a string", lambda o: json.dumps(dict(o, seq="3"), sort_keys=True)),
    ("deep body", lambda o: '{"body":' + "[" * 5000 + "]" * 5000 + "}"),
]


@pytest.mark.parametrize(("label", "damage"), ENTRY_DAMAGE, ids=[m[0] for m in ENTRY_DAMAGE])
def test_damaged_entry_lines_are_problems(
    noted: Case, alice: ed25519.Signer, label: str, damage: Any
) -> None:
    doc = _valid_doc(noted, alice)
    last = doc["entries"][-1]
    last["line"] = damage(json.loads(last["line"]))
    report = exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint])
    assert not report.ok and any(p.startswith("entry 3:") for p in report.problems)


def test_exhibit_cli_exit_codes(
    irkit: Runner, noted: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    path = tmp_path / "ex.json"
    doc = _valid_doc(noted, alice)
    path.write_text(json.dumps(doc))
    r = irkit("exhibit", "verify", str(path), "--trust", alice.fingerprint)
    assert r.exit_code == 0, r.output
    assert f"signed by Alice (lead, {alice.fingerprint})" in r.output
    path.write_text(json.dumps(dict(doc, entries=[{"seq": 1}])))
    r = irkit("exhibit", "verify", str(path), "--trust", alice.fingerprint)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.output
    path.write_bytes(b"[" * 100_000)
    r = irkit("exhibit", "verify", str(path), "--trust", alice.fingerprint)
    assert r.exit_code == 2 and "Traceback" not in r.output
    doc["entries"][-1]["line"] = "{}"
    path.write_text(json.dumps(doc))
    r = irkit("exhibit", "verify", str(path), "--trust", alice.fingerprint, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["ok"] is False


# -- the uncovered tail -------------------------------------------------------------------


def test_verify_says_what_no_kept_checkpoint_covers(
    noted: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    report = verify(noted.root)
    assert report.ok and (report.covered, report.uncovered) == (0, 8)
    assert any(w.code == "uncovered" and "entries 0-7 (8)" in w.message for w in report.warnings)
    kept = tmp_path / "kept.txt"
    kept.write_bytes(checkpoints.issue(noted, alice).note)
    for i in range(12):
        add_note(noted, alice, f"later {i}")
    report = verify(noted.root, checkpoints=[kept])
    assert report.ok and (report.covered, report.uncovered) == (8, 12)
    assert any("entries 8-19 (12)" in w.message for w in report.warnings)
    # the issue's case: the last 12 entries dropped, no kept checkpoint at hand. Nothing can
    # tell, but verify no longer says VERIFIED without saying that nothing covers the tail
    (noted.root / "journal.jsonl").write_bytes(b"".join(x + b"\n" for x in lines(noted.root)[:8]))
    for cp in noted.checkpoints_dir.iterdir():
        cp.unlink()
    report = verify(noted.root)
    assert report.ok and report.uncovered == 8
    assert [w.code for w in report.warnings].count("uncovered") == 1
    report = verify(noted.root, checkpoints=[kept])
    assert report.ok and report.uncovered == 0
    assert not any(w.code == "uncovered" for w in report.warnings)


def test_verify_cli_reports_coverage(irkit: Runner, noted: Case, tmp_path: Path) -> None:
    r = irkit("verify", case=noted.root)
    assert r.exit_code == 0
    assert "entries 0-7 (8) are covered by no kept checkpoint" in r.stderr
    assert "kept checkpoints cover 0 of 8 entries; 8 not covered" in r.stdout
    r = irkit("verify", "--json", case=noted.root)
    doc = json.loads(r.stdout)
    assert (doc["covered"], doc["uncovered"]) == (0, 8)
    assert any(w["code"] == "uncovered" for w in doc["warnings"])


def test_signed_bytes_helper_matches_build_line(alice: ed25519.Signer) -> None:
    """force_append and _line rely on build_line signing exactly signed_bytes."""
    line = _line(alice, 0, None, "note.added", NOTE)
    obj = json.loads(line)
    sig = base64.b64decode(obj.pop("sig"))
    assert alice.public.verify(sig, signed_bytes(obj))


def test_exhibit_admission_with_a_bad_signature_admits_nobody(
    noted: Case, alice: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    real = lines(noted.root)
    admit = _line(
        alice, 8, real[7], "member.added", {"member": member_info(mallory.public, "Mal", "lead")}
    )
    cut = admit.rindex(b'"sig":"') + 7
    admit = admit[:cut] + (b"B" if admit[cut : cut + 1] == b"A" else b"A") + admit[cut + 1 :]
    note = _line(mallory, 9, admit, "note.added", NOTE)
    report = exhibit.verify(
        _fake_exhibit([*real, admit, note], [0, 8, 9], mallory, _origin(noted)),
        [alice.fingerprint],
    )
    assert any("entry 8: signature does not verify" in p for p in report.problems)
    assert report.checkpoint_signers == [] and {e.seq for e in report.entries} == {0}
