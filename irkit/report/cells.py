"""Table cells and tables for reports: text broken to a column, cells taller than a page
continued in further rows, page-sized tables, and `Grid`, plain-string tables drawn straight on
the canvas.

Long tables are split into page-sized tables because reportlab's table layout cost grows
faster than linearly with rows.
"""

from __future__ import annotations

import functools
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from irkit.formats.timefmt import zoned_instant
from irkit.report.pages import FONT, FONT_BOLD

ROWS_PER_TABLE = 40  # about a page: keeps table layout cost linear in the number of rows
# A table row cannot break across pages, so no cell may be taller than a page (reportlab's
# LayoutError "Flowable too large"): text taller than this goes on in continuation rows.
CELL_HEIGHT = 330.0  # points: under half the frame, whatever sits above the row
CELL_LINES = 34  # lines of a plain-string cell (leading at most 9.2): under CELL_HEIGHT
PAD = 5.0  # `row_tables`'s left + right cell padding
KV_PAD = 12.0  # reportlab's default left + right cell padding (kv tables)


def row_tables(
    head: list[str],
    rows: list[list[Any]],
    widths: list[float],
    st: dict[str, ParagraphStyle],
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
    header = [fit_bold(h, w) for h, w in zip(head, widths, strict=True)]
    rows = split_tall(rows, widths, PAD)
    out: list[Flowable] = []
    # a heading kept with the first table stays on its page when rows fit below it
    # (pages.KeepHeading), so every table is page-sized
    starts = list(range(0, len(rows), ROWS_PER_TABLE))
    for start, stop in zip(starts, [*starts[1:], len(rows)], strict=True):
        chunk = rows[start:stop]
        out.append(Table([header, *chunk], colWidths=widths, repeatRows=1, style=style))
    return out


def cell_parts(cell: Any, width: float) -> list[Any] | None:
    """`cell` cut into pieces no taller than CELL_HEIGHT, or None when it fits whole.

    Plain strings (already broken into lines by `fit_lines`) are cut every CELL_LINES lines;
    Paragraphs by reportlab's own split, which keeps the markup (strike, bold) of each part.
    Short cells, nearly all of them, are never measured.
    """
    if isinstance(cell, list):  # already cut where it was built (`pcell`, `cell_texts`)
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


def split_tall(rows: list[list[Any]], widths: list[float], pad: float) -> list[list[Any]]:
    """Rows whose text would be taller than a page, continued in further rows: any note,
    path or field renders, whatever its size. Rows that fit are returned unchanged, so the
    layout (and the PDF bytes) of every report that rendered before stays the same."""
    out: list[list[Any]] = []
    for row in rows:
        parts = [cell_parts(cell, w - pad) for cell, w in zip(row, widths, strict=False)]
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


def cell_texts(text: str, width: float, size: float = 7.5) -> list[str] | None:
    """`text` as pieces of at most CELL_LINES lines of a `width` column, or None when it is
    short enough for one cell. For Paragraph cells: cutting the text before it is marked up
    costs one pass, where cutting a laid-out Paragraph again and again costs one layout of
    the remainder per piece. Pieces keep the text's own line breaks and cut an unbreakable
    run (a path, a digest) where `fit_lines` would."""
    if len(text) < 300 and text.count("\n") < CELL_LINES:
        return None
    lines = fit_lines(text, width, size).split("\n")
    if len(lines) <= CELL_LINES:
        return None
    return ["\n".join(lines[i : i + CELL_LINES]) for i in range(0, len(lines), CELL_LINES)]


def pcell(text: str, style: ParagraphStyle, width: float) -> list[Paragraph]:
    """`paragraph` for a table cell of a `width` column: one Paragraph, or several when the text is
    taller than a page (`split_tall` puts them in continuation rows)."""
    pieces = cell_texts(text, width, style.fontSize)
    return [paragraph(piece, style) for piece in pieces or [text]]


def two_lines(when: str) -> str:
    """A zoned time for a narrow column: local time, then its UTC reading below."""
    return when.replace(" (", "\n(", 1)


def out_of_range(event_time: str) -> str:
    """A marker for an event time outside 1970..9998 that an older version accepted: shown
    as recorded, placed by its recorded time."""
    return "" if zoned_instant(event_time) is not None else "\n(out of range)"


def headline(text: str, limit: int = 120) -> str:
    """Recorded text as a one-line heading (and bookmark): a heading must not outgrow a
    page; the whole text is in the table below it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


@functools.lru_cache(maxsize=65536)
def _width(word: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(word, FONT, size))


def fit_lines(text: str, width: float, size: float = 7) -> str:
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


def fit_bold(text: str, width: float) -> str:
    """`fit_lines` for a bold 7.5-point header cell (bold glyphs are wider)."""
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


def plain(
    head: list[str],
    rows: list[list[str]],
    widths: list[float],
    st: dict[str, ParagraphStyle],
    size: float = 7,
) -> list[Flowable]:
    """Like `row_tables` for cells that need no wrapping: plain strings are laid out several
    times faster than Paragraphs, which matters with tens of thousands of rows."""
    tables = row_tables(head, rows, widths, st)
    for t in tables:
        t.setStyle(TableStyle([("FONT", (0, 1), (-1, -1), FONT, size, size + 1.6)]))
    return tables


# (font, size, leading) of `Grid` columns, as `plain` and `Builder.kv_grid` set them
SMALL7 = (FONT, 7.0, 8.6)
SMALL6 = (FONT, 6.2, 8.0)
KV_KEY = (FONT_BOLD, 7.5, 9.2)
KV_VALUE = (FONT, 7.5, 9.2)


class Grid(Flowable):  # type: ignore[misc]
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
        heights: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.head = head
        self.rows = rows
        self.widths = widths
        self.fonts = fonts
        self.kv = kv  # kv: reportlab's default padding, a rule below each row; else a grid
        self.pad = (6.0, 3.0, 3.0) if kv else (2.5, 1.5, 2.0)  # left/right, top, bottom
        self.head_h = self._row_height(head, [self.HEAD] * len(widths)) if head else 0.0
        # measured once: a split hands each part its rows' heights (a 10,000-row table is
        # split page by page, and measuring the rest again each time was quadratic)
        self.heights = (
            heights if heights is not None else [self._row_height(r, fonts) for r in rows]
        )
        self.total = sum(self.heights)

    def _row_height(self, row: list[str], fonts: list[tuple[str, float, float]]) -> float:
        lines = max((cell.count("\n") + 1) * f[2] for cell, f in zip(row, fonts, strict=True))
        return float(lines + self.pad[1] + self.pad[2])

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = sum(self.widths)
        self.height = self.head_h + self.total
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        used, fit = self.head_h, 0
        for h in self.heights:
            if used + h > avail_height:
                break
            used, fit = used + h, fit + 1
        if fit == 0 or fit == len(self.rows):
            return []
        cut = self.heights
        return [
            Grid(
                self.head, self.rows[:fit], self.widths, self.fonts, kv=self.kv, heights=cut[:fit]
            ),
            Grid(
                self.head, self.rows[fit:], self.widths, self.fonts, kv=self.kv, heights=cut[fit:]
            ),
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


def grid(
    head: list[str] | None,
    rows: list[list[str]],
    widths: list[float],
    fonts: list[tuple[str, float, float]],
    *,
    kv: bool = False,
) -> Grid:
    """`plain` (or `Builder.kv_grid`) as one `Grid`; tall cells continue in further rows."""
    pad = KV_PAD if kv else PAD
    header = [fit_bold(h, w) for h, w in zip(head, widths, strict=True)] if head else None
    return Grid(header, split_tall(rows, widths, pad), widths, fonts, kv=kv)
