"""Figures drawn with reportlab graphics: the incident timeline and custody-chain diagrams.

Vector drawings, not images, so they stay sharp and add only a few hundred bytes each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from irkit.formats.timefmt import zoned_instant
from irkit.report.model import CustodyForm, ReportModel

FONT = "DejaVuSans"


def _moment(text: str) -> datetime | None:
    return zoned_instant(text)  # None for what cannot be placed on the axis


def timeline(model: ReportModel, width: float) -> Drawing | None:
    """The report's picture: key events labelled on a time axis in the case's zone, notes
    (blue ticks above) and evidence (orange ticks below) distinguishable, pending periods
    shaded, SLA deadlines dashed."""
    from irkit.report.model import human_moment

    notes = [t for t in (_moment(n.event_time) for n in model.notes) if t is not None]
    events = sorted(model.key_events, key=lambda x: x[0])
    moments = notes + [e[0] for e in events] + model.collected_at
    if not moments:
        return None
    start, end = min(moments), max(moments)
    span = max((end - start).total_seconds(), 1.0)
    # deadlines inside twice the span stay on the axis; later ones are named at the edge
    deadlines = [(t, n) for t, n in model.deadlines if start <= t]
    end = max([end] + [t for t, _ in deadlines if (t - start).total_seconds() <= 2 * span])
    span = max((end - start).total_seconds(), 1.0)
    label_rows = 6
    height = 58.0 + 9.0 * label_rows
    left, right, axis = 12.0, width - 12.0, 40.0
    d = Drawing(width, height)

    def x(t: datetime) -> float:
        return left + (right - left) * min(max((t - start).total_seconds() / span, 0.0), 1.0)

    for p in model.phases:
        if p.state == "pending":
            x0, x1 = x(p.start), x(p.end or end)
            d.add(
                Rect(
                    x0,
                    axis - 16,
                    max(x1 - x0, 1.0),
                    32,
                    fillColor=colors.HexColor("#fbeec2"),
                    strokeColor=None,
                )
            )
            label = f"pending ({p.waiting_for or '?'})"
            d.add(
                String(
                    min(x0 + 1, right - stringWidth(label, FONT, 5.5)),
                    axis - 24,
                    label,
                    fontName=FONT,
                    fontSize=5.5,
                    fillColor=colors.HexColor("#8a6d00"),
                )
            )
    d.add(Line(left, axis, right, axis, strokeColor=colors.HexColor("#445566"), strokeWidth=0.8))
    for moments_, y0, y1, colour in (
        (notes, axis, axis + 10, "#2a6fb0"),
        (model.collected_at, axis - 10, axis, "#b0602a"),
    ):
        for at in sorted({round(x(t), 1) for t in moments_}):
            d.add(Line(at, y0, at, y1, strokeColor=colors.HexColor(colour), strokeWidth=0.6))
    last_label = -1e9
    for t, name in sorted(deadlines):
        if (t - start).total_seconds() > span:
            continue
        room = stringWidth(name, FONT, 5)
        if x(t) > last_label and x(t) + room < right:
            last_label = x(t) + room + 3
            d.add(
                String(
                    x(t) + 1,
                    axis - 15,
                    name,
                    fontName=FONT,
                    fontSize=5,
                    fillColor=colors.HexColor("#c0392b"),
                )
            )
        d.add(
            Line(
                x(t),
                axis - 16,
                x(t),
                axis + 16,
                strokeColor=colors.HexColor("#c0392b"),
                strokeWidth=0.6,
                strokeDashArray=[2, 1.5],
            )
        )
    shown = {
        "case": "#1f2d3a",
        "escalation": "#c0392b",
        "evidence": "#b0602a",
        "custody": "#6b4aa0",
    }
    # labels stacked in rows above the axis so neighbours never overprint
    ends = [-1e9] * label_rows
    labels: list[tuple[float, float, float, str, Any]] = []
    for t, label, kind in events:
        at = x(t)
        text = f"{label} {t.astimezone(_tz(model.zone)):%d %b %H:%M}"
        w = stringWidth(text, FONT, 5.8)
        anchor_x = min(at, right - w)
        row = next((r for r in range(label_rows) if ends[r] < anchor_x - 2), None)
        if row is None:
            continue
        ends[row] = anchor_x + w
        y = axis + 16 + 9.0 * row
        colour = colors.HexColor(shown.get(kind, "#1f2d3a"))
        d.add(Line(at, axis, at, y - 1, strokeColor=colour, strokeWidth=0.4))
        labels.append((anchor_x, y, w, text, colour))
    for anchor_x, y, w, text, colour in labels:  # on white, over the stems of earlier events
        d.add(Rect(anchor_x - 0.5, y - 1.8, w + 1, 7.2, fillColor=colors.white, strokeColor=None))
        d.add(String(anchor_x, y, text, fontName=FONT, fontSize=5.8, fillColor=colour))
    d.add(String(left, 6, human_moment(start, model.zone), fontName=FONT, fontSize=6))
    d.add(
        String(right, 6, human_moment(end, model.zone), fontName=FONT, fontSize=6, textAnchor="end")
    )
    d.add(
        String(
            left,
            height - 7,
            "blue ticks: notes · orange: evidence · shaded: pending · red dashes: SLA deadlines",
            fontName=FONT,
            fontSize=5.8,
        )
    )
    return d


def _tz(name: str) -> Any:
    from datetime import UTC
    from zoneinfo import ZoneInfo

    return UTC if name == "UTC" else ZoneInfo(name)


class _Chain(Flowable):  # type: ignore[misc]
    """The custody chain drawn straight on the canvas: one per item in a custody report, so
    it skips reportlab's shape tree (which cost as much as a table per form)."""

    def __init__(self, form: CustodyForm, width: float) -> None:
        super().__init__()
        self.form = form
        self.width = width
        self.height = 40.0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        form = self.form
        steps = form.events[:8]
        box_w = min(82.0, (self.width - 40) / max(len(steps), 1) - 10)
        c.saveState()
        c.setFont("DejaVuSans-Bold", 7)
        c.drawString(0, 30, form.item.id)
        c.setLineWidth(0.5)
        for i, step in enumerate(steps):
            x0 = 40 + i * (box_w + 10)
            c.setFillColor(colors.HexColor("#eef2f6"))
            c.setStrokeColor(colors.HexColor("#7a8896"))
            c.rect(x0, 1, box_w, 25, stroke=1, fill=1)
            c.setFillColor(colors.black)
            c.setFont("DejaVuSans-Bold", 6.5)
            c.drawString(x0 + 3, 18, step.step)
            c.setFont(FONT, 5.6)
            for n, line in enumerate(_box_lines(step.by, box_w - 5, 5.6)):
                c.drawString(x0 + 3, 9.5 - 6.2 * n, line)
            if i:
                c.setStrokeColor(colors.HexColor("#445566"))
                c.line(x0 - 10, 15, x0, 15)
        if len(form.events) > len(steps):
            c.setFont(FONT, 6.5)
            c.drawRightString(self.width, 30, f"+{len(form.events) - len(steps)} more steps")
        c.restoreState()


def custody_chain(form: CustodyForm, width: float) -> Flowable:
    """One box per custody step (what and by whom), left to right, joined by lines."""
    return _Chain(form, width)


def _box_lines(text: str, width: float, size: float) -> list[str]:
    """`text` in at most two lines of `width` (broken at spaces, "…" only when a name does not
    fit two lines), so a custody box never clips a handler's name mid-word unmarked."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < 2:
        line = words.pop(0)
        while words and stringWidth(f"{line} {words[0]}", FONT, size) <= width:
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words or any(stringWidth(x, FONT, size) > width for x in lines):
        last = lines[-1] if lines else ""
        while last and stringWidth(last + "…", FONT, size) > width:
            last = last[:-1]
        lines[-1:] = [last + "…"]
    return lines
