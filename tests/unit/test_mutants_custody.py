"""Custody rules, entry by entry, on the fold itself (mutation testing, bench/mutation.py):
each refusal with its exact reason, and a witness that must really have signed."""

from __future__ import annotations

import base64
from typing import Any

from irkit.evidence import custody
from irkit.record.case import member_info
from irkit.record.entry import Entry
from tests.conftest import seeded_signer

A = seeded_signer("alice", "lead")
B = seeded_signer("bob")
W = seeded_signer("walter")  # the witness
STRANGER = seeded_signer("stranger-never-in-a-case")


def _e(seq: int, kind: str, actor: str, body: dict[str, Any]) -> Entry:
    return Entry(
        seq=seq, recorded="2026-01-02T03:04:05.000000Z", kind=kind, actor=actor,
        prev="", body=body, sig="", line=b"",
    )  # fmt: skip


def _held(state: custody.Custody, *entries: Entry) -> list[str | None]:
    return [custody.apply(state, e, "C-1") for e in entries]


def _collected() -> custody.Custody:
    state = custody.Custody()
    assert (
        custody.apply(state, _e(2, "evidence.collected", A.fingerprint, {"items": [{"id": "E-1"}]}))
        is None
    )
    return state


RELEASE = {"items": ["E-1"], "to": B.fingerprint, "transfer": "T-1"}


def test_a_transfer_is_accepted_once() -> None:
    state = _collected()
    assert _held(
        state,
        _e(3, "custody.released", A.fingerprint, RELEASE),
        _e(4, "custody.accepted", B.fingerprint, {"transfer": "T-1"}),
        _e(5, "custody.accepted", B.fingerprint, {"transfer": "T-1"}),
        _e(6, "custody.accepted", B.fingerprint, {"transfer": "T-9"}),
    ) == [None, None, "transfer T-1 was already accepted", "no transfer T-9 was released"]
    assert state.items["E-1"].holder == B.fingerprint


def test_release_refusals() -> None:
    state = _collected()
    assert _held(
        state,
        _e(3, "custody.released", A.fingerprint, {**RELEASE, "to": A.fingerprint}),
        _e(4, "custody.released", A.fingerprint, RELEASE),
        _e(5, "custody.accepted", B.fingerprint, {"transfer": "T-1"}),
        _e(6, "custody.released", B.fingerprint, {**RELEASE, "to": A.fingerprint}),
    ) == [
        "a custodian cannot release to themselves",
        None,
        None,
        "transfer id T-1 is used twice",
    ]


def _statement(kind: str, signer: Any = W, case_id: str = "C-1") -> str:
    message = custody.witness_statement(case_id, kind, ["E-1"], "done")
    return base64.b64encode(signer.sign(message)).decode()


def _ending(kind: str, **body: Any) -> Entry:
    return _e(7, kind, A.fingerprint, {"items": ["E-1"], "reason": "done", **body})


def test_a_witness_must_have_signed() -> None:
    for kind in ("custody.returned", "custody.disposed"):
        stranger = _ending(
            kind, witness=STRANGER.fingerprint, witness_sig=_statement(kind, STRANGER)
        )
        assert _held(_collected(), stranger) == ["witness signature does not verify"]
        unsigned = _ending(kind, witness=W.fingerprint)
        assert _held(_collected(), unsigned) == ["witness named without a witness signature"]
        signed = _ending(kind, witness=W.fingerprint, witness_sig=_statement(kind))
        state = _collected()
        assert custody.apply(state, signed, None) == "witness named without a witness signature"
        assert state.items["E-1"].final is None


def _with_witness(kind: str, sig: str) -> list[Entry]:
    opened = {"case_id": "C-1", "opener": member_info(A.public, "Alice", "lead")}
    return [
        _e(0, "case.opened", A.fingerprint, opened),
        _e(
            1,
            "member.added",
            A.fingerprint,
            {"member": member_info(W.public, "Walter", "responder")},
        ),
        _e(2, "evidence.collected", A.fingerprint, {"items": [{"id": "E-1"}]}),
        _ending(kind, witness=W.fingerprint, witness_sig=sig),
    ]


def test_a_members_witness_signature_closes_the_chain() -> None:
    for kind, final in (("custody.returned", "returned"), ("custody.disposed", "disposed")):
        state = custody.fold(_with_witness(kind, _statement(kind)))
        assert state.items["E-1"].final == final
        # a signature over another statement (another kind, another case) does not count
        other = "custody.disposed" if kind == "custody.returned" else "custody.returned"
        for sig in (_statement(other), _statement(kind, case_id="C-2"), "not base64!"):
            assert custody.fold(_with_witness(kind, sig)).items["E-1"].final is None


def test_a_closed_chain_takes_no_more_steps() -> None:
    state = _collected()
    assert _held(
        state,
        _ending("custody.returned"),
        _e(8, "custody.released", A.fingerprint, {**RELEASE, "transfer": "T-2"}),
    ) == [None, "E-1 was returned; its chain is closed"]
