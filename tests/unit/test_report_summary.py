"""The executive summary is a narrative made from the journal: who opened and reported what,
what was found (the starred notes, the root cause), what was done (escalations, evidence),
the outcome and the service levels, in a table. Expectations come from the entries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from irkit.formats.ed25519 import Signer
from irkit.record.case import Case
from irkit.report import export
from irkit.report.model import build, human_time
from tests.unit.test_report_everything import _text, build_everything


@pytest.fixture
def everything(case: Case, alice: Signer, bob: Signer, tmp_path: Path) -> Case:
    return build_everything(case, alice, bob, tmp_path)


def _summary(flat: str) -> str:
    """The executive summary's text: from its heading (the contents list names it first) to
    the Incident section's first row."""
    start = flat.rindex("Executivesummary", 0, flat.index("IncidentState"))
    return flat[start : flat.index("IncidentState")]


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_summary_tells_the_story_from_the_journal(everything: Case) -> None:
    entries = everything.read_entries().entries
    model = build(entries)
    summary = _summary(_text(export.render(entries, "incident", redact=False)))
    names = {s.fingerprint: s.name for s in model.signers}
    opened = entries[0]
    assert _clean(f"{names[opened.actor]} opened case {model.case_id}") in summary
    assert _clean(human_time(opened.recorded, model.zone)) in summary
    notes = [e for e in entries if e.kind == "note.added"]
    assert _clean(f"The first note is by {names[notes[0].actor]}") in summary
    assert _clean(notes[0].body["text"]) in summary
    starred = [e for e in notes if e.body.get("starred")]
    assert starred
    for e in starred:
        assert _clean(e.body["text"]) in summary and f"#{e.seq}" in summary
    corrected = {e.body["corrects"] for e in entries if e.kind == "note.corrected"}
    for e in entries:
        tagged = "root-cause" in e.body.get("tags", []) and e.kind.startswith("note.")
        if tagged and e.seq not in corrected:  # the root cause as last corrected
            assert _clean(e.body["text"]) in summary
        if e.kind == "incident.escalated":
            to = f"tier {e.body['tier']}" if e.body.get("tier") else e.body["team"]
            assert _clean(to) in summary and _clean(e.body["reason"]) in summary
        if e.kind == "incident.acknowledged":
            assert _clean(f"by {names[e.actor]} (#{e.seq})") in summary
        if e.kind == "incident.state" and e.body.get("resolution"):
            res = e.body["resolution"]
            assert _clean(f"{res['code']}: {res['solution']}") in summary
        if e.kind == "incident.state" and e.body.get("waiting_for"):
            assert _clean(f"waiting for {e.body['waiting_for']}") in summary
    items = sum(len(e.body["items"]) for e in entries if e.kind == "evidence.collected")
    assert f"{items}evidenceitemswerecollected" in summary
    # the SLA results as a table, one row per clock, with its result
    assert "ServicelevelTargetResult" in summary
    assert model.sla
    for clock, target, result in model.sla:
        assert _clean(f"{clock}{target}{result}") in summary


def test_incident_facts_put_impact_next_to_urgency(everything: Case) -> None:
    model = build(everything.read_entries().entries)
    labels = [k for k, _ in model.incident_facts]
    at = labels.index("Priority")
    assert labels[at : at + 3] == ["Priority", "Impact", "Urgency"]
    assert labels.index("Opened") > labels.index("Urgency")


def test_a_redacted_summary_withholds_what_the_notes_withhold(everything: Case) -> None:
    entries = everything.read_entries().entries
    summary = _summary(_text(export.render(entries, "incident", redact=True)))
    for e in entries:
        if e.body.get("confidential") and e.kind == "note.added":
            assert _clean(e.body["text"]) not in summary
