"""Figures drawn with reportlab graphics: the incident timeline and custody-chain diagrams.

Vector drawings, not images, so they stay sharp and add only a few hundred bytes each.
"""

from __future__ import annotations

from datetime import datetime

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors

from irkit.report.model import CustodyForm, ReportModel
from irkit.timefmt import zoned_instant

FONT = "DejaVuSans"


def _moment(text: str) -> datetime | None:
    return zoned_instant(text)  # None for what cannot be placed on the axis


def timeline(model: ReportModel, width: float) -> Drawing | None:
    """Notes (above the axis) and evidence collection (below) on one UTC time axis."""
    notes = [t for t in (_moment(n.event_time) for n in model.notes) if t is not None]
    items = [t for t in (_moment(e.collected) for e in model.evidence) if t is not None]
    moments = notes + items
    if not moments:
        return None
    start, end = min(moments), max(moments)
    span = max((end - start).total_seconds(), 1.0)
    height = 70.0
    left, right, axis = 10.0, width - 10.0, 32.0
    d = Drawing(width, height)
    d.add(Line(left, axis, right, axis, strokeColor=colors.HexColor("#445566"), strokeWidth=0.8))

    def x(t: datetime) -> float:
        return left + (right - left) * (t - start).total_seconds() / span

    # at most one tick per horizontal point: 20,000 notes still draw a few hundred marks
    for moments_, y0, y1, colour in (
        (notes, axis, axis + 14, "#2a6fb0"),
        (items, axis - 14, axis, "#b0602a"),
    ):
        for at in sorted({round(x(t), 1) for t in moments_}):
            d.add(Line(at, y0, at, y1, strokeColor=colors.HexColor(colour), strokeWidth=0.6))
    d.add(String(left, 4, start.isoformat(), fontName=FONT, fontSize=6.5))
    d.add(String(right, 4, end.isoformat(), fontName=FONT, fontSize=6.5, textAnchor="end"))
    d.add(
        String(
            left,
            height - 10,
            "notes (blue, above) · evidence collected (orange, below)",
            fontName=FONT,
            fontSize=6.5,
        )
    )
    return d


def custody_chain(form: CustodyForm, width: float) -> Drawing:
    """One box per custody step (what and by whom), left to right, joined by arrows."""
    steps = form.events[:8]
    box_w = min(82.0, (width - 40) / max(len(steps), 1) - 10)
    d = Drawing(width, 40)
    d.add(String(0, 30, form.item.id, fontName="DejaVuSans-Bold", fontSize=7))
    for i, step in enumerate(steps):
        x0 = 40 + i * (box_w + 10)
        d.add(
            Rect(
                x0,
                4,
                box_w,
                22,
                fillColor=colors.HexColor("#eef2f6"),
                strokeColor=colors.HexColor("#7a8896"),
                strokeWidth=0.5,
            )
        )
        d.add(String(x0 + 3, 16, step.step, fontName="DejaVuSans-Bold", fontSize=6.5))
        d.add(String(x0 + 3, 8, step.by[:18], fontName=FONT, fontSize=6.5))
        if i:
            d.add(
                Line(x0 - 10, 15, x0, 15, strokeColor=colors.HexColor("#445566"), strokeWidth=0.6)
            )
    if len(form.events) > len(steps):
        d.add(
            String(
                width,
                30,
                f"+{len(form.events) - len(steps)} more steps",
                fontName=FONT,
                fontSize=6.5,
                textAnchor="end",
            )
        )
    return d
