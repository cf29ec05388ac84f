"""The front of a report: cover, contents, document control, the checkpoint it shows."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Spacer, Table, TableStyle

from irkit.report.cells import (
    paragraph,
)
from irkit.report.model import entry_range, human_time
from irkit.report.pages import WIDTH, Contents, qr

if TYPE_CHECKING:
    from irkit.report.render import Builder

SECTION_TITLES = {
    "incident": "incident lifecycle",
    "record": "case record",
    "notes": "notes",
    "evidence": "evidence inventory",
    "custody": "custody log",
    "backups": "backup verifications",
}


def summary(doc: Builder) -> None:
    m = doc.m
    if doc.t.logo:
        from reportlab.lib.utils import ImageReader
        from reportlab.platypus import Image

        width, height = ImageReader(io.BytesIO(doc.t.logo)).getSize()
        side = 16 * mm
        scale = min(side * 3 / width, side / height)
        logo = Image(io.BytesIO(doc.t.logo), width * scale, height * scale)
        logo.hAlign = "LEFT"
        doc.story += [logo, Spacer(0, 2 * mm)]
    doc.story.append(paragraph(doc.t.title, doc.st["h1"]))
    doc.story.append(Spacer(0, 3 * mm))
    side = 30 * mm  # the cover carries the checkpoint's QR code (origin, size, root)
    facts = doc.kv(
        [
            ("Organisation", doc.t.organisation),
            ("Case", m.case_id),
            ("Title", m.title),
            (
                "Journal shown",
                f"{entry_range(m.size)}, last recorded {human_time(m.as_of, m.zone)}",
            ),
            ("Merkle root", m.root_b64),
            ("Incident state", m.state),
            ("Classification", doc.t.marking(m.redacted)),
            (
                "Redacted",
                "yes: confidential text replaced by a salted commitment"
                if m.redacted
                else "no: contains confidential material",
            ),
            ("Export", m.export_record),
        ],
        width=WIDTH - side - 4 * mm,
        add=False,
    )
    cover = Table([[facts, qr(m.checkpoint_text, side)]], colWidths=[WIDTH - side, side])
    cover.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    doc.story.append(cover)
    missing = [SECTION_TITLES[s] for s in SECTION_TITLES if s not in doc.t.sections]
    if missing:
        doc.para(
            "Left out of this template by design: " + ", ".join(missing) + ". The incident "
            "template shows them.",
            "small",
        )


def contents(doc: Builder) -> None:
    doc.h2("Contents", listed=False)
    doc.story.append(Contents(doc.toc, doc.marks))
    doc.story.append(PageBreak())


def document_control(doc: Builder) -> None:
    m, t = doc.m, doc.t
    doc.h2("Document control")
    earlier = "; ".join(f"#{seq} {at}: {what}, sha256 {sha}" for seq, at, what, sha in m.exports)
    doc.kv(
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
            ("This export", m.export_record),
        ]
    )


def checkpoint(doc: Builder) -> None:
    m = doc.m
    doc.h2("Checkpoint this report shows")
    doc.para(
        "The report shows exactly the journal prefix below. Compare it with a signed "
        "checkpoint (irkit checkpoint) or scan the QR code, which holds the same text.",
        "intro",
    )
    side = 34 * mm
    drawing = qr(m.checkpoint_text, side)
    text = Table(
        [
            [paragraph("Origin", doc.st["head"]), paragraph(m.origin, doc.st["mono"])],
            [paragraph("Tree size", doc.st["head"]), paragraph(str(m.size), doc.st["mono"])],
            [paragraph("Root", doc.st["head"]), paragraph(m.root_b64, doc.st["digest"])],
            [paragraph("Root (hex)", doc.st["head"]), paragraph(m.root_hex, doc.st["digest"])],
        ],
        colWidths=[22 * mm, WIDTH - side - 30 * mm],
    )
    outer = Table([[drawing, text]], colWidths=[side + 6 * mm, WIDTH - side - 6 * mm])
    outer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    doc.story.append(outer)
