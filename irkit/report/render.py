"""Render a ReportModel to PDF bytes with reportlab (imported only in irkit/report/).

Reproducible byte for byte: reportlab's invariant mode fixes the document id and dates, and
every value printed comes from the journal, never from the clock. The sections themselves
live in irkit/report/sections/, one module per part of the report; this module holds what
they share (headings, paragraphs, key-value tables) and puts the document together.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, SimpleDocTemplate, Table, TableStyle

from irkit.report.cells import (
    KV_KEY,
    KV_PAD,
    KV_VALUE,
    fit_lines,
    grid,
    paragraph,
    pcell,
    split_tall,
)
from irkit.report.model import ReportModel
from irkit.report.pages import (
    FONT,
    FONT_BOLD,
    MARGIN,
    WIDTH,
    Heading,
    KeepHeading,
    Marks,
    numbered_canvas,
    register_fonts,
    styles,
)
from irkit.report.templates import Template


@functools.cache
def _sections() -> dict[str, Callable[[Builder], None]]:
    """Template section name -> the function that adds it to the document."""
    from irkit.report.sections import closing, evidence, front, incident, notes

    return {
        "summary": front.summary,
        "contents": front.contents,
        "document_control": front.document_control,
        "checkpoint": front.checkpoint,
        "executive_summary": incident.executive_summary,
        "incident": incident.incident,
        "timeline_figure": incident.timeline_figure,
        "root_cause": incident.root_cause,
        "workaround": incident.workaround,
        "resolution": incident.resolution,
        "confirmation": incident.confirmation,
        "lessons_learned": incident.lessons_learned,
        "kpis": incident.kpis,
        "notes": notes.notes,
        "record": notes.record,
        "evidence": evidence.evidence,
        "custody": evidence.custody,
        "custody_forms": evidence.custody_forms,
        "backups": closing.backups,
        "backup_pages": closing.backup_pages,
        "signers": closing.signers,
        "signature_lines": closing.signature_lines,
        "sign_off": closing.sign_off,
        "verification": closing.verification,
    }


class Builder:
    def __init__(self, model: ReportModel, template: Template) -> None:
        self.m = model
        self.t = template
        self.st = styles()
        self.story: list[Flowable] = []
        self.marks = Marks()
        self.toc: list[tuple[str, str, int]] = []  # (key, title, level) for the contents
        self.headings = 0

    def _key(self) -> str:
        self.headings += 1
        return f"h{self.headings}"

    def h2(self, text: str, *, listed: bool = True) -> None:
        key = self._key()
        self.story.append(Heading(text, self.st["h2"], key, self.marks))
        if listed:
            self.toc.append((key, text, 0))

    def h3(self, text: str, *, listed: bool) -> None:
        key = self._key()
        self.story.append(Heading(text, self.st["h3"], key, self.marks, level=1))
        if listed:
            self.toc.append((key, text, 1))

    def para(self, text: str, style: str = "body") -> None:
        self.story.append(paragraph(text, self.st[style]))

    def kv(
        self,
        pairs: list[tuple[str, str]],
        digest: frozenset[str] = frozenset(),
        width: float = WIDTH,
        *,
        add: bool = True,
    ) -> Table:
        widths = [38 * mm, width - 38 * mm]
        rows = [
            [
                paragraph(k, self.st["head"]),
                pcell(v, self.st["digest" if k in digest else "cell"], widths[1] - 6.5),
            ]
            for k, v in pairs
        ]
        table = Table(split_tall(rows, widths, KV_PAD), colWidths=widths)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ced6")),
                ]
            )
        )
        if add:
            self.story.append(table)
        return table

    def kv_grid(self, pairs: list[tuple[str, str]]) -> None:
        """`kv` as a `Grid` of plain strings: for the forms repeated thousands of times."""
        value_width = WIDTH - 38 * mm
        rows = [[fit_lines(k, 38 * mm, 7.5), fit_lines(v, value_width, 7.5)] for k, v in pairs]
        self.story.append(grid(None, rows, [38 * mm, value_width], [KV_KEY, KV_VALUE], kv=True))

    def listing(self, items: list[str], empty: str) -> None:
        if not items:
            self.para(empty)
        for item in items:
            self.para(f"• {item}")

    def build(self) -> list[Flowable]:
        for section in self.t.sections:
            _sections()[section](self)
        return self.story


def _template_label(name: str) -> str:
    """The template as the PDF names it for `irkit report --check`: a NAME, or `file:STEM`
    for a template file (its path on the exporter's machine is theirs, not the reader's)."""
    from pathlib import PurePath

    from irkit.report.templates import is_path

    return f"file:{PurePath(name).stem}" if is_path(name) else name


def render_pdf(model: ReportModel, template: Template) -> bytes:
    """The PDF bytes for this model; the same model and template always give the same bytes."""
    register_fonts()
    classification = template.marking(model.redacted)
    builder = Builder(model, template)
    story = builder.build()

    def header(canv: Canvas, number: int, total: int) -> None:
        width, height = A4
        canv.saveState()
        canv.setFont(FONT_BOLD, 8)
        canv.drawString(MARGIN, height - 11 * mm, f"{model.case_id} — {template.title}")
        canv.drawRightString(width - MARGIN, height - 11 * mm, classification)
        canv.setStrokeColor(colors.HexColor("#9aa5b1"))
        canv.line(MARGIN, height - 12.5 * mm, width - MARGIN, height - 12.5 * mm)
        canv.line(MARGIN, 12.5 * mm, width - MARGIN, 12.5 * mm)
        canv.setFont(FONT, 7.5)
        canv.drawString(
            MARGIN,
            9 * mm,
            f"{classification} · journal #0–#{model.size - 1} · root {model.root_b64}",
        )
        canv.drawRightString(width - MARGIN, 9 * mm, f"Page {number} of {total}")
        builder.marks.draw(canv, number)
        canv.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{model.case_id}: {template.title}",
        author=model.opener,
        subject=model.title,
        creator="irkit",
        producer="irkit (reportlab)",
        keywords=[
            model.case_id,
            f"tree-size={model.size}",
            f"root={model.root_hex}",
            f"template={_template_label(template.name)}",
            f"redacted={'yes' if model.redacted else 'no'}",
            f"recorded={'yes' if model.recorded else 'no'}",
        ],
        invariant=1,
        pageCompression=1,
    )
    doc.keepTogetherClass = KeepHeading
    doc.build(story, canvasmaker=numbered_canvas(header, model.as_of))
    return buf.getvalue()
