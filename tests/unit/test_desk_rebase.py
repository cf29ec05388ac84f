"""Incident actions judged on a folded view: only an incident change meanwhile refuses them."""

from __future__ import annotations

import pytest

from irkit import desk, notes
from irkit.case import Case
from irkit.errors import InputError
from irkit.keys import Signer
from irkit.lifecycle import Incident
from tests.helpers import lines, verify


def _interleave(monkeypatch: pytest.MonkeyPatch, meanwhile: object) -> None:
    """After the action has folded the incident, another writer appends (as a second process
    would between the fold and the journal lock)."""
    real = desk.current
    pending = [meanwhile]

    def current(case: Case) -> Incident:
        inc = real(case)
        if pending:
            pending.pop()(case)  # type: ignore[operator]
        return inc

    monkeypatch.setattr(desk, "current", current)


def test_a_note_added_meanwhile_does_not_refuse_a_state_change(
    case: Case, alice: Signer, bob: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interleave(monkeypatch, lambda c: notes.add_note(c, bob, "meanwhile"))
    entry = desk.change_state(case, alice, "assigned", reason="taken")
    assert entry.body["new"] == "assigned"
    assert verify(case.root).ok


def test_an_incident_change_meanwhile_refuses_and_writes_nothing(
    case: Case, alice: Signer, bob: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interleave(monkeypatch, lambda c: desk.set_field(c, bob, "impact", "2", reason="triage"))
    with pytest.raises(InputError, match="incident changed meanwhile"):
        desk.change_state(case, alice, "assigned", reason="taken")
    before = lines(case.root)
    assert [e for e in before if b'"incident.state"' in e] == []
    assert verify(case.root).ok
