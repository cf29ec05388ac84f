"""Export a report and record it: the signed `report.exported` entry ties a PDF to the journal.

The PDF is made from the journal as it was before the entry that records it, so anyone can
regenerate it from that prefix (`irkit report --check`) and compare bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from irkit.errors import InputError, IrkitError
from irkit.record.bodies import Body, Label, SafeInt, Sha256Hex
from irkit.record.entry import Entry
from irkit.report.model import REPORT_KIND

RootHex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class ReportExported(Body):
    pdf_sha256: Sha256Hex
    template: Label
    redacted: bool
    checkpoint_size: SafeInt  # journal entries the report shows (entries 0..size-1)
    checkpoint_root: RootHex  # RFC 6962 Merkle root over those entries' lines


@dataclass(frozen=True)
class Exported:
    pdf: bytes
    sha256: str
    entry: Entry


def render(entries: Sequence[Entry], template_name: str, redact: bool, case: Any = None) -> bytes:
    from irkit.report import model, render, templates

    template = templates.load(template_name)
    built = model.build(entries, redact=redact)
    if "backup_pages" in template.sections:  # each verification's stored result, by digest
        from irkit.report import backupsignoff

        built.backup_bodies = {e.seq: e.body for e in entries if e.kind == "backup.verified"}
        if case is not None:
            built.backup_results = backupsignoff.load_results(case, entries)
    return render.render_pdf(built, template)


def export(
    case: Any, signer: Any, template_name: str, redact: bool, out: Path, **kw: Any
) -> Exported:
    """Render from the current journal, write the PDF to `out`, and only then append the
    signed record of what was written: the record follows the fact. A failed write records
    nothing; a failed append after the write says that the file exists unrecorded."""
    from irkit.record import safefile
    from irkit.report import templates

    case.check_signer(signer, REPORT_KIND)
    templates.load(template_name)
    result = case.read_entries()
    if result.torn is not None or result.problems:
        raise InputError("the journal has unreadable lines; run `irkit verify` first")
    entries = result.entries
    pdf = render(entries, template_name, redact, case)
    digest = hashlib.sha256(pdf).hexdigest()
    from irkit.formats import merkle

    root = merkle.root([merkle.leaf_hash(e.line) for e in entries])
    if templates.is_path(template_name):  # --check finds the file wherever it runs from
        template_name = str(Path(template_name).resolve())
    body = {
        "pdf_sha256": digest,
        "template": template_name,
        "redacted": redact,
        "checkpoint_size": len(entries),
        "checkpoint_root": root.hex(),
    }
    try:
        safefile.atomic_write(out, pdf)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}; nothing was recorded") from exc
    try:
        entry = case.append(signer, REPORT_KIND, body, **kw)
    except (IrkitError, OSError) as exc:
        why = exc.message if isinstance(exc, IrkitError) else (exc.strerror or str(exc))
        raise InputError(
            f"wrote {out}, but could not record it in the journal: {why}",
            hint="the file is not recorded as exported; export again once this is fixed",
        ) from exc
    return Exported(pdf, digest, entry)


@dataclass(frozen=True)
class CheckResult:
    identical: bool
    size: int
    template: str
    redacted: bool
    matched_entry: int | None  # seq of the report.exported entry naming this PDF


def check(case: Any, pdf: bytes, template_name: str, redact: bool) -> CheckResult:
    """Regenerate the report this PDF claims to be and compare bytes.

    A `report.exported` entry with the PDF's digest names the prefix, template and redaction;
    without one, the current journal with the given template and flag is tried.
    """
    entries = case.read_entries().entries
    digest = hashlib.sha256(pdf).hexdigest()
    for e in entries:
        if e.kind == REPORT_KIND and e.body.get("pdf_sha256") == digest:
            size = int(e.body["checkpoint_size"])
            name, red = str(e.body["template"]), bool(e.body["redacted"])
            again = render(entries[:size], name, red, case)
            return CheckResult(again == pdf, size, name, red, e.seq)
    again = render(entries, template_name, redact, case)
    return CheckResult(again == pdf, len(entries), template_name, redact, None)


def verify_rule(entry: Entry, ctx: Any) -> None:
    """A report.exported entry must name a prefix before it, with that prefix's true root."""
    from irkit.formats import merkle

    size = int(entry.body["checkpoint_size"])
    if size > entry.seq:
        ctx.problem(
            entry.seq, "report-prefix", f"report claims {size} entries before entry {entry.seq}"
        )
        return
    lines = [ctx.seen[i].line for i in range(size) if i in ctx.seen]
    if len(lines) != size:
        ctx.warn(entry.seq, "report-prefix", "an entry of the report's prefix could not be read")
        return
    if merkle.root([merkle.leaf_hash(x) for x in lines]).hex() != entry.body["checkpoint_root"]:
        ctx.problem(entry.seq, "report-root", "report.exported names a root the journal lacks")
