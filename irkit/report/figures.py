"""Figures drawn with reportlab graphics: the incident timeline and custody-chain diagrams.

Vector drawings, not images, so they stay sharp and add only a few hundred bytes each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
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


MAX_LABEL_ROWS = 10  # rows of key-event labels above the axis; the rest are counted
_STEPS = [
    timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
] + [timedelta(days=d) for d in (14, 30, 91, 365)]


def _ticks(start: datetime, end: datetime, zone: Any) -> tuple[list[datetime], str]:
    """Axis ticks at round local times (on the hour, at midnight...), at most about eight,
    and the strftime format their labels use."""
    span = end - start
    step = next((s for s in _STEPS if span / s <= 8), _STEPS[-1])
    local = start.astimezone(zone)
    if step >= timedelta(days=1):
        first = local.replace(hour=0, minute=0, second=0, microsecond=0)
        fmt = "%d %b" if span < timedelta(days=300) else "%b %Y"
    else:
        minutes = int(step.total_seconds() // 60)
        of_day = (local.hour * 60 + local.minute) // minutes * minutes
        first = local.replace(hour=of_day // 60, minute=of_day % 60, second=0, microsecond=0)
        fmt = "%H:%M" if span < timedelta(hours=20) else "%d %b %H:%M"
    ticks = []
    t = first
    while t <= end:
        if t >= start:
            ticks.append(t)
        if step >= timedelta(days=30):  # whole months: the 1st of each (or each quarter...)
            months = t.month - 1 + max(1, round(step / timedelta(days=30.4)))
            t = t.replace(year=t.year + months // 12, month=months % 12 + 1, day=1)
        else:
            t = (t.replace(tzinfo=None) + step).replace(tzinfo=zone)  # local clock steps
    return ticks, fmt


def _entries_named(seqs: list[int], limit: int = 12) -> str:
    shown = ", ".join(f"#{s}" for s in seqs[:limit])
    return shown + (f" and {len(seqs) - limit} more" if len(seqs) > limit else "")


def timeline(model: ReportModel, width: float) -> Drawing | None:
    """The report's picture: key events labelled on a time axis in the case's zone, notes
    (blue ticks above) and evidence (orange ticks below) distinguishable, pending periods
    shaded, SLA deadlines dashed. Labels never overprint: each takes the lowest free row,
    and what finds none is counted in a line that names its entries, never dropped."""
    from irkit.report.model import human_moment

    zone = _tz(model.zone)
    notes = [t for t in (_moment(n.event_time) for n in model.notes) if t is not None]
    events = sorted(model.key_events, key=lambda x: (x[0], x[3]))
    moments = notes + [e[0] for e in events] + model.collected_at
    if not moments:
        return None
    start, end = min(moments), max(moments)
    span = max((end - start).total_seconds(), 1.0)
    # deadlines inside twice the span stay on the axis; later ones are named above it
    deadlines = sorted((t, n) for t, n in model.deadlines if start <= t)
    end = max([end] + [t for t, _ in deadlines if (t - start).total_seconds() <= 2 * span])
    span = max((end - start).total_seconds(), 1.0)
    left, right = 12.0, width - 12.0

    def x(t: datetime) -> float:
        return left + (right - left) * min(max((t - start).total_seconds() / span, 0.0), 1.0)

    # key-event labels: placed first, so the figure is as tall as the rows it uses
    ends = [-1e9] * MAX_LABEL_ROWS
    placed: list[tuple[float, float, int, str, str]] = []  # stem x, label x, row, text, kind
    unlabelled: list[int] = []
    for t, label, kind, seq in events:
        at = x(t)
        text = f"#{seq} {label} {t.astimezone(zone):%d %b %H:%M}"
        w = stringWidth(text, FONT, 5.8)
        anchor_x = max(left, min(at, right - w))
        row = next((r for r in range(MAX_LABEL_ROWS) if ends[r] < anchor_x - 2), None)
        if row is None:
            unlabelled.append(seq)
            continue
        ends[row] = anchor_x + w
        placed.append((at, anchor_x, row, text, kind))
    rows = 1 + max((row for _, _, row, _, _ in placed), default=-1)
    later = [(t, n) for t, n in deadlines if (t - start).total_seconds() > span]
    notes_lines: list[str] = []
    if unlabelled:
        notes_lines.append(
            f"+{len(unlabelled)} more key events not labelled here ({_entries_named(unlabelled)}):"
            " each is in the tables by its entry number (Incident, Chain of custody, Case record)"
        )
    if later:
        notes_lines.append(
            "Later SLA deadlines, off the axis: "
            + "; ".join(f"{n} {human_moment(t, model.zone)}" for t, n in later[:6])
            + (f" and {len(later) - 6} more" if len(later) > 6 else "")
        )
    notes_lines = [part for line in notes_lines for part in _wrap(line, right - left, 5.8)]
    axis = 52.0
    top = axis + 18 + 9.0 * rows
    height = top + 8.0 + 8.0 * len(notes_lines)
    d = Drawing(width, height)
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
                    axis - 31,
                    label,
                    fontName=FONT,
                    fontSize=5.5,
                    fillColor=colors.HexColor("#8a6d00"),
                )
            )
    d.add(Line(left, axis, right, axis, strokeColor=colors.HexColor("#445566"), strokeWidth=0.8))
    ticks, fmt = _ticks(start, end, zone)
    last_tick = -1e9
    for t in ticks:
        at = x(t)
        d.add(
            Line(
                at, axis - 3, at, axis + 3, strokeColor=colors.HexColor("#445566"), strokeWidth=0.6
            )
        )
        text = f"{t:{fmt}}"
        w = stringWidth(text, FONT, 5.5)
        if at - w / 2 > last_tick + 4 and left + w / 2 <= at <= right - w / 2:
            d.add(String(at, axis - 40, text, fontName=FONT, fontSize=5.5, textAnchor="middle"))
            last_tick = at + w / 2
    for moments_, y0, y1, colour in (
        (notes, axis, axis + 10, "#2a6fb0"),
        (model.collected_at, axis - 10, axis, "#b0602a"),
    ):
        for at in sorted({round(x(t), 1) for t in moments_}):
            d.add(Line(at, y0, at, y1, strokeColor=colors.HexColor(colour), strokeWidth=0.6))
    label_ends = [-1e9, -1e9]  # two rows of deadline labels under the axis
    unnamed = 0
    for t, name in deadlines:
        if (t - start).total_seconds() > span:
            continue
        text = f"{name} {t.astimezone(zone):%d %b %H:%M}"
        room = stringWidth(text, FONT, 5)
        row = next((r for r in (0, 1) if x(t) > label_ends[r] and x(t) + room < right), None)
        if row is None:
            unnamed += 1
        else:
            label_ends[row] = x(t) + room + 3
            d.add(
                String(
                    x(t) + 2,
                    axis - 15 - 7 * row,
                    text,
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
    for at, _anchor_x, row, _text, kind in placed:
        y = axis + 18 + 9.0 * row
        colour = colors.HexColor(shown.get(kind, "#1f2d3a"))
        d.add(Line(at, axis, at, y - 1, strokeColor=colour, strokeWidth=0.4))
    for _at, anchor_x, row, text, kind in placed:  # on white, over the stems of earlier events
        y = axis + 18 + 9.0 * row
        w = stringWidth(text, FONT, 5.8)
        colour = colors.HexColor(shown.get(kind, "#1f2d3a"))
        d.add(Rect(anchor_x - 0.5, y - 1.8, w + 1, 7.2, fillColor=colors.white, strokeColor=None))
        d.add(String(anchor_x, y, text, fontName=FONT, fontSize=5.8, fillColor=colour))
    d.add(String(left, 4, human_moment(start, model.zone), fontName=FONT, fontSize=6))
    d.add(
        String(right, 4, human_moment(end, model.zone), fontName=FONT, fontSize=6, textAnchor="end")
    )
    legend = (
        "blue ticks: notes · orange: evidence · shaded: pending · red dashes: SLA deadlines"
        + (f" ({unnamed} not named: see the SLA table)" if unnamed else "")
        + f" · times in {model.zone}"
    )
    d.add(String(left, height - 7, legend, fontName=FONT, fontSize=5.8))
    for n, line in enumerate(notes_lines):
        d.add(
            String(
                left,
                height - 15 - 8 * n,
                line,
                fontName=FONT,
                fontSize=5.8,
                fillColor=colors.HexColor("#8a2b1f"),
            )
        )
    return d


def _wrap(text: str, width: float, size: float) -> list[str]:
    """`text` broken at spaces into lines that fit `width`."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        trial = f"{line} {word}" if line else word
        if line and stringWidth(trial, FONT, size) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line]


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
