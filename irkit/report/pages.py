"""The page machinery of a report: fonts, paragraph styles, headings that know their page,
the contents list, shell recipes, the QR code and the canvas that numbers "Page X of Y".

Reproducible byte for byte: the document's timestamp is the last shown entry's recorded time.
"""

from __future__ import annotations

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
from reportlab.platypus import Flowable, KeepTogether, Paragraph
from reportlab.platypus.flowables import _listWrapOn

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
FRAME_HEIGHT = A4[1] - 2 * MARGIN - 12  # SimpleDocTemplate's frame: 6 points padding each side


def register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = resources.files("irkit.report").joinpath("fonts")
    for name in (FONT, FONT_BOLD):
        with resources.as_file(folder.joinpath(f"{name}.ttf")) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )


def styles() -> dict[str, ParagraphStyle]:
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
            keepWithNext=1,  # never a heading alone at the foot of a page
        ),
        "h3": ParagraphStyle(
            "h3",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=10,
            leading=13,
            spaceBefore=6,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "mono": ParagraphStyle("mono", parent=base, fontSize=8, leading=10),
        # a section's short introduction: stays on the page of the table it introduces
        "intro": ParagraphStyle("intro", parent=base, fontSize=7.5, leading=9.5, keepWithNext=1),
    }


class Marks:
    """Page numbers known only once every page is laid out (contents, headings).

    Headings note the page they land on; the contents list notes where each of its lines
    goes. The numbered canvas holds pages back until the end anyway ("Page X of Y"), so it
    writes the contents lines then, each title with its number: one layout pass, no
    second build, and text extraction reads "title … page" in order.
    """

    def __init__(self) -> None:
        self.pages: dict[str, int] = {}
        # page -> (left x, right x, baseline y, key, title, level), absolute coordinates
        self.slots: dict[int, list[tuple[float, float, float, str, str, int]]] = {}

    def draw(self, canv: Canvas, number: int) -> None:
        for left, right, y, key, title, level in self.slots.get(number, ()):
            font, size = (FONT_BOLD, 9.0) if level == 0 else (FONT, 8.5)
            x = left + 12.0 * level
            room = right - x - 30  # the page number and a gap stay clear
            if canv.stringWidth(title, font, size) > room:  # a long title, e.g. a commitment
                while title and canv.stringWidth(title + "…", font, size) > room:
                    title = title[:-1]
                title += "…"
            canv.setFont(font, size)
            canv.drawString(x, y, title)
            end = x + canv.stringWidth(title, font, size) + 4
            canv.setFont(FONT, 9)
            canv.drawRightString(right, y, str(self.pages.get(key, "?")))
            canv.saveState()
            canv.setStrokeColor(colors.HexColor("#9aa5b1"))
            canv.setDash(1, 2)
            canv.line(end, y, right - 24, y)
            canv.restoreState()


class Code(Flowable):  # type: ignore[misc]
    """A shell recipe, line for line, in a small font: wrapped lines continue indented."""

    SIZE = 6.4
    LEAD = 7.8

    def __init__(self, text: str, width: float) -> None:
        super().__init__()
        self.lines: list[str] = []
        room = width - 8
        for raw in text.rstrip("\n").split("\n"):
            line = raw
            while pdfmetrics.stringWidth(line, FONT, self.SIZE) > room:
                cut = len(line)
                while cut > 1 and pdfmetrics.stringWidth(line[:cut], FONT, self.SIZE) > room:
                    cut -= 1
                self.lines.append(line[:cut])
                line = "    " + line[cut:]
            self.lines.append(line)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.height = self.LEAD * len(self.lines) + 6
        return avail_width, self.height

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setFillColor(colors.HexColor("#f1f4f7"))
        canv.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        canv.setFillColor(colors.black)
        canv.setFont(FONT, self.SIZE)
        for i, line in enumerate(self.lines):
            canv.drawString(4, self.height - 3 - (i + 1) * self.LEAD + 1.5, line)
        canv.restoreState()


class Heading(Paragraph):  # type: ignore[misc]
    """A section heading that also becomes a PDF outline entry (bookmark)."""

    def __init__(
        self, text: str, style: ParagraphStyle, key: str, marks: Marks, level: int = 0
    ) -> None:
        super().__init__(escape(text), style)
        self._key = key
        self._title = text
        self._marks = marks
        self._level = level

    def draw(self) -> None:
        super().draw()
        canv = self.canv
        canv.bookmarkPage(self._key)
        canv.addOutlineEntry(self._title, self._key, level=self._level)
        self._marks.pages[self._key] = canv.getPageNumber()


class KeepHeading(KeepTogether):  # type: ignore[misc]
    """keepWithNext for headings (and a section's intro): they stay at the foot of a page
    when the first part of what follows fits below them, and only move to the next page
    with it when nothing of it fits. reportlab's own KeepTogether moves the group whenever
    the whole of it does not fit, which left half a page blank before every long table."""

    _SAFETY = 6.0  # points: rounding of spaces between the flowables

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        if getattr(self, "_wrapInfo", None) != (avail_width, avail_height):
            self.wrap(avail_width, avail_height)
        *lead, last = self._content
        if lead and avail_height < self._H:
            used = _listWrapOn(lead, avail_width, self.canv)[1]
            room = avail_height - used - last.getSpaceBefore() - self._SAFETY
            if room > 0:
                parts = last.splitOn(self.canv, avail_width, room)
                if len(parts) >= 2:
                    return [*lead, *parts]
        return list(super().split(avail_width, avail_height))


class Contents(Flowable):  # type: ignore[misc]
    """The contents list: titles now, page numbers filled in when the document is done."""

    LINE = 14.0

    def __init__(self, entries: list[tuple[str, str, int]], marks: Marks) -> None:
        super().__init__()
        self.entries = entries  # (key, title, level), filled while the story is built
        self.marks = marks

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, self.LINE * len(self.entries)

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        """A list longer than a page goes on over the next pages (a custody report lists up
        to 200 forms); one that fits a page is moved whole, as before."""
        fit = int(avail_height // self.LINE)
        if self.LINE * len(self.entries) <= FRAME_HEIGHT or not 0 < fit < len(self.entries):
            return []
        return [
            Contents(self.entries[:fit], self.marks),
            Contents(self.entries[fit:], self.marks),
        ]

    def draw(self) -> None:
        canv = self.canv
        page = canv.getPageNumber()
        top = self.LINE * len(self.entries)
        left, _ = canv.absolutePosition(0, 0)
        for i, (key, title, level) in enumerate(self.entries):
            y = top - (i + 1) * self.LINE + 4
            x, y_abs = canv.absolutePosition(self.width, y)
            self.marks.slots.setdefault(page, []).append((left, x, y_abs, key, title, level))
            canv.linkRect("", key, (0, y - 3, self.width, y + 9), relative=1, thickness=0)


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


def numbered_canvas(header: Callable[[Canvas, int, int], None], as_of: str = "") -> type[Canvas]:
    """A canvas that holds pages back until the end, so each can say "Page X of Y"."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._doc._timeStamp = _journal_stamp(as_of)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()
            # bookmarks and links made while a page is held must name that page, not the
            # first one: the document only counts pages when they are really written
            self._doc.pageCounter += 1

        def save(self) -> None:
            total = len(self._held)
            self._doc.pageCounter = 1
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                header(self, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def qr(text: str, side: float) -> Drawing:
    """A QR code of `text`, `side` points square (reportlab's own barcode widget)."""
    qr = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = qr.getBounds()
    drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
    drawing.add(qr)
    return drawing
