"""Evidence: the inventory, the custody log, and one chain-of-custody form per item."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Spacer, TableStyle

from irkit.report.cells import (
    SMALL6,
    SMALL7,
    fit_lines,
    grid,
    headline,
    pcell,
    row_tables,
    two_lines,
)
from irkit.report.pages import FONT, WIDTH

if TYPE_CHECKING:
    from irkit.report.render import Builder


def evidence(doc: Builder) -> None:
    m = doc.m
    doc.h2(f"Evidence ({len(m.evidence)})")
    if not m.evidence:
        doc.para("No evidence recorded.")
        return
    doc.para(
        "When, where and by whom each batch was collected: see the custody entries "
        "(one row per collection, with its description). Digests are printed whole on "
        "one line.",
        "intro",
    )
    path_width = WIDTH - 122 * mm
    rows = [
        [
            e.id,
            fit_lines(
                e.path
                + (f"\nexact name bytes (base64): {e.path_b64}" if e.path_b64 else "")
                + ("" if e.stored else "\n(by reference: hashed in place, not copied)")
                + "".join(f"\nnow at {r}" for r in m.relocations.get(e.id, ()))
                + (f"\n{e.description}" if e.description else ""),
                path_width,
            ),
            str(e.size),
            f"{e.sha256}\nMD5 {e.md5}" if e.md5 else e.sha256,
        ]
        for e in m.evidence
    ]
    tables = row_tables(
        ["Item", "Path as collected", "Bytes", "SHA-256 (MD5 when computed)"],
        rows,
        [14 * mm, path_width, 16 * mm, 92 * mm],
        doc.st,
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
    doc.story += tables
    _file_metadata(doc)


def _file_metadata(doc: Builder) -> None:
    """Per-file metadata the journal records, one row per item (a folder collection's many
    files fit here rather than in the inventory), and what a collection did not take."""
    m = doc.m
    doc.h3("File metadata as collected", listed=False)
    doc.para(
        "Permission bits (octal), owner and the three file times as the collecting machine "
        "saw them; the source system is named where the collector said which it was.",
        "intro",
    )
    time_width = (WIDTH - 62 * mm) / 3
    rows = [
        [
            e.id,
            e.mode,
            fit_lines(f"uid {e.uid}\ngid {e.gid}", 16 * mm),
            fit_lines(two_lines(e.mtime), time_width, 6.2),
            fit_lines(two_lines(e.ctime), time_width, 6.2),
            fit_lines(two_lines(e.atime), time_width, 6.2),
            fit_lines(
                (f"from {e.source_host}\n" if e.source_host else "")
                + ("copied" if e.stored else "by reference"),
                20 * mm,
            ),
        ]
        for e in m.evidence
    ]
    doc.story.append(
        grid(
            ["Item", "Mode", "Owner", "Modified", "Changed (ctime)", "Accessed", "Kept"],
            rows,
            [14 * mm, 12 * mm, 16 * mm, time_width, time_width, time_width, 20 * mm],
            [SMALL7, SMALL7, SMALL7, SMALL6, SMALL6, SMALL6, SMALL7],
        )
    )
    _sources(doc)
    if m.skipped:
        doc.h3("Paths met and not collected", listed=False)
        width = WIDTH - 52 * mm
        doc.story.append(
            grid(
                ["Entry", "What", "Path"],
                [
                    [f"#{seq}", fit_lines(what, 40 * mm), fit_lines(path, width)]
                    for seq, path, what in m.skipped
                ],
                [12 * mm, 40 * mm, width],
                [SMALL7, SMALL7, SMALL7],
            )
        )


def _sources(doc: Builder) -> None:
    """The source system of each collection that identified one beyond its host name
    (NIST SP 800-61r2 §3.3.2: serial number, model, MAC and IP addresses), one row each."""
    seen: dict[int, list[str]] = {}
    for e in doc.m.evidence:
        if e.collected_seq in seen or not (
            e.source_serial or e.source_model or e.source_mac or e.source_ip
        ):
            continue
        seen[e.collected_seq] = [
            f"#{e.collected_seq}",
            fit_lines(e.source_host or "—", 26 * mm),
            fit_lines(e.source_serial or "—", 26 * mm),
            fit_lines(e.source_model or "—", 30 * mm),
            fit_lines(e.source_mac.replace(", ", ",\n") or "—", 28 * mm),
            fit_lines(e.source_ip.replace(", ", ",\n") or "—", WIDTH - 122 * mm),
        ]
    if not seen:
        return
    doc.h3("Source systems as identified", listed=False)
    doc.story.append(
        grid(
            ["Entry", "Host", "Serial no.", "Model", "MAC addresses", "IP addresses"],
            list(seen.values()),
            [12 * mm, 26 * mm, 26 * mm, 30 * mm, 28 * mm, WIDTH - 122 * mm],
            [SMALL7] * 6,
        )
    )


def custody(doc: Builder) -> None:
    m = doc.m
    doc.h2("Chain of custody")
    if not m.custody_log:
        doc.para("No custody recorded.")
        return
    doc.para(
        "One row per signed custody entry; the custody template prints one form per item.",
        "intro",
    )
    rows = [
        [
            f"#{r.seq}",
            fit_lines(two_lines(r.at), 36 * mm, 6.2),
            r.step,
            fit_lines(r.by, 20 * mm),
            pcell(r.items, doc.st["cell"], 30 * mm),
            pcell(r.detail, doc.st["cell"], WIDTH - 114 * mm),
        ]
        for r in m.custody_log
    ]
    tables = row_tables(
        ["Entry", "Recorded", "Step", "By", "Items", "Detail"],
        rows,
        [12 * mm, 36 * mm, 16 * mm, 20 * mm, 30 * mm, WIDTH - 114 * mm],
        doc.st,
    )
    for t in tables:
        t.setStyle(
            TableStyle(
                [("FONT", (0, 1), (3, -1), FONT, 7, 8.6), ("FONT", (1, 1), (1, -1), FONT, 6.2)]
            )
        )
    doc.story += tables


def custody_forms(doc: Builder) -> None:
    from irkit.report.figures import custody_chain

    m = doc.m
    if m.custody:  # the heading and its note open the first form's page
        doc.story.append(PageBreak())
    doc.h2(f"Chain-of-custody forms ({len(m.custody)})")
    if not m.custody:
        doc.para("No evidence recorded, so no custody forms.")
        return
    local = f" in the case's zone ({m.zone})" if m.zone != "UTC" else ""
    doc.para(
        "One form per item, with the fields NIST SP 800-61 rev. 2 §3.3.2 lists for evidence. "
        f"Times are the journal's recorded times{local}, with UTC. A person is "
        "recorded by name, role (title), contact and the fingerprint of the key that signed. "
        "A contact, serial or model number or MAC/IP address the record does not give says "
        '"not recorded": add it by hand if known.',
        "intro",
    )
    listed = len(m.custody) <= 200  # the contents stay a page or two
    for n, form in enumerate(m.custody):
        e = form.item
        start = len(doc.story)
        title = f"{e.id} — {headline(e.description)}" if e.description else e.id
        doc.h3(title, listed=listed)
        doc.kv_grid(
            [
                ("Item", e.id),
                ("Description", e.description or "not recorded"),
                ("Source host", e.source_host or f"not recorded (collected on {e.host})"),
                ("Collected on (machine)", e.host or "not recorded"),
                (
                    "Source path",
                    e.path + (f"\n(name bytes, base64: {e.path_b64})" if e.path_b64 else ""),
                ),
                ("Collected at (location)", e.location or "not recorded"),
                ("Size", f"{e.size} bytes"),
                ("File modified", e.mtime or "not recorded"),
                ("File changed (ctime)", e.ctime or "not recorded"),
                ("File accessed", e.atime or "not recorded"),
                ("Permissions, owner", f"mode {e.mode}, uid {e.uid}, gid {e.gid}"),
                (
                    "Kept",
                    "copy in the case evidence store"
                    if e.stored
                    else "by reference (hashed in place at the source path, not copied; "
                    "irkit evidence check re-hashes it there)",
                ),
                *(
                    [("Relocated to", "\n".join(m.relocations[e.id]))]
                    if e.id in m.relocations
                    else []
                ),
                ("SHA-256", e.sha256),
                ("MD5", e.md5 or "not computed"),
                ("Serial no.", e.source_serial or "not recorded"),
                ("Model", e.source_model or "not recorded"),
                ("MAC addresses", e.source_mac or "not recorded"),
                ("IP addresses", e.source_ip or "not recorded"),
                ("Collected", f"{e.collected} by {e.by} (journal entry #{e.collected_seq})"),
            ]
        )
        doc.story.append(Spacer(0, 1.5 * mm))
        people = [
            [
                fit_lines(s.name, 40 * mm),
                fit_lines(s.role, 24 * mm),
                fit_lines(s.contact or "not recorded", 22 * mm),
                fit_lines(s.fingerprint, WIDTH - 86 * mm, 6.2),
            ]
            for s in form.handlers
        ]
        doc.story.append(
            grid(
                ["Handled by (name)", "Title (role)", "Contact", "Key fingerprint"],
                people,
                [40 * mm, 24 * mm, 22 * mm, WIDTH - 86 * mm],
                [SMALL7, SMALL7, SMALL7, SMALL6],
            )
        )
        doc.story.append(Spacer(0, 1.5 * mm))
        note_width = WIDTH - 130 * mm
        rows = [
            [
                fit_lines(two_lines(v.at), 38 * mm, 6.2),
                v.step,
                fit_lines(v.giver or "—", 24 * mm),
                fit_lines(v.receiver or "—", 24 * mm),
                fit_lines(
                    f"{v.purpose}\nlocation: {v.location}\ncondition: {v.condition}",
                    note_width,
                ),
                fit_lines(f"{v.signature} (#{v.seq})\n{v.signer}", 30 * mm, 6.2),
            ]
            for v in form.events
        ]
        doc.story.append(
            grid(
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
                [SMALL6, SMALL7, SMALL7, SMALL7, SMALL7, SMALL6],
            )
        )
        doc.story.append(Spacer(0, 1.5 * mm))
        if form.problems:
            verdict = "PROBLEMS: " + "; ".join(form.problems)
        else:
            verdict = (
                f"custody chain verified: {len(form.events)} events, every signature valid, "
                "every step allowed by the custody rules, every recorded re-hash matched"
            )
        doc.kv_grid(
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
            doc.story += [Spacer(0, 2 * mm), custody_chain(form, WIDTH)]
        # one form per page, as paper custody forms are (a long chain flows on); a page
        # break is also far cheaper than KeepTogether, which lays each form out twice
        if n:
            doc.story.insert(start, PageBreak())
