"""Exhibit verification: each refusal says which entry and why, and one bad entry does not
stop the others being checked (mutation testing, bench/mutation.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from irkit.audit import exhibit
from irkit.formats import ed25519, merkle, signednote
from irkit.notes.notes import add_note
from irkit.record import checkpoints
from irkit.record.case import Case
from irkit.record.entry import build_line
from irkit.record.roster import origin_for
from tests.conftest import FixedClock
from tests.helpers import lines


@pytest.fixture
def noted(case: Case, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock) -> Case:
    for i in range(6):
        add_note(case, bob if i % 2 else alice, f"note {i}", clock=clock)
    return case  # entries 0-7: opened, bob admitted, six notes


def _doc(case: Case, alice: ed25519.Signer, seqs: list[int]) -> dict[str, Any]:
    return exhibit.create(case, seqs, checkpoints.issue(case, alice).note)


def _entry(doc: dict[str, Any], seq: int) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in doc["entries"] if e["seq"] == seq)
    return found


def _verify(doc: dict[str, Any], alice: ed25519.Signer) -> exhibit.ExhibitReport:
    return exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint])


def test_a_duplicate_is_named_and_the_rest_still_checked(
    noted: Case, alice: ed25519.Signer
) -> None:
    doc = _doc(noted, alice, [3, 5])
    doc["entries"].insert(0, dict(_entry(doc, 3)))  # 3 twice, before 5 once sorted
    report = _verify(doc, alice)
    assert report.problems == ["entry 3: included more than once"]
    assert [e.seq for e in report.entries] == [0, 1, 3, 5]


@pytest.mark.parametrize("seq", [8, 9])  # the size itself, and beyond
def test_an_entry_outside_the_checkpoint_is_named(
    noted: Case, alice: ed25519.Signer, seq: int
) -> None:
    doc = _doc(noted, alice, [3, 5])
    doc["entries"].insert(2, dict(_entry(doc, 3), seq=seq))
    report = _verify(doc, alice)
    assert report.problems == [f"entry {seq}: outside the checkpoint (size 8)"]
    assert [e.seq for e in report.entries] == [0, 1, 3, 5]


def test_an_outsider_sorted_first_does_not_stop_the_check(
    noted: Case, alice: ed25519.Signer
) -> None:
    doc = _doc(noted, alice, [3, 5])
    doc["entries"].append(dict(_entry(doc, 3), seq=-1))
    report = _verify(doc, alice)
    assert report.problems == ["entry -1: outside the checkpoint (size 8)"]
    assert [e.seq for e in report.entries] == [0, 1, 3, 5]


def test_a_malformed_proof_is_named_and_the_rest_still_checked(
    noted: Case, alice: ed25519.Signer
) -> None:
    doc = _doc(noted, alice, [3, 5])
    _entry(doc, 3)["proof"] = ["not hex"]
    report = _verify(doc, alice)
    assert report.problems == [
        "entry 3: malformed inclusion proof",
        "entry 3: requested but missing or failed its checks",
    ]
    assert [e.seq for e in report.entries] == [0, 1, 5]


def test_a_proof_that_does_not_reach_the_root_is_named(noted: Case, alice: ed25519.Signer) -> None:
    doc = _doc(noted, alice, [3, 5])
    _entry(doc, 3)["proof"][0] = "00" * 32
    report = _verify(doc, alice)
    assert report.problems == [
        "entry 3: not included in the checkpointed journal",
        "entry 3: requested but missing or failed its checks",
    ]
    assert [e.seq for e in report.entries] == [0, 1, 5]


# -- exhibits of the forger's own making (tree and checkpoint built by hand) ----------------


def _resigned(signer: ed25519.Signer, line: bytes, **changes: Any) -> bytes:
    """`line` re-signed by `signer` with some fields changed (a valid signature)."""
    obj = json.loads(line)
    fields = {k: obj[k] for k in ("seq", "prev", "kind", "body", "recorded")} | changes
    return build_line(signer, **fields)


def _tree_exhibit(
    tree: list[bytes], include: list[int], signer: ed25519.Signer, origin: str
) -> dict[str, Any]:
    leaves = [merkle.leaf_hash(x) for x in tree]
    cp = signednote.Checkpoint(origin, len(tree), merkle.root(leaves))
    return {
        "type": "irkit-exhibit",
        "format": 1,
        "requested": [include[-1]],
        "checkpoint": signednote.sign_note(cp.body(), signer).decode(),
        "entries": [
            {
                "seq": s,
                "line": tree[s].decode(),
                "proof": [h.hex() for h in merkle.inclusion_proof(s, leaves)],
            }
            for s in include
        ],
    }


def _origin(case: Case) -> str:
    origin = origin_for(case.roster())
    assert origin is not None
    return origin


def test_entry_0_must_chain_from_genesis(noted: Case, alice: ed25519.Signer) -> None:
    real = lines(noted.root)
    bent = _resigned(alice, real[0], prev="sha256:" + "ab" * 32)
    doc = _tree_exhibit([bent, *real[1:]], [0, 1, 3], alice, _origin(noted))
    report = _verify(doc, alice)
    assert any(p.startswith("entry 0: prev hash") for p in report.problems), report.problems


def test_the_honest_tree_passes(noted: Case, alice: ed25519.Signer) -> None:
    """The control for the forgeries here: the same construction, nothing changed."""
    doc = _tree_exhibit(lines(noted.root), [0, 1, 3], alice, _origin(noted))
    report = _verify(doc, alice)
    assert report.ok, report.problems
    assert report.checkpoint_size == 8 and report.requested == [3]


def test_a_malformed_line_does_not_stop_the_check(noted: Case, alice: ed25519.Signer) -> None:
    real = lines(noted.root)
    tree = [*real[:2], b'{"not":"an entry"}', *real[3:]]
    report = _verify(_tree_exhibit(tree, [0, 1, 2, 5], alice, _origin(noted)), alice)
    assert any(p.startswith("entry 2: ") for p in report.problems), report.problems
    assert [e.seq for e in report.entries] == [0, 1, 5]


def test_an_exhibit_without_entry_0_says_so(noted: Case, alice: ed25519.Signer) -> None:
    doc = _doc(noted, alice, [2])
    doc["entries"] = [e for e in doc["entries"] if e["seq"] != 0]
    report = _verify(doc, alice)
    assert "entry 0: the exhibit does not include entry 0 (case.opened)" in report.problems


def test_a_checkpoint_of_another_origin_is_refused(noted: Case, alice: ed25519.Signer) -> None:
    doc = _tree_exhibit(lines(noted.root), [0, 1, 3], alice, "elsewhere/irkit/x")
    report = _verify(doc, alice)
    assert report.problems == ["checkpoint origin 'elsewhere/irkit/x' is not this case's"]


def test_a_requested_entry_left_out_is_named(noted: Case, alice: ed25519.Signer) -> None:
    doc = _doc(noted, alice, [3, 5])
    doc["entries"] = [e for e in doc["entries"] if e["seq"] != 5]
    report = _verify(doc, alice)
    assert report.problems == ["entry 5: requested but missing or failed its checks"]
    assert report.requested == [3, 5]


def test_checkpoint_signer_problems_are_named_exactly(
    noted: Case, alice: ed25519.Signer, bob: ed25519.Signer, mallory: ed25519.Signer
) -> None:
    real = lines(noted.root)
    by_mallory = _verify(_tree_exhibit(real, [0, 1, 3], mallory, _origin(noted)), alice)
    assert by_mallory.problems == [
        "the checkpoint carries no valid signature by a member it admits"
    ]
    by_bob = _verify(_tree_exhibit(real, [0, 1, 3], bob, _origin(noted)), alice)
    (problem,) = by_bob.problems
    why = noted.roster().may_sign_checkpoint(bob.fingerprint)
    assert problem == (
        f"the checkpoint is signed by no active lead (Bob ({bob.fingerprint}): {why}): only the "
        "opener or a lead can vouch for the journal an exhibit comes from"
    )


def test_an_entry_with_a_bad_signature_is_refused(noted: Case, alice: ed25519.Signer) -> None:
    """The exhibit's own signature check, on a plain note: the lead's checkpoint over a tree
    holding a line whose signature was altered vouches for the tree, not for the line."""
    real = lines(noted.root)
    cut = real[5].rindex(b'"sig":"') + 7
    flipped = b"B" if real[5][cut : cut + 1] == b"A" else b"A"
    bad = real[5][:cut] + flipped + real[5][cut + 1 :]
    tree = [*real[:5], bad, *real[6:]]
    report = _verify(_tree_exhibit(tree, [0, 1, 5], alice, _origin(noted)), alice)
    assert report.problems == [
        "entry 5: signature does not verify",
        "entry 5: requested but missing or failed its checks",
    ]
    assert [e.seq for e in report.entries] == [0, 1]
