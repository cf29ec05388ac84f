"""The closing sections: backups, members and keys, signature lines, sign-off and the
appendix on verifying the case and the report independently."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Table, TableStyle

from irkit.report.cells import (
    fit_lines,
    paragraph,
    pcell,
    plain,
    row_tables,
    two_lines,
)
from irkit.report.model import entry_range
from irkit.report.pages import FONT, WIDTH, Code

if TYPE_CHECKING:
    from irkit.report.render import Builder

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


def backups(doc: Builder) -> None:
    m = doc.m
    doc.h2(f"Backup verification ({len(m.backups)})")
    if not m.backups:
        doc.para("No backup verification recorded.")
        return
    rows = [
        [
            fit_lines(f"#{b.seq}\n{two_lines(b.at)}", 36 * mm, 6.2),
            fit_lines(b.by, 18 * mm),
            pcell(f"{b.artifact} ({b.kind})" if b.artifact else b.kind, doc.st["cell"], 32 * mm),
            fit_lines(b.verdict + (", signed off" if b.signed_off else ""), 22 * mm),
            pcell(b.detail, doc.st["cell"], WIDTH - 108 * mm),
        ]
        for b in m.backups
    ]
    tables = row_tables(
        ["Recorded", "By", "Artifact", "Verdict", "Every field recorded"],
        rows,
        [36 * mm, 18 * mm, 32 * mm, 22 * mm, WIDTH - 108 * mm],
        doc.st,
    )
    for t in tables:
        t.setStyle(
            TableStyle(
                [("FONT", (0, 1), (-1, -1), FONT, 7, 8.6), ("FONT", (0, 1), (0, -1), FONT, 6.2)]
            )
        )
    doc.story += tables


def backup_pages(doc: Builder) -> None:
    from irkit.report.backupsignoff import pages

    pages(doc)


def signers(doc: Builder) -> None:
    doc.h2("Members and keys")
    rows = [
        [
            fit_lines(s.name, 30 * mm),
            fit_lines(s.role, 22 * mm),
            fit_lines(s.contact or "—", 30 * mm),
            "active" if s.active else "removed",
            paragraph(s.fingerprint, doc.st["digest"]),
        ]
        for s in doc.m.signers
    ]
    doc.story += plain(
        ["Name", "Role", "Contact", "Status", "Key fingerprint"],
        rows,
        [30 * mm, 22 * mm, 30 * mm, 16 * mm, WIDTH - 98 * mm],
        doc.st,
    )


def _lines(doc: Builder, rows: list[list[str]]) -> None:
    table = Table(
        rows,
        colWidths=[40 * mm, 40 * mm, 30 * mm, WIDTH - 110 * mm],
        rowHeights=[None] + [12 * mm] * (len(rows) - 1),
        repeatRows=1,  # a page break never leaves the header row alone
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
    doc.story.append(table)


def signature_lines(doc: Builder) -> None:
    doc.h2("Signatures")
    _lines(
        doc,
        [["Name", "Role", "Date", "Signature"]]
        + [[s.name, s.role, "", ""] for s in doc.m.signers if s.active],
    )


def sign_off(doc: Builder) -> None:
    doc.h2("Sign-off")
    recorded = (
        "this PDF's SHA-256 is recorded in a signed report.exported entry"
        if doc.m.recorded
        else "this PDF is not recorded in the journal (rendered without a member's key)"
    )
    doc.para(
        f"Signed on paper below; the journal itself is signed entry by entry, and {recorded}.",
        "small",
    )
    _lines(
        doc,
        [
            ["Capacity", "Name", "Date", "Signature"],
            ["Prepared by (handler)", doc.m.handler, "", ""],
            ["Reviewed by", doc.t.reviewers, "", ""],
            ["Approved by", "", "", ""],
        ],
    )


def verification(doc: Builder) -> None:
    m = doc.m
    doc.story.append(PageBreak())
    doc.h2("Appendix: how to verify this case and this report independently")
    trust = m.opener_fingerprint or "ed25519:<opener fingerprint>"
    doc.para(
        "1. Obtain the opener's key fingerprint out of band (not from this report alone), "
        "then verify the case folder: every Ed25519 signature (RFC 8032) over the RFC 8785 "
        "canonical form of each entry, the hash chain, membership and roles, checkpoints "
        "and stored files:"
    )
    doc.para(f"irkit verify --case DIR --trust {trust}", "mono")
    doc.para(
        f"2. Recompute the RFC 6962 Merkle root of the first {m.size} journal lines, "
        f"{entry_range(m.size)} (leaf = SHA-256(0x00 || line), node = SHA-256(0x01 || "
        f"left || right)); in base64, as a checkpoint file writes it, it must equal "
        f"{m.root_b64} (hex {m.root_hex})."
    )
    held = (
        "The journal holds a signed report.exported entry with this file's SHA-256 and "
        "the same tree size and root."
        if m.recorded
        else "No journal entry records this file (it was rendered without a member's key)."
    )
    doc.para(
        f"3. {held} This regenerates the report from the journal's first {m.size} entries "
        "(the journal may have grown since) and compares it byte for byte (exit 0 "
        "identical, 1 different):"
    )
    doc.para("irkit report --case DIR --check THIS-FILE.pdf", "mono")
    doc.para(
        "4. Without irkit: this checks one entry's signature with openssl 3, sed and "
        "base64 only (the same recipe as the format description, docs/FORMAT.md §3). "
        "It prints “Signature Verified Successfully”."
    )
    doc.story.append(Code(VERIFY_RECIPE, WIDTH))
    if m.redacted:
        doc.para(
            "5. Redacted text is shown as [REDACTED] commit:<hex>, a salted commitment: "
            "SHA-256(field salt || UTF-8 text), where the field salt is HMAC-SHA256(the "
            "entry's salt, the field's name) and the entry's salt is in the signed entry, "
            "never in a report. A reader cannot confirm a guess; whoever holds the journal "
            "can disclose one field's salt and text, and anyone can then check it. Text of "
            "an entry older than salts shows no digest at all."
        )
    doc.para(
        "Fonts: DejaVu Sans (Latin, Greek, Cyrillic and more). CJK ideographs are not in "
        "DejaVu and print as empty boxes; the journal keeps the exact text.",
        "small",
    )
