"""The timeline figure labels every key event it can without overprinting, counts and names
the rest ("+N more", by entry number), draws pending periods and SLA deadlines, and has a
time axis with round-time ticks."""

from __future__ import annotations

import io
import itertools
import re
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader
from reportlab.graphics.shapes import Drawing, String
from reportlab.pdfbase.pdfmetrics import stringWidth

from irkit.evidence.collect import collect
from irkit.formats.ed25519 import Signer
from irkit.incident import actions
from irkit.incident.settings import preset
from irkit.record.case import Case
from irkit.report import export
from irkit.report.figures import FONT, timeline
from irkit.report.model import build
from irkit.report.pages import WIDTH, register_fonts
from tests.conftest import FixedClock


def _busy(case: Case, alice: Signer, bob: Signer, tmp_path: Path, collections: int) -> Case:
    ck = FixedClock(datetime(2026, 5, 4, 7, 0, tzinfo=UTC), step=300)
    actions.configure(case, alice, preset("itil3", "Europe/Berlin"), reason="desk", clock=ck)
    actions.set_field(case, alice, "impact", "1", reason="all users", clock=ck)
    actions.set_field(case, alice, "urgency", "1", reason="now", clock=ck)
    actions.change_state(case, bob, "in_progress", reason="on it", clock=ck)
    for n in range(collections):  # evidence collected every five minutes: crowded labels
        f = tmp_path / f"log-{n}.txt"
        f.write_text(f"line {n}\n")
        collect(case, bob, [f], description=f"log {n}", clock=ck)
    actions.change_state(case, bob, "pending", reason="vendor", waiting_for="vendor", clock=ck)
    actions.change_state(case, bob, "in_progress", reason="patch in", clock=ck)
    return case


def _strings(d: Drawing) -> list[String]:
    return [s for s in d.contents if isinstance(s, String)]


def test_crowded_labels_are_counted_and_named_never_dropped(
    case: Case, alice: Signer, bob: Signer, tmp_path: Path
) -> None:
    register_fonts()
    busy = _busy(case, alice, bob, tmp_path, collections=40)
    model = build(busy.read_entries().entries)
    drawing = timeline(model, WIDTH)
    assert drawing is not None
    texts = [s.text for s in _strings(drawing)]
    labelled = {int(m.group(1)) for t in texts if (m := re.match(r"^#(\d+) ", t))}
    more = next(t for t in texts if t.startswith("+"))
    count = int(re.match(r"^\+(\d+) more key events", more).group(1))  # type: ignore[union-attr]
    events = {seq for *_, seq in model.key_events}
    assert len(events) > 20 and count > 0
    assert labelled <= events
    assert len(labelled) + count == len(events)  # every key event: labelled or counted
    assert "#" in more and any("Case record" in t for t in texts)
    # labels in one row never overprint each other
    rows: dict[float, list[tuple[float, float]]] = {}
    for s in _strings(drawing):
        if re.match(r"^#\d+ ", s.text):
            w = stringWidth(s.text, FONT, s.fontSize)
            rows.setdefault(s.y, []).append((s.x, s.x + w))
    assert len(rows) > 6  # beyond the six rows the figure used to stop at
    for spans in rows.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert "pending (vendor)" in texts
    assert any(t.startswith(("respond due", "resolve due")) for t in texts) or any(
        "Later SLA deadlines" in t or "not named" in t for t in texts
    )
    ticks = [t for t in texts if re.fullmatch(r"\d\d:\d\d|\d\d \w{3}( \d\d:\d\d)?", t)]
    assert len(ticks) >= 3, texts
    # and in the PDF
    pdf = export.render(busy.read_entries().entries, "incident", redact=False)
    flat = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"+{count} more key events" in flat


def test_a_quiet_case_labels_every_key_event(
    case: Case, alice: Signer, bob: Signer, tmp_path: Path
) -> None:
    register_fonts()
    quiet = _busy(case, alice, bob, tmp_path, collections=2)
    model = build(quiet.read_entries().entries)
    drawing = timeline(model, WIDTH)
    assert drawing is not None
    texts = [s.text for s in _strings(drawing)]
    labelled = {int(m.group(1)) for t in texts if (m := re.match(r"^#(\d+) ", t))}
    assert labelled == {seq for *_, seq in model.key_events}
    assert not any(t.startswith("+") for t in texts)
