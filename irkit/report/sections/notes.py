"""The notes table and the case record (every entry no other section lists row by row)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, TableStyle

from irkit.report.cells import (
    cell_texts,
    fit_lines,
    out_of_range,
    pcell,
    row_tables,
    two_lines,
)
from irkit.report.model import human_time
from irkit.report.pages import FONT, WIDTH

if TYPE_CHECKING:
    from irkit.report.render import Builder


def notes(doc: Builder) -> None:
    m = doc.m
    doc.h2(f"Notes ({len(m.notes)})")
    if not m.notes:
        doc.para("No notes recorded.")
        return
    corrected = {n.seq for n in m.notes if n.corrected_by}
    text_width = WIDTH - 78 * mm
    rows = []
    for n in m.notes:
        flags = []
        if n.starred:
            flags.append("starred for the summary")
        if n.confidential:
            flags.append("confidential")
        if n.tags:
            flags.append("tags: " + ", ".join(n.tags))
        if n.links:
            flags.append("evidence: " + ", ".join(n.links))
        if n.template:
            flags.append(f"template {n.template}")
        extra = [f"{label}: {value}" for label, value in n.fields]
        extra += [f"attachment: {a}" for a in n.attachments]
        extra += [f"witness statement by {w}" for w in n.statements]
        if n.witnesses and not n.statements:
            flags.append("witnessed by " + ", ".join(n.witnesses))
        cell: Any
        if n.seq in corrected or n.corrects is not None:  # strike-through, bold: markup
            pieces = [
                escape(t).replace("\n", "<br/>") for t in cell_texts(n.text, text_width) or [n.text]
            ]
            if n.seq in corrected:
                later = ", #".join(map(str, n.corrected_by))
                pieces = [f"<strike>{t}</strike>" for t in pieces]
                pieces[-1] += f" (corrected by #{later})"
            if n.corrects is not None:
                reason = f" — reason: {escape(n.reason)}" if n.reason else ""
                pieces[0] = f"<b>Correction of #{n.corrects}</b>{reason}<br/>{pieces[0]}"
            for line in extra:
                pieces[-1] += f"<br/><font size=6.5>{escape(line)}</font>"
            if flags:
                pieces[-1] += f"<br/><font size=6.5>[{escape('; '.join(flags))}]</font>"
            cell = [Paragraph(t, doc.st["cell"]) for t in pieces]
        else:  # most notes: plain text, wrapped here, laid out without Paragraph
            lines = [n.text, *extra] + ([f"[{'; '.join(flags)}]"] if flags else [])
            cell = fit_lines("\n".join(lines), text_width, 7.5)
        rows.append(
            [
                f"#{n.seq}",
                f"{fit_lines(two_lines(human_time(n.event_time, m.zone)), 45 * mm, 6.2)}"
                f"{out_of_range(n.event_time)}\n"
                f"{fit_lines('rec. ' + two_lines(human_time(n.recorded, m.zone)), 45 * mm, 6.2)}",
                fit_lines(n.author, 22 * mm),
                cell,
            ]
        )
    tables = row_tables(
        ["Entry", "Event / recorded", "Author", "Note"],
        rows,
        [11 * mm, 45 * mm, 22 * mm, text_width],
        doc.st,
    )
    for t in tables:  # plain-string cells: the table's font, no Paragraph layout
        t.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 1), (2, -1), FONT, 7, 8.6),
                    ("FONT", (1, 1), (1, -1), FONT, 6.2, 8),
                    ("FONT", (3, 1), (3, -1), FONT, 7.5, 9.2),
                ]
            )
        )
    doc.story += tables


def record(doc: Builder) -> None:
    m = doc.m
    doc.h2(f"Case record ({len(m.record)} entries)")
    doc.para(
        "Every signed entry that the sections above do not list row by row (notes, "
        "evidence and custody have their own): membership, lifecycle, backups, reports. "
        "Each shows every field it records.",
        "intro",
    )
    width = WIDTH - 108 * mm
    rows = [
        [
            f"#{seq}",
            fit_lines(two_lines(at), 36 * mm, 6.2),
            fit_lines(by, 24 * mm),
            fit_lines(kind, 30 * mm),
            pcell(detail, doc.st["cell"], width),
        ]
        for seq, at, by, kind, detail in m.record
    ]
    tables = row_tables(
        ["Entry", "Recorded", "By", "Kind", "Fields"],
        rows,
        [12 * mm, 36 * mm, 24 * mm, 30 * mm, width],
        doc.st,
    )
    for t in tables:
        t.setStyle(
            TableStyle(
                [("FONT", (0, 1), (3, -1), FONT, 7, 8.6), ("FONT", (1, 1), (1, -1), FONT, 6.2)]
            )
        )
    doc.story += tables
