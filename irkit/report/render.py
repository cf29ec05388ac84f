"""Render a ReportModel to PDF bytes with reportlab (imported only here).

Reproducible byte for byte: reportlab's invariant mode fixes the document id and dates, and
every value printed comes from the journal, never from the clock. Long tables are split into
page-sized tables because reportlab's table layout cost grows faster than linearly with rows.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from irkit.report.model import ReportModel
from irkit.report.templates import Template

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
ROWS_PER_TABLE = 40  # about a page: keeps table layout cost linear in the number of rows
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = resources.files("irkit.report").joinpath("fonts")
    for name in (FONT, FONT_BOLD):
        with resources.as_file(folder.joinpath(f"{name}.ttf")) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=11.5, alignment=TA_LEFT)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.2),
        # exact journal times (with microseconds) fit one line each in the time column
        "small_cell": ParagraphStyle("small_cell", parent=base, fontSize=6.2, leading=8),
        # digests: one unbroken run of text so copy/paste gives the digest intact; CJK word
        # wrap only breaks it if a column is ever too narrow (no characters are inserted)
        "digest": ParagraphStyle("digest", parent=base, fontSize=6.2, leading=8, wordWrap="CJK"),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=7.5, leading=9),
        "h1": ParagraphStyle("h1", parent=base, fontName=FONT_BOLD, fontSize=17, leading=21),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=12,
            leading=15,
            spaceBefore=9,
            spaceAfter=4,
        ),
        "mono": ParagraphStyle("mono", parent=base, fontSize=8, leading=10),
    }


class _Heading(Paragraph):  # type: ignore[misc]
    """A section heading that also becomes a PDF outline entry (bookmark)."""

    def __init__(self, text: str, style: ParagraphStyle, key: str) -> None:
        super().__init__(escape(text), style)
        self._key = key
        self._title = text

    def draw(self) -> None:
        super().draw()
        canv = self.canv
        canv.bookmarkPage(self._key)
        canv.addOutlineEntry(self._title, self._key, level=0)


def _journal_stamp(as_of: str) -> Any:
    """reportlab's document timestamp, fixed to the last shown entry's recorded time (UTC).

    Invariant mode alone would date every report 2000-01-01; the journal's own time is both
    reproducible and true.
    """
    import time as _time
    from datetime import datetime

    from reportlab.lib.utils import TimeStamp

    stamp = TimeStamp(1)
    if as_of:
        epoch = int(datetime.fromisoformat(as_of.replace("Z", "+00:00")).timestamp())
        stamp.t = epoch
        stamp.lt = _time.gmtime(epoch)
        stamp.YMDhms = tuple(stamp.lt)[:6]
    return stamp


def _numbered_canvas(header: Callable[[Canvas, int, int], None], as_of: str = "") -> type[Canvas]:
    """A canvas that holds pages back until the end, so each can say "Page X of Y"."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._doc._timeStamp = _journal_stamp(as_of)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                header(self, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def _table(
    head: list[str], rows: list[list[Any]], widths: list[float], st: dict[str, ParagraphStyle]
) -> list[Flowable]:
    """Rows as page-sized tables, each starting with the header row (repeated on splits too)."""
    style = TableStyle(
        [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde3ea")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
    )
    header = [Paragraph(escape(h), st["head"]) for h in head]
    out: list[Flowable] = []
    for start in range(0, len(rows), ROWS_PER_TABLE):
        chunk = rows[start : start + ROWS_PER_TABLE]
        out.append(Table([header, *chunk], colWidths=widths, repeatRows=1, style=style))
    return out


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


class _Builder:
    def __init__(self, model: ReportModel, template: Template) -> None:
        self.m = model
        self.t = template
        self.st = _styles()
        self.story: list[Flowable] = []

    def h2(self, text: str) -> None:
        self.story.append(_Heading(text, self.st["h2"], f"s{len(self.story)}"))

    def para(self, text: str, style: str = "body") -> None:
        self.story.append(_p(text, self.st[style]))

    def kv(self, pairs: list[tuple[str, str]]) -> None:
        rows = [[_p(k, self.st["head"]), _p(v, self.st["cell"])] for k, v in pairs]
        table = Table(rows, colWidths=[38 * mm, WIDTH - 38 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ced6")),
                ]
            )
        )
        self.story.append(table)

    # -- sections -------------------------------------------------------------------------

    def summary(self) -> None:
        m = self.m
        self.story.append(_p(self.t.title, self.st["h1"]))
        self.story.append(Spacer(0, 3 * mm))
        self.kv(
            [
                ("Case", m.case_id),
                ("Title", m.title),
                ("Journal shown", f"entries 1–{m.size}, last recorded {m.as_of}"),
                ("Incident state", m.state),
                (
                    "Redacted",
                    "yes: confidential notes replaced by their SHA-256"
                    if m.redacted
                    else "no: contains confidential material",
                ),
            ]
        )

    def checkpoint(self) -> None:
        m = self.m
        self.h2("Checkpoint this report shows")
        self.para(
            "The report shows exactly the journal prefix below. Compare it with a signed "
            "checkpoint (irkit checkpoint) or scan the QR code, which holds the same text."
        )
        qr = QrCodeWidget(m.checkpoint_text, barLevel="M")
        x0, y0, x1, y1 = qr.getBounds()
        side = 34 * mm
        drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
        drawing.add(qr)
        text = Table(
            [
                [_p("Origin", self.st["head"]), _p(m.origin, self.st["mono"])],
                [_p("Tree size", self.st["head"]), _p(str(m.size), self.st["mono"])],
                [_p("Root (hex)", self.st["head"]), _p(m.root_hex, self.st["digest"])],
            ],
            colWidths=[22 * mm, WIDTH - side - 30 * mm],
        )
        outer = Table([[drawing, text]], colWidths=[side + 6 * mm, WIDTH - side - 6 * mm])
        outer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        self.story.append(outer)

    def incident(self) -> None:
        m = self.m
        self.h2("Incident")
        if not m.incident_facts:
            self.para("No incident lifecycle recorded (state: new).")
            return
        self.kv(m.incident_facts)
        if m.phases:
            self.story.append(Spacer(0, 2 * mm))
            rows = [
                [
                    _p(p.state, self.st["cell"]),
                    _p(p.start.isoformat(), self.st["cell"]),
                    _p(p.end.isoformat() if p.end else "(current)", self.st["cell"]),
                ]
                for p in m.phases
            ]
            self.story += _table(
                ["State", "From", "Until"], rows, [40 * mm, 60 * mm, 60 * mm], self.st
            )
        for label, items in (("Escalations", m.escalations), ("Consent", m.consents)):
            self.para(f"{label}: " + ("; ".join(items) if items else "none recorded"), "small")
        if m.sla:
            self.para("SLA clocks: " + "; ".join(f"{n} {v}" for n, _, v in m.sla), "small")

    def timeline_figure(self) -> None:
        from irkit.report.figures import timeline

        self.h2("Timeline")
        drawing = timeline(self.m, WIDTH)
        if drawing is None:
            self.para("No dated notes or evidence recorded.")
        else:
            self.story.append(drawing)

    def notes(self) -> None:
        m = self.m
        self.h2(f"Notes ({len(m.notes)})")
        if not m.notes:
            self.para("No notes recorded.")
            return
        corrected = {n.seq for n in m.notes if n.corrected_by}
        rows = []
        for n in m.notes:
            text = escape(n.text).replace("\n", "<br/>")
            if n.seq in corrected:
                later = ", #".join(map(str, n.corrected_by))
                text = f"<strike>{text}</strike> (corrected by #{later})"
            if n.corrects is not None:
                reason = f" — reason: {escape(n.reason)}" if n.reason else ""
                text = f"<b>Correction of #{n.corrects}</b>{reason}<br/>{text}"
            flags = []
            if n.confidential:
                flags.append("confidential")
            if n.witnesses:
                flags.append("witnessed by " + ", ".join(n.witnesses))
            if flags:
                text += f"<br/><font size=6.5>[{escape('; '.join(flags))}]</font>"
            rows.append(
                [
                    _p(f"#{n.seq}", self.st["cell"]),
                    _p(f"{n.event_time}\nrec. {n.recorded}", self.st["small_cell"]),
                    _p(n.author, self.st["cell"]),
                    Paragraph(text, self.st["cell"]),
                ]
            )
        self.story += _table(
            ["#", "Event / recorded", "Author", "Note"],
            rows,
            [11 * mm, 45 * mm, 22 * mm, WIDTH - 78 * mm],
            self.st,
        )

    def evidence(self) -> None:
        m = self.m
        self.h2(f"Evidence ({len(m.evidence)})")
        if not m.evidence:
            self.para("No evidence recorded.")
            return
        rows = [
            [
                _p(e.id, self.st["cell"]),
                _p(f"{e.path}\n{e.size} bytes, {e.collected} by {e.by}", self.st["cell"]),
                _p(e.sha256, self.st["digest"]),
            ]
            for e in m.evidence
        ]
        self.story += _table(
            ["Item", "Path / size / collected", "SHA-256"],
            rows,
            [16 * mm, WIDTH - 16 * mm - 74 * mm, 74 * mm],
            self.st,
        )

    def custody(self) -> None:
        from irkit.report.figures import custody_chain

        m = self.m
        self.h2("Chain of custody")
        if not m.custody:
            self.para("No custody recorded.")
            return
        rows = []
        for chain in m.custody:
            for i, s in enumerate(chain.steps):
                rows.append(
                    [
                        _p(chain.item if i == 0 else "", self.st["cell"]),
                        _p(s.at, self.st["cell"]),
                        _p(s.kind, self.st["cell"]),
                        _p(s.who, self.st["cell"]),
                        _p(s.detail, self.st["cell"]),
                    ]
                )
        self.story += _table(
            ["Item", "Recorded", "Step", "By", "Detail"],
            rows,
            [16 * mm, 38 * mm, 20 * mm, 26 * mm, WIDTH - 100 * mm],
            self.st,
        )
        # diagrams only for chains with hand-overs, and a bounded number of them
        drawn = [c for c in m.custody if len(c.steps) > 1][:60]
        for chain in drawn:
            self.story.append(KeepTogether([Spacer(0, 2 * mm), custody_chain(chain, WIDTH)]))

    def backups(self) -> None:
        m = self.m
        self.h2("Backup verification")
        if not m.backups:
            self.para("No backup verification recorded.")
            return
        rows = [[_p(c, self.st["cell"]) for c in row] for row in m.backups]
        self.story += _table(
            ["Recorded", "Kind", "By", "Result"],
            rows,
            [38 * mm, 30 * mm, 26 * mm, WIDTH - 94 * mm],
            self.st,
        )

    def signers(self) -> None:
        self.h2("Members and keys")
        rows = [
            [
                _p(s.name, self.st["cell"]),
                _p(s.role, self.st["cell"]),
                _p("active" if s.active else "removed", self.st["cell"]),
                _p(s.fingerprint, self.st["digest"]),
            ]
            for s in self.m.signers
        ]
        self.story += _table(
            ["Name", "Role", "Status", "Key fingerprint"],
            rows,
            [30 * mm, 22 * mm, 16 * mm, WIDTH - 68 * mm],
            self.st,
        )

    def signature_lines(self) -> None:
        self.h2("Signatures")
        rows = [["Name", "Role", "Date", "Signature"]] + [
            [s.name, s.role, "", ""] for s in self.m.signers if s.active
        ]
        table = Table(
            rows,
            colWidths=[40 * mm, 25 * mm, 30 * mm, WIDTH - 95 * mm],
            rowHeights=[None] + [12 * mm] * (len(rows) - 1),
        )
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, 8),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ]
            )
        )
        self.story.append(table)

    def verification(self) -> None:
        m = self.m
        self.story.append(PageBreak())
        self.h2("Appendix: verifying this report independently")
        self.para(
            "1. Verify the case folder: `irkit verify --case DIR` checks every Ed25519 "
            "signature (RFC 8032) over the RFC 8785 canonical form of each entry, the hash "
            "chain, membership and roles, checkpoints and stored files."
        )
        self.para(
            f"2. Recompute the RFC 6962 Merkle root of the first {m.size} journal lines "
            f"(leaf = SHA-256(0x00 || line), node = SHA-256(0x01 || left || right)); it must "
            f"equal {m.root_hex}."
        )
        self.para(
            "3. The journal holds a signed report.exported entry with this file's SHA-256 and "
            "the same tree size and root. `irkit report --check FILE.pdf` regenerates the "
            "report from the journal and compares it byte for byte."
        )
        if m.redacted:
            self.para(
                "4. Redacted text is shown as [REDACTED] sha256:<hex of the UTF-8 text>: whoever "
                "holds the full case can prove what was withheld without this file revealing it."
            )
        self.para(
            "Fonts: DejaVu Sans (Latin, Greek, Cyrillic and more). CJK ideographs are not in "
            "DejaVu and print as empty boxes; the journal keeps the exact text.",
            "small",
        )

    def build(self) -> list[Flowable]:
        for section in self.t.sections:
            getattr(self, section)()
        return self.story


def render_pdf(model: ReportModel, template: Template) -> bytes:
    """The PDF bytes for this model; the same model and template always give the same bytes."""
    _register_fonts()
    classification = template.marking(model.redacted)

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
            f"{classification} · journal 1–{model.size} · root {model.root_hex[:16]}…",
        )
        canv.drawRightString(width - MARGIN, 9 * mm, f"Page {number} of {total}")
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
        keywords=[model.case_id, f"tree-size={model.size}", f"root={model.root_hex}"],
        invariant=1,
        pageCompression=1,
    )
    story = _Builder(model, template).build()
    doc.build(story, canvasmaker=_numbered_canvas(header, model.as_of))
    return buf.getvalue()
