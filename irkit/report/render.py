"""Render a ReportModel to PDF bytes with reportlab (imported only here).

Reproducible byte for byte: reportlab's invariant mode fixes the document id and dates, and
every value printed comes from the journal, never from the clock. Long tables are split into
page-sized tables because reportlab's table layout cost grows faster than linearly with rows.
"""

from __future__ import annotations

import functools
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
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from irkit.formats.timefmt import zoned_instant
from irkit.report.model import ReportModel, entry_range, human_moment, human_time
from irkit.report.templates import Template

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
ROWS_PER_TABLE = 40  # about a page: keeps table layout cost linear in the number of rows
# A table row cannot break across pages, so no cell may be taller than a page (reportlab's
# LayoutError "Flowable too large"): text taller than this goes on in continuation rows.
CELL_HEIGHT = 330.0  # points: under half the frame, whatever sits above the row
CELL_LINES = 34  # lines of a plain-string cell (leading at most 9.2): under CELL_HEIGHT
_PAD = 5.0  # `_table`'s left + right cell padding
_KV_PAD = 12.0  # reportlab's default left + right cell padding (kv tables)
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
FRAME_HEIGHT = A4[1] - 2 * MARGIN - 12  # SimpleDocTemplate's frame: 6 points padding each side


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


class _Marks:
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


class _Code(Flowable):  # type: ignore[misc]
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


class _Heading(Paragraph):  # type: ignore[misc]
    """A section heading that also becomes a PDF outline entry (bookmark)."""

    def __init__(
        self, text: str, style: ParagraphStyle, key: str, marks: _Marks, level: int = 0
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


class _Contents(Flowable):  # type: ignore[misc]
    """The contents list: titles now, page numbers filled in when the document is done."""

    LINE = 14.0

    def __init__(self, entries: list[tuple[str, str, int]], marks: _Marks) -> None:
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
            _Contents(self.entries[:fit], self.marks),
            _Contents(self.entries[fit:], self.marks),
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


def _table(
    head: list[str],
    rows: list[list[Any]],
    widths: list[float],
    st: dict[str, ParagraphStyle],
    lead: int = ROWS_PER_TABLE,
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
            ("FONT", (0, 0), (-1, 0), FONT_BOLD, 7.5, 9),
        ]
    )
    # plain strings, broken to the column: a custody report has two tables per item, and a
    # Paragraph per header cell cost about a tenth of its time
    header = [_fit_bold(h, w) for h, w in zip(head, widths, strict=True)]
    rows = _split_tall(rows, widths, _PAD)
    out: list[Flowable] = []
    # `lead`: a short first table, so a heading kept with it never pulls a page-sized
    # table (and the heading) over to the next page
    starts = [0, *range(lead, len(rows), ROWS_PER_TABLE)] if rows else []
    for start, stop in zip(starts, [*starts[1:], len(rows)], strict=True):
        chunk = rows[start:stop]
        out.append(Table([header, *chunk], colWidths=widths, repeatRows=1, style=style))
    return out


def _cell_parts(cell: Any, width: float) -> list[Any] | None:
    """`cell` cut into pieces no taller than CELL_HEIGHT, or None when it fits whole.

    Plain strings (already broken into lines by `_fit`) are cut every CELL_LINES lines;
    Paragraphs by reportlab's own split, which keeps the markup (strike, bold) of each part.
    Short cells, nearly all of them, are never measured.
    """
    if isinstance(cell, list):  # already cut where it was built (`_pcell`, `_cell_texts`)
        return cell if len(cell) > 1 else None
    if isinstance(cell, str):
        if cell.count("\n") < CELL_LINES:
            return None
        lines = cell.split("\n")
        return ["\n".join(lines[i : i + CELL_LINES]) for i in range(0, len(lines), CELL_LINES)]
    if not isinstance(cell, Paragraph) or len(cell.text) < 300:
        return None  # under 300 characters: well under a page in any column used here
    if cell.wrap(width, CELL_HEIGHT)[1] <= CELL_HEIGHT:
        return None
    parts: list[Any] = []
    rest: Any = cell
    while True:
        pieces = rest.split(width, CELL_HEIGHT)
        if len(pieces) < 2:  # fits now (or cannot be cut further): the last piece
            parts.append(pieces[0] if pieces else rest)
            return parts
        parts.append(pieces[0])
        rest = pieces[1]
        if rest.wrap(width, CELL_HEIGHT)[1] <= CELL_HEIGHT:
            parts.append(rest)
            return parts


def _split_tall(rows: list[list[Any]], widths: list[float], pad: float) -> list[list[Any]]:
    """Rows whose text would be taller than a page, continued in further rows: any note,
    path or field renders, whatever its size. Rows that fit are returned unchanged, so the
    layout (and the PDF bytes) of every report that rendered before stays the same."""
    out: list[list[Any]] = []
    for row in rows:
        parts = [_cell_parts(cell, w - pad) for cell, w in zip(row, widths, strict=False)]
        if all(p is None for p in parts):
            out.append([c[0] if isinstance(c, list) else c for c in row])
            continue
        count = max(len(p) for p in parts if p is not None)
        for k in range(count):
            cont: list[Any] = []
            for index, (cell, cut) in enumerate(zip(row, parts, strict=False)):
                if cut is not None:
                    cont.append(cut[k] if k < len(cut) else "")
                elif k == 0:
                    cont.append(cell[0] if isinstance(cell, list) else cell)
                else:
                    cont.append("(cont.)" if index == 0 else "")
            out.append(cont)
    return out


def _cell_texts(text: str, width: float, size: float = 7.5) -> list[str] | None:
    """`text` as pieces of at most CELL_LINES lines of a `width` column, or None when it is
    short enough for one cell. For Paragraph cells: cutting the text before it is marked up
    costs one pass, where cutting a laid-out Paragraph again and again costs one layout of
    the remainder per piece. Pieces keep the text's own line breaks and cut an unbreakable
    run (a path, a digest) where `_fit` would."""
    if len(text) < 300 and text.count("\n") < CELL_LINES:
        return None
    lines = _fit(text, width, size).split("\n")
    if len(lines) <= CELL_LINES:
        return None
    return ["\n".join(lines[i : i + CELL_LINES]) for i in range(0, len(lines), CELL_LINES)]


def _pcell(text: str, style: ParagraphStyle, width: float) -> list[Paragraph]:
    """`_p` for a table cell of a `width` column: one Paragraph, or several when the text is
    taller than a page (`_split_tall` puts them in continuation rows)."""
    pieces = _cell_texts(text, width, style.fontSize)
    return [_p(piece, style) for piece in pieces or [text]]


def _two_lines(when: str) -> str:
    """A zoned time for a narrow column: local time, then its UTC reading below."""
    return when.replace(" (", "\n(", 1)


def _out_of_range(event_time: str) -> str:
    """A marker for an event time outside 1970..9998 that an older version accepted: shown
    as recorded, placed by its recorded time."""
    return "" if zoned_instant(event_time) is not None else "\n(out of range)"


def _headline(text: str, limit: int = 120) -> str:
    """Recorded text as a one-line heading (and bookmark): a heading must not outgrow a
    page; the whole text is in the table below it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


@functools.lru_cache(maxsize=65536)
def _width(word: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(word, FONT, size))


def _fit(text: str, width: float, size: float = 7) -> str:
    """Break a plain-string cell into lines that fit `width` (at spaces, else inside a word).

    Plain strings do not wrap by themselves but lay out several times faster than
    Paragraphs; reportlab sets TrueType text without kerning, so widths simply add up.
    """
    room = width - 5.5  # the cell's left and right padding
    space = _width(" ", size)
    lines: list[str] = []
    for raw in text.split("\n"):
        line, used = "", 0.0
        for word in raw.split(" "):
            w = _width(word, size) if len(word) < 40 else room + 1
            if w <= room:
                if not line:
                    line, used = word, w
                    continue
                if used + space + w <= room:
                    line, used = f"{line} {word}", used + space + w
                    continue
                lines.append(line)
                line, used = word, w
                continue
            # a long word (a path, a digest): cut it character by character
            for ch in f" {word}" if line else word:
                cw = _width(ch, size)
                if line and used + cw > room:
                    lines.append(line)
                    line, used = ("", 0.0) if ch == " " else (ch, cw)
                else:
                    line, used = line + ch, used + cw
        lines.append(line)
    return "\n".join(lines)


def _fit_bold(text: str, width: float) -> str:
    """`_fit` for a bold 7.5-point header cell (bold glyphs are wider)."""
    room = width - 5.5
    words, lines, line = text.split(" "), [], ""
    for word in words:
        trial = f"{line} {word}" if line else word
        if line and pdfmetrics.stringWidth(trial, FONT_BOLD, 7.5) > room:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    return "\n".join(lines)


def _plain(
    head: list[str],
    rows: list[list[str]],
    widths: list[float],
    st: dict[str, ParagraphStyle],
    size: float = 7,
) -> list[Flowable]:
    """Like `_table` for cells that need no wrapping: plain strings are laid out several
    times faster than Paragraphs, which matters with tens of thousands of rows."""
    tables = _table(head, rows, widths, st)
    for t in tables:
        t.setStyle(TableStyle([("FONT", (0, 1), (-1, -1), FONT, size, size + 1.6)]))
    return tables


# (font, size, leading) of `_Grid` columns, as `_plain` and `kv_plain` set them
_SMALL7 = (FONT, 7.0, 8.6)
_SMALL6 = (FONT, 6.2, 8.0)
_KV_KEY = (FONT_BOLD, 7.5, 9.2)
_KV_VALUE = (FONT, 7.5, 9.2)


class _Grid(Flowable):  # type: ignore[misc]
    """A table of plain-string cells drawn straight onto the canvas: a custody report has
    four tables per item, and reportlab's Table spent most of the report's time building,
    styling and drawing them cell by cell. Rows are measured once (lines x leading), split
    between pages at row boundaries (the header row repeated), and the text of each table
    goes into one PDF text object; a line of text already set in the same font is reused
    (the encoding of the same glyphs never changes within one document)."""

    HEAD = (FONT_BOLD, 7.5, 9.0)

    def __init__(
        self,
        head: list[str] | None,
        rows: list[list[str]],
        widths: list[float],
        fonts: list[tuple[str, float, float]],
        *,
        kv: bool = False,
    ) -> None:
        super().__init__()
        self.head = head
        self.rows = rows
        self.widths = widths
        self.fonts = fonts
        self.kv = kv  # kv: reportlab's default padding, a rule below each row; else a grid
        self.pad = (6.0, 3.0, 3.0) if kv else (2.5, 1.5, 2.0)  # left/right, top, bottom
        self.head_h = self._row_height(head, [self.HEAD] * len(widths)) if head else 0.0
        self.heights = [self._row_height(r, fonts) for r in rows]

    def _row_height(self, row: list[str], fonts: list[tuple[str, float, float]]) -> float:
        lines = max((cell.count("\n") + 1) * f[2] for cell, f in zip(row, fonts, strict=True))
        return float(lines + self.pad[1] + self.pad[2])

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = sum(self.widths)
        self.height = self.head_h + sum(self.heights)
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        used, fit = self.head_h, 0
        for h in self.heights:
            if used + h > avail_height:
                break
            used, fit = used + h, fit + 1
        if fit == 0 or fit == len(self.rows):
            return []
        return [
            _Grid(self.head, self.rows[:fit], self.widths, self.fonts, kv=self.kv),
            _Grid(self.head, self.rows[fit:], self.widths, self.fonts, kv=self.kv),
        ]

    def draw(self) -> None:
        canv = self.canv
        cache: dict[tuple[str, float, str], str] = canv.__dict__.setdefault("_irkit_text", {})
        rows: list[tuple[list[str], list[tuple[str, float, float]], float]] = []
        if self.head:
            rows.append((self.head, [self.HEAD] * len(self.widths), self.head_h))
        rows += list(zip(self.rows, [self.fonts] * len(self.rows), self.heights, strict=True))
        xs = [0.0]
        for w in self.widths:
            xs.append(xs[-1] + w)
        canv.saveState()
        if self.head:
            canv.setFillColor(colors.HexColor("#dde3ea"))
            canv.rect(0, self.height - self.head_h, self.width, self.head_h, stroke=0, fill=1)
            canv.setFillColor(colors.black)
        text = canv.beginText()
        code = text._code
        top = self.height
        tops = []
        for cells, fonts, h in rows:
            tops.append(top)
            for x, cell, (font, size, lead) in zip(xs, cells, fonts, strict=False):
                y = top - self.pad[1] - size
                text.setFont(font, size, lead)
                for line in cell.split("\n"):
                    if line:
                        text.setTextOrigin(x + self.pad[0], y)
                        key = (font, size, line)
                        done = cache.get(key)
                        if done is None:
                            done = cache[key] = text._formatText(line)
                        code.append(done)
                    y -= lead
            top -= h
        canv.drawText(text)
        canv.setLineWidth(0.25)
        if self.kv:
            canv.setStrokeColor(colors.HexColor("#c8ced6"))
            for t in [*tops[1:], top]:
                canv.line(0, t, self.width, t)
        else:
            canv.setStrokeColor(colors.HexColor("#9aa5b1"))
            for t in [*tops, top]:
                canv.line(0, t, self.width, t)
            for x in xs:
                canv.line(x, self.height, x, 0)
        canv.restoreState()


def _grid(
    head: list[str] | None,
    rows: list[list[str]],
    widths: list[float],
    fonts: list[tuple[str, float, float]],
    *,
    kv: bool = False,
) -> _Grid:
    """`_plain` (or `kv_plain`) as one `_Grid`; tall cells continue in further rows."""
    pad = _KV_PAD if kv else _PAD
    header = [_fit_bold(h, w) for h, w in zip(head, widths, strict=True)] if head else None
    return _Grid(header, _split_tall(rows, widths, pad), widths, fonts, kv=kv)


def _qr(text: str, side: float) -> Drawing:
    """A QR code of `text`, `side` points square (reportlab's own barcode widget)."""
    qr = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = qr.getBounds()
    drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
    drawing.add(qr)
    return drawing


# docs/FORMAT.md §3 "Checking one entry with stock openssl", printed in the appendix because
# a plain install has no docs/ folder (a test keeps the two the same)
VERIFY_RECIPE = """\
# Inputs: CASE (the case folder) and SEQ (the entry number). Needs sed, base64, openssl 3.
export LC_ALL=C
line=$(sed -n "$((SEQ + 1))p" "$CASE/journal.jsonl")
actor=$(printf '%s' "$line" | sed -E 's/^\\{"actor":"ed25519:([0-9a-f]{64})".*$/\\1/')
# 1. the public key file must be the key the fingerprint names
der_hash=$(openssl pkey -pubin -in "$CASE/keys/$actor.pub" -outform DER | tail -c 32 \\
  | openssl dgst -sha256 -r | cut -c1-64)
[ "$der_hash" = "$actor" ] || { echo "keys/$actor.pub does not match the fingerprint"; exit 1; }
# 2. signed bytes: the line without its sig member; signature: base64-decoded sig
printf '%s' "$line" | sed -E 's/,"sig":"[A-Za-z0-9+/=]{88}"\\}$/}/' > signed.bin
printf '%s' "$line" | sed -E 's/^.*,"sig":"([A-Za-z0-9+/=]{88})"\\}$/\\1/' | base64 -d > sig.bin
# 3. the Ed25519 check itself
openssl pkeyutl -verify -pubin -inkey "$CASE/keys/$actor.pub" -rawin \\
  -in signed.bin -sigfile sig.bin
"""

SECTION_TITLES = {
    "incident": "incident lifecycle",
    "record": "case record",
    "notes": "notes",
    "evidence": "evidence inventory",
    "custody": "custody log",
    "backups": "backup verifications",
}


class _Builder:
    def __init__(self, model: ReportModel, template: Template) -> None:
        self.m = model
        self.t = template
        self.st = _styles()
        self.story: list[Flowable] = []
        self.marks = _Marks()
        self.toc: list[tuple[str, str, int]] = []  # (key, title, level) for the contents
        self.headings = 0

    def _key(self) -> str:
        self.headings += 1
        return f"h{self.headings}"

    def h2(self, text: str, *, listed: bool = True) -> None:
        key = self._key()
        self.story.append(_Heading(text, self.st["h2"], key, self.marks))
        if listed:
            self.toc.append((key, text, 0))

    def h3(self, text: str, *, listed: bool) -> None:
        key = self._key()
        self.story.append(_Heading(text, self.st["h3"], key, self.marks, level=1))
        if listed:
            self.toc.append((key, text, 1))

    def para(self, text: str, style: str = "body") -> None:
        self.story.append(_p(text, self.st[style]))

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
                _p(k, self.st["head"]),
                _pcell(v, self.st["digest" if k in digest else "cell"], widths[1] - 6.5),
            ]
            for k, v in pairs
        ]
        table = Table(_split_tall(rows, widths, _KV_PAD), colWidths=widths)
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
        """`kv_plain` as a `_Grid`: for the forms repeated thousands of times."""
        value_width = WIDTH - 38 * mm
        rows = [[_fit(k, 38 * mm, 7.5), _fit(v, value_width, 7.5)] for k, v in pairs]
        self.story.append(_grid(None, rows, [38 * mm, value_width], [_KV_KEY, _KV_VALUE], kv=True))

    def kv_plain(self, pairs: list[tuple[str, str]]) -> None:
        """`kv` with plain-string cells: for forms repeated thousands of times."""
        value_width = WIDTH - 38 * mm
        rows = [[_fit(k, 38 * mm, 7.5), _fit(v, value_width, 7.5)] for k, v in pairs]
        widths = [38 * mm, value_width]
        table = Table(_split_tall(rows, widths, _KV_PAD), colWidths=widths)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (0, -1), FONT_BOLD, 7.5, 9.2),
                    ("FONT", (1, 0), (1, -1), FONT, 7.5, 9.2),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ced6")),
                ]
            )
        )
        self.story.append(table)

    def listing(self, items: list[str], empty: str) -> None:
        if not items:
            self.para(empty)
        for item in items:
            self.para(f"• {item}")

    # -- sections -------------------------------------------------------------------------

    def summary(self) -> None:
        m = self.m
        if self.t.logo:
            from reportlab.lib.utils import ImageReader
            from reportlab.platypus import Image

            width, height = ImageReader(io.BytesIO(self.t.logo)).getSize()
            side = 16 * mm
            scale = min(side * 3 / width, side / height)
            logo = Image(io.BytesIO(self.t.logo), width * scale, height * scale)
            logo.hAlign = "LEFT"
            self.story += [logo, Spacer(0, 2 * mm)]
        self.story.append(_p(self.t.title, self.st["h1"]))
        self.story.append(Spacer(0, 3 * mm))
        side = 30 * mm  # the cover carries the checkpoint's QR code (origin, size, root)
        facts = self.kv(
            [
                ("Organisation", self.t.organisation),
                ("Case", m.case_id),
                ("Title", m.title),
                (
                    "Journal shown",
                    f"{entry_range(m.size)}, last recorded {human_time(m.as_of, m.zone)}",
                ),
                ("Merkle root", m.root_b64),
                ("Incident state", m.state),
                ("Classification", self.t.marking(m.redacted)),
                (
                    "Redacted",
                    "yes: confidential text replaced by a salted commitment"
                    if m.redacted
                    else "no: contains confidential material",
                ),
            ],
            width=WIDTH - side - 4 * mm,
            add=False,
        )
        cover = Table([[facts, _qr(m.checkpoint_text, side)]], colWidths=[WIDTH - side, side])
        cover.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        self.story.append(cover)
        missing = [SECTION_TITLES[s] for s in SECTION_TITLES if s not in self.t.sections]
        if missing:
            self.para(
                "Left out of this template by design: " + ", ".join(missing) + ". The incident "
                "template shows them.",
                "small",
            )

    def contents(self) -> None:
        self.h2("Contents", listed=False)
        self.story.append(_Contents(self.toc, self.marks))
        self.story.append(PageBreak())

    def document_control(self) -> None:
        m, t = self.m, self.t
        self.h2("Document control")
        earlier = "; ".join(
            f"#{seq} {at}: {what}, sha256 {sha}" for seq, at, what, sha in m.exports
        )
        self.kv(
            [
                ("Document", f"{t.title} (template {t.name})"),
                ("Classification", t.marking(m.redacted)),
                ("Organisation", t.organisation),
                ("Report date", f"{human_time(m.as_of, m.zone)} (the last journal entry shown)"),
                ("Times", f"case time zone {m.zone}, with UTC; to the second"),
                ("Source", f"case journal {entry_range(m.size)}, Merkle root {m.root_b64}"),
                ("Handler", m.handler or "not recorded"),
                ("Owner", m.owner or "not recorded"),
                ("Case opened by", m.opener or "not recorded"),
                ("Reviewers", t.reviewers or "not recorded (set reviewers in the template)"),
                ("Distribution", t.distribution),
                ("Earlier exports", earlier or "none in the journal shown"),
            ]
        )

    def executive_summary(self) -> None:
        self.h2("Executive summary")
        for line in self.m.summary_lines:
            self.para(line)
            self.story.append(Spacer(0, 1.2 * mm))
        if self.m.starred:
            self.para("Key observations (notes starred for this summary):")
            self.listing(self.m.starred, "")

    def checkpoint(self) -> None:
        m = self.m
        self.h2("Checkpoint this report shows")
        self.para(
            "The report shows exactly the journal prefix below. Compare it with a signed "
            "checkpoint (irkit checkpoint) or scan the QR code, which holds the same text.",
            "intro",
        )
        side = 34 * mm
        drawing = _qr(m.checkpoint_text, side)
        text = Table(
            [
                [_p("Origin", self.st["head"]), _p(m.origin, self.st["mono"])],
                [_p("Tree size", self.st["head"]), _p(str(m.size), self.st["mono"])],
                [_p("Root", self.st["head"]), _p(m.root_b64, self.st["digest"])],
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
            self.h3("States", listed=False)
            rows = [
                [
                    p.state + (f"\nwaiting for {p.waiting_for}" if p.waiting_for else ""),
                    human_moment(p.start, m.zone),
                    human_moment(p.end, m.zone) if p.end else "(current)",
                ]
                for p in m.phases
            ]
            self.story += _plain(
                ["State", "From", "Until"], rows, [40 * mm, 65 * mm, WIDTH - 105 * mm], self.st
            )
        self.h3("Service levels (SLA)", listed=False)
        if m.sla:
            self.story += _plain(
                ["Clock", "Target", "Result at the report's time"],
                [[n, t, v] for n, t, v in m.sla],
                [60 * mm, 50 * mm, WIDTH - 110 * mm],
                self.st,
            )
        else:
            self.para("No priority set, so no SLA clocks ran.", "small")
        self.h3("Escalations", listed=False)
        if m.escalations:
            width = WIDTH - 140 * mm
            self.story += _table(
                ["Entry", "When", "Escalated to", "Trigger", "Reason", "Acknowledgement"],
                [
                    [
                        e[0],
                        _pcell(e[1], self.st["cell"], 30 * mm),
                        _pcell(e[2], self.st["cell"], 28 * mm),
                        _pcell(e[3], self.st["cell"], 22 * mm),
                        _pcell(e[4], self.st["cell"], width),
                        _pcell(e[5], self.st["cell"], 48 * mm),
                    ]
                    for e in m.escalations
                ],
                [12 * mm, 30 * mm, 28 * mm, 22 * mm, width, 48 * mm],
                self.st,
            )
        else:
            self.para("None recorded.", "small")
        self.h3("Customer consent", listed=False)
        if m.consents:
            width = WIDTH - 134 * mm
            self.story += _table(
                ["Entry", "Recorded", "Given by", "Scope (method)", "Status"],
                [
                    [
                        c[0],
                        _pcell(c[1], self.st["cell"], 36 * mm),
                        _pcell(c[2], self.st["cell"], 36 * mm),
                        _pcell(c[3], self.st["cell"], width),
                        _pcell(c[4], self.st["cell"], 50 * mm),
                    ]
                    for c in m.consents
                ],
                [12 * mm, 36 * mm, 36 * mm, width, 50 * mm],
                self.st,
            )
        else:
            self.para("None recorded.", "small")
        self.h3("Customer updates", listed=False)
        if m.informed:
            width = WIDTH - 98 * mm
            self.story += _table(
                ["Entry", "When", "Channel, by", "Summary"],
                [
                    [
                        c[0],
                        _pcell(c[1], self.st["cell"], 40 * mm),
                        _pcell(c[2], self.st["cell"], 46 * mm),
                        _pcell(c[3], self.st["cell"], width),
                    ]
                    for c in m.informed
                ],
                [12 * mm, 40 * mm, 46 * mm, width],
                self.st,
            )
        else:
            self.para("None recorded.", "small")

    def record(self) -> None:
        m = self.m
        self.h2(f"Case record ({len(m.record)} entries)")
        self.para(
            "Every signed entry that the sections above do not list row by row (notes, "
            "evidence and custody have their own): membership, lifecycle, backups, reports. "
            "Each shows every field it records.",
            "intro",
        )
        width = WIDTH - 108 * mm
        rows = [
            [
                f"#{seq}",
                _fit(_two_lines(at), 36 * mm, 6.2),
                _fit(by, 24 * mm),
                _fit(kind, 30 * mm),
                _pcell(detail, self.st["cell"], width),
            ]
            for seq, at, by, kind, detail in m.record
        ]
        tables = _table(
            ["Entry", "Recorded", "By", "Kind", "Fields"],
            rows,
            [12 * mm, 36 * mm, 24 * mm, 30 * mm, width],
            self.st,
            lead=1,
        )
        for t in tables:
            t.setStyle(
                TableStyle(
                    [("FONT", (0, 1), (3, -1), FONT, 7, 8.6), ("FONT", (1, 1), (1, -1), FONT, 6.2)]
                )
            )
        self.story += tables

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
                    escape(t).replace("\n", "<br/>")
                    for t in _cell_texts(n.text, text_width) or [n.text]
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
                cell = [Paragraph(t, self.st["cell"]) for t in pieces]
            else:  # most notes: plain text, wrapped here, laid out without Paragraph
                lines = [n.text, *extra] + ([f"[{'; '.join(flags)}]"] if flags else [])
                cell = _fit("\n".join(lines), text_width, 7.5)
            rows.append(
                [
                    f"#{n.seq}",
                    f"{_fit(_two_lines(human_time(n.event_time, m.zone)), 45 * mm, 6.2)}"
                    f"{_out_of_range(n.event_time)}\n"
                    f"{_fit('rec. ' + _two_lines(human_time(n.recorded, m.zone)), 45 * mm, 6.2)}",
                    _fit(n.author, 22 * mm),
                    cell,
                ]
            )
        tables = _table(
            ["Entry", "Event / recorded", "Author", "Note"],
            rows,
            [11 * mm, 45 * mm, 22 * mm, text_width],
            self.st,
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
        self.story += tables

    def evidence(self) -> None:
        m = self.m
        self.h2(f"Evidence ({len(m.evidence)})")
        if not m.evidence:
            self.para("No evidence recorded.")
            return
        self.para(
            "When, where and by whom each batch was collected: see the custody entries "
            "(one row per collection, with its description). Digests are printed whole on "
            "one line.",
            "intro",
        )
        path_width = WIDTH - 122 * mm
        rows = [
            [
                e.id,
                _fit(
                    e.path
                    + ("" if e.stored else "\n(by reference: hashed in place, not copied)")
                    + (f"\n{e.description}" if e.description else ""),
                    path_width,
                ),
                str(e.size),
                f"{e.sha256}\nMD5 {e.md5}" if e.md5 else e.sha256,
            ]
            for e in m.evidence
        ]
        tables = _table(
            ["Item", "Path as collected", "Bytes", "SHA-256 (MD5 when computed)"],
            rows,
            [14 * mm, path_width, 16 * mm, 92 * mm],
            self.st,
        )
        for t in tables:
            t.setStyle(
                TableStyle(
                    [
                        ("FONT", (0, 1), (2, -1), FONT, 7, 8.6),
                        ("FONT", (3, 1), (3, -1), FONT, 6.2, 8.6),
                        ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                    ]
                )
            )
        self.story += tables

    def custody(self) -> None:
        m = self.m
        self.h2("Chain of custody")
        if not m.custody_log:
            self.para("No custody recorded.")
            return
        self.para(
            "One row per signed custody entry; the custody template prints one form per item.",
            "intro",
        )
        rows = [
            [
                f"#{r.seq}",
                _fit(_two_lines(r.at), 36 * mm, 6.2),
                r.step,
                _fit(r.by, 20 * mm),
                _pcell(r.items, self.st["cell"], 30 * mm),
                _pcell(r.detail, self.st["cell"], WIDTH - 114 * mm),
            ]
            for r in m.custody_log
        ]
        tables = _table(
            ["Entry", "Recorded", "Step", "By", "Items", "Detail"],
            rows,
            [12 * mm, 36 * mm, 16 * mm, 20 * mm, 30 * mm, WIDTH - 114 * mm],
            self.st,
        )
        for t in tables:
            t.setStyle(
                TableStyle(
                    [("FONT", (0, 1), (3, -1), FONT, 7, 8.6), ("FONT", (1, 1), (1, -1), FONT, 6.2)]
                )
            )
        self.story += tables

    def custody_forms(self) -> None:
        from irkit.report.figures import custody_chain

        m = self.m
        self.h2(f"Chain-of-custody forms ({len(m.custody)})")
        if not m.custody:
            self.para("No evidence recorded, so no custody forms.")
            return
        local = f" in the case's zone ({m.zone})" if m.zone != "UTC" else ""
        self.para(
            "One form per item, with the fields NIST SP 800-61 rev. 2 §3.3.2 lists for evidence. "
            f"Times are the journal's recorded times{local}, with UTC. A person is "
            "recorded by name, role (title) and the fingerprint of the key that signed; irkit "
            "does not record phone numbers, serial or model numbers, or MAC/IP addresses, so "
            "those fields say so: add them by hand if known.",
            "intro",
        )
        listed = len(m.custody) <= 200  # the contents stay a page or two
        for form in m.custody:
            e = form.item
            start = len(self.story)
            title = f"{e.id} — {_headline(e.description)}" if e.description else e.id
            self.h3(title, listed=listed)
            self.kv_grid(
                [
                    ("Item", e.id),
                    ("Description", e.description or "not recorded"),
                    ("Source host", e.host or "not recorded"),
                    ("Source path", e.path),
                    ("Collected at (location)", e.location or "not recorded"),
                    ("Size", f"{e.size} bytes"),
                    ("File modified", e.mtime or "not recorded"),
                    (
                        "Kept",
                        "copy in the case evidence store"
                        if e.stored
                        else "by reference (hashed in place, not copied)",
                    ),
                    ("SHA-256", e.sha256),
                    ("MD5", e.md5 or "not computed"),
                    ("Serial / model no.", "not recorded by irkit"),
                    ("MAC / IP addresses", "not recorded by irkit"),
                    ("Collected", f"{e.collected} by {e.by} (journal entry #{e.collected_seq})"),
                ]
            )
            self.story.append(Spacer(0, 1.5 * mm))
            people = [
                [
                    _fit(s.name, 40 * mm),
                    _fit(s.role, 24 * mm),
                    "not recorded",
                    _fit(s.fingerprint, WIDTH - 86 * mm, 6.2),
                ]
                for s in form.handlers
            ]
            self.story.append(
                _grid(
                    ["Handled by (name)", "Title (role)", "Phone", "Key fingerprint"],
                    people,
                    [40 * mm, 24 * mm, 22 * mm, WIDTH - 86 * mm],
                    [_SMALL7, _SMALL7, _SMALL7, _SMALL6],
                )
            )
            self.story.append(Spacer(0, 1.5 * mm))
            note_width = WIDTH - 130 * mm
            rows = [
                [
                    _fit(_two_lines(v.at), 38 * mm, 6.2),
                    v.step,
                    _fit(v.giver or "—", 24 * mm),
                    _fit(v.receiver or "—", 24 * mm),
                    _fit(
                        f"{v.purpose}\nlocation: {v.location}\ncondition: {v.condition}",
                        note_width,
                    ),
                    _fit(f"{v.signature} (#{v.seq})\n{v.signer}", 30 * mm, 6.2),
                ]
                for v in form.events
            ]
            self.story.append(
                _grid(
                    [
                        "Time",
                        "Step",
                        "From",
                        "To",
                        "Purpose / location / condition",
                        "Signature, signer key",
                    ],
                    rows,
                    [38 * mm, 14 * mm, 24 * mm, 24 * mm, note_width, 30 * mm],
                    [_SMALL6, _SMALL7, _SMALL7, _SMALL7, _SMALL7, _SMALL6],
                )
            )
            self.story.append(Spacer(0, 1.5 * mm))
            if form.problems:
                verdict = "PROBLEMS: " + "; ".join(form.problems)
            else:
                verdict = (
                    f"custody chain verified: {len(form.events)} events, every signature valid, "
                    "every step allowed by the custody rules, every recorded re-hash matched"
                )
            self.kv_grid(
                [
                    ("Verification", verdict),
                    ("Current status", form.status),
                    (
                        "Not checked here",
                        "the journal's hash chain and the stored copy's bytes: "
                        "irkit verify --trust and irkit evidence check",
                    ),
                ]
            )
            if len(form.events) > 1:
                # a fixed-height figure moves to the next page whole by itself: no
                # KeepTogether, which copies and lays out its content once more
                self.story += [Spacer(0, 2 * mm), custody_chain(form, WIDTH)]
            # one form per page, as paper custody forms are (a long chain flows on); a page
            # break is also far cheaper than KeepTogether, which lays each form out twice
            self.story.insert(start, PageBreak())

    def backups(self) -> None:
        m = self.m
        self.h2(f"Backup verification ({len(m.backups)})")
        if not m.backups:
            self.para("No backup verification recorded.")
            return
        rows = [
            [
                _fit(f"#{b.seq}\n{_two_lines(b.at)}", 36 * mm, 6.2),
                _fit(b.by, 18 * mm),
                _pcell(
                    f"{b.artifact} ({b.kind})" if b.artifact else b.kind, self.st["cell"], 32 * mm
                ),
                _fit(b.verdict + (", signed off" if b.signed_off else ""), 22 * mm),
                _pcell(b.detail, self.st["cell"], WIDTH - 108 * mm),
            ]
            for b in m.backups
        ]
        tables = _table(
            ["Recorded", "By", "Artifact", "Verdict", "Every field recorded"],
            rows,
            [36 * mm, 18 * mm, 32 * mm, 22 * mm, WIDTH - 108 * mm],
            self.st,
        )
        for t in tables:
            t.setStyle(
                TableStyle(
                    [("FONT", (0, 1), (-1, -1), FONT, 7, 8.6), ("FONT", (0, 1), (0, -1), FONT, 6.2)]
                )
            )
        self.story += tables

    def backup_pages(self) -> None:
        from irkit.report.backupsignoff import pages

        pages(self)

    def root_cause(self) -> None:
        self.h2("Root cause")
        if self.m.root_cause:
            self.kv(self.m.root_cause)
        else:
            self.para(
                "Not recorded: no root-cause field, resolution code, category, linked problem "
                "record or note tagged root-cause in the journal shown."
            )

    def workaround(self) -> None:
        self.h2("Workaround")
        self.listing(
            self.m.workarounds,
            "Not recorded: no linked record with a workaround and no note tagged workaround.",
        )

    def resolution(self) -> None:
        self.h2("Resolution")
        if self.m.resolution:
            self.kv(self.m.resolution)
        else:
            self.para(f"Not resolved in the journal shown (state: {self.m.state}).")

    def confirmation(self) -> None:
        self.h2("Customer confirmation and follow-up")
        if self.m.confirmation:
            self.kv(self.m.confirmation)
        else:
            self.para("No customer confirmation recorded.")
        self.para("Follow-up:", "body")
        self.listing(self.m.followups, "No follow-up recorded.")

    def lessons_learned(self) -> None:
        self.h2("Lessons learned")
        self.listing(
            self.m.lessons,
            "Not recorded: no lessons-learned incident field (irkit case set "
            "lessons-learned TEXT) and no note tagged lessons-learned.",
        )

    def kpis(self) -> None:
        self.h2("Key performance indicators")
        if self.m.kpis:
            self.kv(self.m.kpis)
        else:
            self.para("Not available: the incident lifecycle was not worked in this journal.")

    def signers(self) -> None:
        self.h2("Members and keys")
        rows = [
            [
                _fit(s.name, 30 * mm),
                _fit(s.role, 22 * mm),
                "active" if s.active else "removed",
                _p(s.fingerprint, self.st["digest"]),
            ]
            for s in self.m.signers
        ]
        self.story += _plain(
            ["Name", "Role", "Status", "Key fingerprint"],
            rows,
            [30 * mm, 22 * mm, 16 * mm, WIDTH - 68 * mm],
            self.st,
        )

    def _lines(self, rows: list[list[str]]) -> None:
        table = Table(
            rows,
            colWidths=[40 * mm, 40 * mm, 30 * mm, WIDTH - 110 * mm],
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

    def signature_lines(self) -> None:
        self.h2("Signatures")
        self._lines(
            [["Name", "Role", "Date", "Signature"]]
            + [[s.name, s.role, "", ""] for s in self.m.signers if s.active]
        )

    def sign_off(self) -> None:
        self.h2("Sign-off")
        self.para(
            "Signed on paper below; the journal itself is signed entry by entry, and this "
            "PDF's SHA-256 is recorded in a signed report.exported entry.",
            "small",
        )
        self._lines(
            [
                ["Capacity", "Name", "Date", "Signature"],
                ["Prepared by (handler)", self.m.handler, "", ""],
                ["Reviewed by", self.t.reviewers, "", ""],
                ["Approved by", "", "", ""],
            ]
        )

    def verification(self) -> None:
        m = self.m
        self.story.append(PageBreak())
        self.h2("Appendix: how to verify this case and this report independently")
        trust = m.opener_fingerprint or "ed25519:<opener fingerprint>"
        self.para(
            "1. Obtain the opener's key fingerprint out of band (not from this report alone), "
            "then verify the case folder: every Ed25519 signature (RFC 8032) over the RFC 8785 "
            "canonical form of each entry, the hash chain, membership and roles, checkpoints "
            "and stored files:"
        )
        self.para(f"irkit verify --case DIR --trust {trust}", "mono")
        self.para(
            f"2. Recompute the RFC 6962 Merkle root of the first {m.size} journal lines, "
            f"{entry_range(m.size)} (leaf = SHA-256(0x00 || line), node = SHA-256(0x01 || "
            f"left || right)); in base64, as a checkpoint file writes it, it must equal "
            f"{m.root_b64} (hex {m.root_hex})."
        )
        self.para(
            "3. The journal holds a signed report.exported entry with this file's SHA-256 and "
            "the same tree size and root. This regenerates the report from the journal and "
            "compares it byte for byte (exit 0 identical, 1 different):"
        )
        self.para("irkit report --case DIR --check THIS-FILE.pdf", "mono")
        self.para(
            "4. Without irkit: this checks one entry's signature with openssl 3, sed and "
            "base64 only (the same recipe as the format description, docs/FORMAT.md §3). "
            "It prints “Signature Verified Successfully”."
        )
        self.story.append(_Code(VERIFY_RECIPE, WIDTH))
        if m.redacted:
            self.para(
                "5. Redacted text is shown as [REDACTED] commit:<hex>, a salted commitment: "
                "SHA-256(field salt || UTF-8 text), where the field salt is HMAC-SHA256(the "
                "entry's salt, the field's name) and the entry's salt is in the signed entry, "
                "never in a report. A reader cannot confirm a guess; whoever holds the journal "
                "can disclose one field's salt and text, and anyone can then check it. Text of "
                "an entry older than salts shows no digest at all."
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
    builder = _Builder(model, template)
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
        keywords=[model.case_id, f"tree-size={model.size}", f"root={model.root_hex}"],
        invariant=1,
        pageCompression=1,
    )
    doc.build(story, canvasmaker=_numbered_canvas(header, model.as_of))
    return buf.getvalue()
