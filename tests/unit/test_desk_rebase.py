"""Incident actions judged on a folded view: only an incident change meanwhile refuses them."""

from __future__ import annotations

import pytest

from irkit.errors import InputError
from irkit.formats.ed25519 import Signer
from irkit.incident import actions
from irkit.incident.lifecycle import Incident
from irkit.notes import notes
from irkit.record.case import Case
from tests.helpers import lines, verify


def _interleave(monkeypatch: pytest.MonkeyPatch, meanwhile: object) -> None:
    """After the action has folded the incident, another writer appends (as a second process
    would between the fold and the journal lock)."""
    real = actions.current
    pending = [meanwhile]

    def current(case: Case) -> Incident:
        inc = real(case)
        if pending:
            pending.pop()(case)  # type: ignore[operator]
        return inc

    monkeypatch.setattr(actions, "current", current)


def test_a_note_added_meanwhile_does_not_refuse_a_state_change(
    case: Case, alice: Signer, bob: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interleave(monkeypatch, lambda c: notes.add_note(c, bob, "meanwhile"))
    entry = actions.change_state(case, alice, "assigned", reason="taken")
    assert entry.body["new"] == "assigned"
    assert verify(case.root).ok


def test_an_incident_change_meanwhile_refuses_and_writes_nothing(
    case: Case, alice: Signer, bob: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interleave(monkeypatch, lambda c: actions.set_field(c, bob, "impact", "2", reason="triage"))
    with pytest.raises(InputError, match="incident changed meanwhile"):
        actions.change_state(case, alice, "assigned", reason="taken")
    before = lines(case.root)
    assert [e for e in before if b'"incident.state"' in e] == []
    assert verify(case.root).ok
