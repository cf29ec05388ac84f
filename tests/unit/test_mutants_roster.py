"""Membership rules, one by one, on the roster itself (mutation testing, bench/mutation.py).

Who may sign what, whose checkpoint speaks for the case, what a membership entry may do:
each refusal is checked with its exact reason, each permission next to it.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from irkit.errors import InputError
from irkit.formats import ed25519
from irkit.record.case import member_info
from irkit.record.roster import (
    Member,
    Roster,
    body_problem,
    describe,
    member_key_problem,
    origin_for,
)
from tests.conftest import seeded_signer

LEAD = seeded_signer("alice", "lead")
BOB = seeded_signer("bob")
CAROL = seeded_signer("carol", "lead")
OUT = seeded_signer("mallory")


def _opened() -> Roster:
    """alice opened (0), bob responder (1), carol lead (2), carol removed (3)."""
    r = Roster.empty()
    assert (
        r.apply(
            0,
            "case.opened",
            {"case_id": "C-1", "opener": member_info(LEAD.public, "Alice", "lead")},
        )
        is None
    )
    assert (
        r.apply(1, "member.added", {"member": member_info(BOB.public, "Bob", "responder")}) is None
    )
    assert (
        r.apply(2, "member.added", {"member": member_info(CAROL.public, "Carol", "lead")}) is None
    )
    assert r.apply(3, "member.removed", {"fingerprint": CAROL.fingerprint}) is None
    return r


def test_the_fold() -> None:
    r = _opened()
    assert (r.opener, r.case_id) == (LEAD.fingerprint, "C-1")
    alice = r.members[LEAD.fingerprint]
    assert (alice.name, alice.role, alice.added_seq, alice.removed_seq) == (
        "Alice",
        "lead",
        0,
        None,
    )
    assert alice.public_key == base64.b64encode(LEAD.public.raw).decode()
    bob = r.members[BOB.fingerprint]
    assert (bob.name, bob.role, bob.added_seq, bob.active) == ("Bob", "responder", 1, True)
    carol = r.members[CAROL.fingerprint]
    assert (carol.added_seq, carol.removed_seq, carol.active) == (2, 3, False)
    assert r.is_member(BOB.fingerprint) and not r.is_member(CAROL.fingerprint)
    assert not r.is_member(OUT.fingerprint)


def test_the_fold_refuses() -> None:
    r = _opened()
    opener = {"case_id": "C-2", "opener": member_info(BOB.public, "Bob", "lead")}
    assert r.apply(4, "case.opened", opener) == "a second case.opened entry"
    assert r.opener == LEAD.fingerprint and r.case_id == "C-1"
    again = {"member": member_info(BOB.public, "Bob", "lead")}
    assert r.apply(4, "member.added", again) == "member.added for a key that is already a member"
    assert r.members[BOB.fingerprint].role == "responder"
    gone = {"fingerprint": CAROL.fingerprint}
    assert r.apply(4, "member.removed", gone) == "member.removed for a key that is not a member"
    assert r.members[CAROL.fingerprint].removed_seq == 3
    stranger = {"fingerprint": OUT.fingerprint}
    assert r.apply(4, "member.removed", stranger) == "member.removed for a key that is not a member"
    opener_out = {"fingerprint": LEAD.fingerprint}
    assert r.apply(4, "member.removed", opener_out) == "the opener cannot be removed"
    assert r.members[LEAD.fingerprint].active
    assert r.apply(4, "note.added", {"text": "x"}) is None


def test_a_removed_member_can_be_added_again() -> None:
    r = _opened()
    back = {"member": member_info(CAROL.public, "Carol", "responder")}
    assert r.apply(5, "member.added", back) is None
    carol = r.members[CAROL.fingerprint]
    assert (carol.role, carol.added_seq, carol.removed_seq) == ("responder", 5, None)


def test_who_may_sign_what() -> None:
    r = _opened()
    assert r.may_sign(LEAD.fingerprint, "member.added") is None
    assert r.may_sign(BOB.fingerprint, "note.added") is None
    assert r.may_sign(BOB.fingerprint, "member.added") == (
        "role 'responder' may not sign member.added (needs: lead)"
    )
    assert r.may_sign(BOB.fingerprint, "member.removed") is not None
    assert r.may_sign(OUT.fingerprint, "note.added") == "signer is not a member of the case"
    assert r.may_sign(CAROL.fingerprint, "note.added") == (
        "signer was removed from the case at entry 3"
    )


def test_whose_checkpoint_speaks_for_the_case() -> None:
    r = _opened()
    assert r.may_sign_checkpoint(LEAD.fingerprint) is None
    assert r.may_sign_checkpoint(BOB.fingerprint) == "role 'responder' (a checkpoint needs: lead)"
    assert r.may_sign_checkpoint(CAROL.fingerprint) == "removed at entry 3"
    assert r.may_sign_checkpoint(OUT.fingerprint) == "not a member"


def _key_info(signer: ed25519.Signer, **changes: Any) -> dict[str, Any]:
    return member_info(signer.public, "X", "responder") | changes


def test_member_key_problems() -> None:
    assert member_key_problem(_key_info(OUT)) is None
    raw_b64 = base64.b64encode(OUT.public.raw).decode()
    assert member_key_problem(_key_info(OUT, public_key="not base64!")) == (
        "member public key is not base64"
    )
    assert member_key_problem(_key_info(OUT, public_key="é")) == "member public key is not base64"
    short = base64.b64encode(OUT.public.raw[:31]).decode()
    assert member_key_problem(_key_info(OUT, public_key=short)) == (
        "member public key is not the canonical base64 of 32 bytes"
    )
    # the same 32 bytes spelt without padding: decodes, but is not irkit's one spelling
    assert member_key_problem(_key_info(OUT, public_key=raw_b64.rstrip("="))) is not None
    assert member_key_problem(_key_info(OUT, fingerprint=BOB.fingerprint)) == (
        "member public key does not match its fingerprint"
    )
    small = bytes([1]) + bytes(31)  # the identity point: small order
    bad = {
        "public_key": base64.b64encode(small).decode(),
        "fingerprint": ed25519.fingerprint_of(small),
    }
    assert member_key_problem(bad) is not None


def test_body_rules() -> None:
    r = _opened()
    added = {"member": _key_info(OUT)}
    assert body_problem(r, "member.added", added) is None
    assert body_problem(r, "member.added", {"member": _key_info(BOB)}) == (
        "membership",
        "member.added for a key that is already a member",
    )
    assert body_problem(r, "member.added", {"member": _key_info(CAROL)}) is None  # re-adding
    broken = {"member": _key_info(OUT, fingerprint=BOB.fingerprint)}
    assert body_problem(r, "member.added", broken) == (
        "member-key",
        "member public key does not match its fingerprint",
    )
    opened = {"case_id": "C", "opener": _key_info(OUT, fingerprint=BOB.fingerprint)}
    assert body_problem(r, "case.opened", opened) == (
        "member-key",
        "member public key does not match its fingerprint",
    )
    assert (
        body_problem(Roster.empty(), "case.opened", {"case_id": "C", "opener": _key_info(OUT)})
        is None
    )
    assert body_problem(r, "member.removed", {"fingerprint": BOB.fingerprint}) is None
    assert body_problem(r, "member.removed", {"fingerprint": CAROL.fingerprint}) == (
        "membership",
        "member.removed for a key that is not a member",
    )
    assert body_problem(r, "member.removed", {"fingerprint": LEAD.fingerprint}) == (
        "membership",
        "the opener cannot be removed",
    )
    assert body_problem(r, "custody.released", {"to": BOB.fingerprint}) is None
    assert body_problem(r, "custody.released", {"to": CAROL.fingerprint}) == (
        "custody",
        f"custody released to {CAROL.fingerprint}, who is not a member",
    )
    assert body_problem(r, "note.added", {"tags": ["a", "b"]}) is None
    assert body_problem(r, "note.added", {"tags": ["b", "a"]}) == (
        "unsorted",
        "note.added tags are not sorted and unique",
    )
    assert body_problem(r, "note.corrected", {"links": ["a", "a"]}) == (
        "unsorted",
        "note.corrected links are not sorted and unique",
    )
    assert body_problem(r, "note.added", {"tags": "ab"}) is not None  # not a list
    assert body_problem(r, "incident.opened", {"tags": ["b", "a"]}) is None  # no rule for it


def test_resolving_people() -> None:
    r = _opened()
    bob_hex = BOB.fingerprint.removeprefix("ed25519:")
    assert r.resolve("Bob").fingerprint == BOB.fingerprint
    assert r.resolve(" Bob ").fingerprint == BOB.fingerprint
    assert r.resolve(BOB.fingerprint).fingerprint == BOB.fingerprint
    assert r.resolve(bob_hex[:8]).fingerprint == BOB.fingerprint
    assert r.resolve("ed25519:" + bob_hex[:8].upper()).fingerprint == BOB.fingerprint
    assert r.find(bob_hex[:7]) is None
    with pytest.raises(InputError) as short:
        r.resolve(bob_hex[:7])
    assert "(a fingerprint prefix needs at least 8 hex digits)" in str(short.value)
    assert f"members: Alice [{LEAD.fingerprint[:24]}], Bob [{BOB.fingerprint[:24]}]" in str(
        short.value
    )
    with pytest.raises(InputError, match=r"^member 'Carol' was removed from the case at entry 3$"):
        r.resolve("Carol")
    with pytest.raises(InputError) as nobody:
        r.resolve("Zed", what="witness")
    assert str(nobody.value).startswith("witness 'Zed' is not a member of this case; members: ")
    assert "(a fingerprint prefix" not in str(nobody.value)


def test_two_members_of_one_name_must_be_told_apart() -> None:
    r = _opened()
    r.apply(4, "member.added", {"member": member_info(OUT.public, "Bob", "responder")})
    with pytest.raises(InputError, match=r"^member 'Bob': 2 members have that name"):
        r.find("Bob")


def test_one_prefix_for_two_members_is_refused() -> None:
    r = Roster(members={})
    for i, fp in enumerate(("ed25519:" + "ab" * 32, "ed25519:" + "abababab" + "cd" * 28)):
        r.members[fp] = Member(fp, "", f"m{i}", "responder", i)
    with pytest.raises(InputError, match=r"^member 'abababab' matches 2 members; give more digits"):
        r.find("abababab")
    assert r.find("ababababcd") is not None and r.find("ababababab") is not None


def test_describe_and_round_trip() -> None:
    r = _opened()
    assert describe([]) == "(none)"
    assert Roster.from_json(r.to_json()) == r
    assert origin_for(r) == f"irkit.case/C-1/{LEAD.fingerprint.removeprefix('ed25519:')[:16]}"
    assert origin_for(Roster.empty()) is None
    assert origin_for(Roster(members={}, case_id="C-1")) is None
