"""Issue #18, people: every option naming a person resolves it the same way (name, prefix,
fingerprint), assignees and acknowledgements say who they are, a witness key can be locked,
and a member holding evidence cannot be removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from irkit.formats import ed25519
from irkit.record import keyfiles
from irkit.record.case import Case, add_member
from irkit.record.roster import Roster
from tests.conftest import KeyFiles, Runner, seeded_signer
from tests.helpers import verify


def _collect(irkit: Runner, key: Path, case: Case, tmp_path: Path, name: str = "usb.img") -> None:
    src = tmp_path / name
    src.write_bytes(b"usb image " + name.encode())
    r = irkit("evidence", "collect", str(src), key=key, case=case.root)
    assert r.exit_code == 0, r.output


def _release(irkit: Runner, key: Path, case: Case, to: str, item: str = "E-0001") -> Result:
    return irkit(
        "custody", "release", item, "--to", to, "--purpose", "lab", key=key, case=case.root
    )


@pytest.mark.parametrize(
    "spelling",
    [
        "Bob",  # the member's exact name
        "{hex8}",  # 8 hex digits
        "ed25519:{hex16}",  # the short form irkit prints
        "{hex16_upper}",  # any case
        "{full}",  # the whole fingerprint
        "{bare64}",  # the whole fingerprint without its prefix
    ],
)
def test_release_to_takes_a_member_as_people_name_them(
    irkit: Runner,
    key_files: KeyFiles,
    case: Case,
    bob: ed25519.Signer,
    tmp_path: Path,
    spelling: str,
) -> None:
    digits = bob.fingerprint.removeprefix("ed25519:")
    to = spelling.format(
        hex8=digits[:8],
        hex16=digits[:16],
        hex16_upper=digits[:16].upper(),
        full=bob.fingerprint,
        bare64=digits,
    )
    _collect(irkit, key_files.alice, case, tmp_path)
    r = _release(irkit, key_files.alice, case, to)
    assert r.exit_code == 0, r.output
    assert "until the receiver (Bob) runs" in r.output
    entry = json.loads(irkit("log", "--json", case=case.root).output)[-1]
    assert entry["kind"] == "custody.released" and entry["body"]["to"] == bob.fingerprint


def test_release_to_unknown_or_short_lists_the_members(
    irkit: Runner, key_files: KeyFiles, case: Case, bob: ed25519.Signer, tmp_path: Path
) -> None:
    _collect(irkit, key_files.alice, case, tmp_path)
    before = case.journal_path.read_bytes()
    r = _release(irkit, key_files.alice, case, "Bob Example")
    err = r.stderr
    assert r.exit_code == 2
    assert "'Bob Example' is not a member of this case" in err
    assert f"Bob [{bob.fingerprint[:24]}]" in err and "Alice" in err
    r = _release(irkit, key_files.alice, case, bob.fingerprint.removeprefix("ed25519:")[:6])
    assert r.exit_code == 2 and "at least 8 hex digits" in r.stderr
    assert case.journal_path.read_bytes() == before


def test_a_name_two_members_share_is_refused_with_both(case: Case) -> None:
    from irkit.errors import InputError

    bob = next(m for m in case.roster().members.values() if m.name == "Bob")
    twin = seeded_signer("another bob")
    add_member(case, seeded_signer("alice", "lead"), twin.public, name="Bob", role="responder")
    roster: Roster = case.roster()
    with pytest.raises(InputError, match="2 members have that name") as exc:
        roster.resolve("Bob")
    assert bob.fingerprint[:24] in exc.value.message and twin.fingerprint[:24] in exc.value.message
    # each is still reachable by a prefix of their own
    assert roster.resolve(bob.fingerprint[8:16]).fingerprint == bob.fingerprint
    assert roster.resolve(twin.fingerprint[:20]).fingerprint == twin.fingerprint


def test_ambiguous_prefix_is_refused() -> None:
    from irkit.errors import InputError
    from irkit.record.roster import Member

    fp1 = "ed25519:" + "ab" * 4 + "1" * 56
    fp2 = "ed25519:" + "ab" * 4 + "2" * 56
    roster = Roster(
        members={
            fp1: Member(fp1, "", "One", "lead", 0),
            fp2: Member(fp2, "", "Two", "responder", 1),
        },
        opener=fp1,
    )
    with pytest.raises(InputError, match=r"matches 2 members; give more digits") as exc:
        roster.resolve("ed25519:abababab")
    assert "One [" in exc.value.message and "Two [" in exc.value.message
    assert roster.resolve("abababab2").name == "Two"


def test_member_remove_by_name_and_refused_while_holding_evidence(
    irkit: Runner, key_files: KeyFiles, case: Case, bob: ed25519.Signer, tmp_path: Path
) -> None:
    _collect(irkit, key_files.alice, case, tmp_path)
    assert _release(irkit, key_files.alice, case, "Bob").exit_code == 0
    before = case.journal_path.read_bytes()
    # in transit to Bob: removing him would orphan E-0001
    r = irkit("member", "remove", "Bob", "--reason", "left", key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "Bob holds E-0001" in r.stderr
    assert "custody release" in r.stderr
    r = irkit("custody", "accept", "T-0001", key=key_files.bob, case=case.root)
    assert r.exit_code == 0
    r = irkit("member", "remove", "Bob", "--reason", "left", key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "Bob holds E-0001" in r.stderr
    assert case.journal_path.read_bytes() != before  # the accept only
    # Bob hands it back; now he may go, named by his 8-digit prefix
    r = _release(irkit, key_files.bob, case, "Alice")
    assert r.exit_code == 0
    assert irkit("custody", "accept", "T-0002", key=key_files.alice, case=case.root).exit_code == 0
    prefix = bob.fingerprint.removeprefix("ed25519:")[:8]
    r = irkit("member", "remove", prefix, "--reason", "left", key=key_files.alice, case=case.root)
    assert r.exit_code == 0, r.output
    assert f"removed Bob {bob.fingerprint}" in r.output
    r = irkit("member", "remove", "Bob", "--reason", "x", key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "was removed from the case at entry" in r.stderr
    assert verify(case.root).ok


def test_trust_takes_bare_hex_and_explains_a_prefix(
    irkit: Runner, case: Case, alice: ed25519.Signer
) -> None:
    bare = alice.fingerprint.removeprefix("ed25519:")
    r = irkit("verify", "--trust", bare, case=case.root)
    assert r.exit_code == 0 and "anchored" in r.output
    r = irkit("verify", "--trust", bare.upper(), case=case.root)
    assert r.exit_code == 0 and "anchored" in r.output
    # a prefix or a name would be looked up in the case under test: refused, with the
    # fingerprint it names there shown for comparison
    r = irkit("verify", "--trust", "Alice", case=case.root)
    assert r.exit_code == 2
    assert "not a whole fingerprint" in r.stderr and alice.fingerprint in r.stderr
    r = irkit("verify", "--trust", bare[:12], case=case.root)
    assert r.exit_code == 2 and alice.fingerprint in r.stderr


def test_exhibit_trust_takes_bare_hex(
    irkit: Runner, key_files: KeyFiles, case: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    out = tmp_path / "ex.json"
    r = irkit("exhibit", "create", "1", "-o", str(out), key=key_files.alice, case=case.root)
    assert r.exit_code == 0, r.output
    bare = alice.fingerprint.removeprefix("ed25519:")
    r = irkit("exhibit", "verify", str(out), "--trust", bare)
    assert r.exit_code == 0, r.output
    r = irkit("exhibit", "verify", str(out), "--trust", bare[:16])
    assert r.exit_code == 2 and "not a whole fingerprint" in r.stderr


def test_assign_records_a_member_or_says_not_a_member(
    irkit: Runner, key_files: KeyFiles, case: Case, bob: ed25519.Signer
) -> None:
    prefix = "ed25519:" + bob.fingerprint.removeprefix("ed25519:")[:16]
    r = irkit("case", "assign", prefix, key=key_files.alice, case=case.root)
    assert r.exit_code == 0, r.output
    assert f"assignee: unset -> Bob [{bob.fingerprint[:24]}]" in r.output
    r = irkit("case", "assign", "Network team", key=key_files.alice, case=case.root)
    assert r.exit_code == 0
    assert "assignee: Bob -> Network team (not a case member)" in r.output
    assert "'Network team' is not a member of this case" in r.stderr  # a typo shows
    entries = json.loads(irkit("log", "--json", case=case.root).output)
    fields = [e["body"] for e in entries if e["kind"] == "incident.field"]
    assert fields[0]["assignee"] == bob.fingerprint and fields[0]["new"] == "Bob"
    assert fields[1]["external"] is True and "assignee" not in fields[1]
    assert verify(case.root).ok


def test_raiser_cannot_ack_own_escalation_without_saying_why(
    irkit: Runner, key_files: KeyFiles, case: Case
) -> None:
    r = irkit(
        "case", "escalate", "--tier", "2", "--reason", "needs AD admin",
        key=key_files.alice, case=case.root, env={"COLUMNS": "200"},
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    seq = r.output.split()[0].lstrip("#")
    before = case.journal_path.read_bytes()
    r = irkit("case", "ack", seq, key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "you raised escalation" in r.stderr and "--self-ack" in r.stderr
    assert case.journal_path.read_bytes() == before
    r = irkit("case", "ack", seq, "--self-ack", "x", key=key_files.bob, case=case.root)
    assert r.exit_code == 2 and "raised by someone else" in r.stderr
    r = irkit(
        "case", "ack", seq, "--self-ack", "tier 2 is me tonight",
        key=key_files.alice, case=case.root,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "their own: tier 2 is me tonight" in r.output
    body = json.loads(irkit("log", "--json", case=case.root).output)[-1]["body"]
    assert body["self_ack"] == "tier 2 is me tonight"


def test_ack_by_another_member(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    r = irkit(
        "case", "escalate", "--tier", "2", "--reason", "r", key=key_files.alice, case=case.root
    )
    seq = r.output.split()[0].lstrip("#")
    r = irkit("case", "ack", seq, key=key_files.bob, case=case.root)
    assert r.exit_code == 0 and "acknowledges escalation" in r.output


def test_witness_key_with_a_passphrase(
    irkit: Runner, key_files: KeyFiles, case: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    bob = seeded_signer("bob")
    locked = tmp_path / "bob-locked.key"
    keyfiles.write_key_file(
        locked, bob, "witness passphrase", created="2026-01-01T00:00:00.000000Z", scrypt_n=2**10
    )
    _collect(irkit, key_files.alice, case, tmp_path)
    args = ("custody", "dispose", "E-0001", "--reason", "destroyed", "--witness-key", str(locked))
    # no passphrase for the witness: a clear refusal, nothing written (the signer's own
    # IRKIT_PASSPHRASE is not the witness's)
    before = case.journal_path.read_bytes()
    r = irkit(*args, key=key_files.alice, case=case.root, env={"IRKIT_PASSPHRASE": "nope"})
    assert r.exit_code == 2 and "passphrase-protected" in r.stderr
    assert case.journal_path.read_bytes() == before
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not it\n")
    r = irkit(*args, "--witness-passphrase-file", str(wrong), key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "wrong passphrase" in r.stderr
    good = tmp_path / "good.txt"
    good.write_text("witness passphrase\n")
    r = irkit(*args, "--witness-passphrase-file", str(good), key=key_files.alice, case=case.root)
    assert r.exit_code == 0, r.output
    body = json.loads(irkit("log", "--json", case=case.root).output)[-1]["body"]
    assert body["witness"] == bob.fingerprint
    assert verify(case.root).ok


def test_witness_passphrase_from_its_own_variable(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    locked = tmp_path / "bob-locked.key"
    keyfiles.write_key_file(
        locked,
        seeded_signer("bob"),
        "witness passphrase",
        created="2026-01-01T00:00:00.000000Z",
        scrypt_n=2**10,
    )
    _collect(irkit, key_files.alice, case, tmp_path)
    r = irkit(
        "custody", "return", "E-0001", "--reason", "owner", "--witness-key", str(locked),
        key=key_files.alice, case=case.root,
        env={"IRKIT_WITNESS_PASSPHRASE": "witness passphrase"},
    )  # fmt: skip
    assert r.exit_code == 0, r.output


def test_escalate_to_a_member_records_who(
    irkit: Runner, key_files: KeyFiles, case: Case, bob: ed25519.Signer
) -> None:
    prefix = bob.fingerprint.removeprefix("ed25519:")[:10]
    r = irkit(
        "case", "escalate", "--to", prefix, "--reason", "r", key=key_files.alice, case=case.root
    )
    assert r.exit_code == 0 and "escalation to Bob" in r.output, r.output
    r = irkit(
        "case", "escalate", "--to", "network", "--reason", "r", key=key_files.alice, case=case.root
    )
    assert r.exit_code == 0
    bodies = [
        e["body"]
        for e in json.loads(irkit("log", "--json", case=case.root).output)
        if e["kind"] == "incident.escalated"
    ]
    assert bodies[0]["team"] == "Bob" and bodies[0]["member"] == bob.fingerprint
    assert bodies[1]["team"] == "network" and "member" not in bodies[1]
    assert verify(case.root).ok
