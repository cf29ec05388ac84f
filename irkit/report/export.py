"""Export a report and record it: the signed `report.exported` entry ties a PDF to the journal.

The PDF is made from the journal as it was before the entry that records it, so anyone can
regenerate it from that prefix (`irkit report --check`) and compare bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from irkit.errors import InputError, IrkitError
from irkit.record.bodies import Body, Label, SafeInt, Sha256Hex
from irkit.record.entry import Entry
from irkit.record.kindspec import Context, KindSpec, no_summary
from irkit.report.model import REPORT_KIND, entry_range

if TYPE_CHECKING:
    from irkit.formats.ed25519 import Signer
    from irkit.record.case import Case

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


def render(
    entries: Sequence[Entry],
    template_name: str,
    redact: bool,
    case: Case | None = None,
    *,
    recorded: bool = True,
) -> bytes:
    """The PDF of this journal prefix. `recorded`: whether a signed report.exported entry
    records it (a member's export) or not (a non-member's copy, `--no-record`); the PDF
    says which, so the two are different files."""
    from irkit.report import model, render, templates

    template = templates.load(template_name)
    built = model.build(entries, redact=redact)
    built.recorded = recorded
    if "backup_pages" in template.sections:  # each verification's stored result, by digest
        from irkit.report import backupsignoff

        built.backup_bodies = {e.seq: e.body for e in entries if e.kind == "backup.verified"}
        if case is not None:
            built.backup_results = backupsignoff.load_results(case, entries)
    return render.render_pdf(built, template)


def _entries(case: Case) -> list[Entry]:
    result = case.read_entries()
    if result.torn is not None or result.problems:
        raise InputError("the journal has unreadable lines; run `irkit verify` first")
    return list(result.entries)


def write_unrecorded(case: Case, template_name: str, redact: bool, out: Path) -> tuple[bytes, str]:
    """Render from the current journal and write the PDF, recording nothing: anyone with a
    copy of the case (a clone, a member's folder) can, without a key. The PDF says it is
    not recorded; `check` still proves it is what the journal's prefix produces."""
    from irkit.record import safefile
    from irkit.report import templates

    templates.load(template_name)
    pdf = render(_entries(case), template_name, redact, case, recorded=False)
    try:
        safefile.atomic_write(out, pdf)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}") from exc
    return pdf, hashlib.sha256(pdf).hexdigest()


def export(
    case: Case, signer: Signer, template_name: str, redact: bool, out: Path, **kw: Any
) -> Exported:
    """Render from the current journal, write the PDF to `out`, and only then append the
    signed record of what was written: the record follows the fact. A failed write records
    nothing; a failed append after the write says that the file exists unrecorded."""
    from irkit.record import safefile
    from irkit.report import templates

    case.check_signer(signer, REPORT_KIND)
    templates.load(template_name)
    entries = _entries(case)
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
    recorded: bool = True  # the PDF says a report.exported entry records it
    reason: str = ""  # why it is different, when that is known before comparing bytes


@dataclass(frozen=True)
class Shown:
    """What a PDF's metadata says it shows (its Keywords): the journal prefix and root, and,
    since this version, the template, redaction and whether it is recorded."""

    size: int
    root_hex: str
    template: str | None
    redacted: bool | None
    recorded: bool | None


_KEYWORDS = re.compile(rb"/Keywords \(([^()\\]{0,2000})\)")


def shown(pdf: bytes) -> Shown | None:
    """The prefix a PDF claims to show, read from its document information (uncompressed in
    every PDF irkit writes); None for a file that does not say. A claim is only a hint:
    `check` regenerates the PDF from the journal and compares bytes."""
    for found in _KEYWORDS.finditer(pdf):
        words = dict(
            w.split("=", 1) for w in found.group(1).decode("latin-1").split(", ") if "=" in w
        )
        size, root = words.get("tree-size", ""), words.get("root", "")
        if not (size.isdigit() and re.fullmatch(r"[0-9a-f]{64}", root)):
            continue
        yes_no = {"yes": True, "no": False}
        return Shown(
            int(size),
            root,
            words.get("template"),
            yes_no.get(words.get("redacted", "")),
            yes_no.get(words.get("recorded", "")),
        )
    return None


def check(
    case: Case, pdf: bytes, template_name: str | None = None, redact: bool | None = None
) -> CheckResult:
    """Regenerate the report this PDF claims to be and compare bytes.

    A `report.exported` entry with the PDF's digest names the prefix, template and redaction.
    Without one (a non-member's copy, an export not yet pulled here), the PDF's own metadata
    names them: the journal must hold that prefix, with that root, at any later size.
    `template_name` and `redact` override what the PDF says; a PDF that says nothing is
    compared with the whole current journal.
    """
    from irkit.formats import merkle
    from irkit.report import templates

    entries = _entries(case)
    digest = hashlib.sha256(pdf).hexdigest()
    for e in entries:
        if e.kind == REPORT_KIND and e.body.get("pdf_sha256") == digest:
            size = int(e.body["checkpoint_size"])
            name, red = str(e.body["template"]), bool(e.body["redacted"])
            again = render(entries[:size], name, red, case)
            return CheckResult(again == pdf, size, name, red, e.seq)
    claim = shown(pdf)
    if claim is None:
        name, red = template_name or "incident", bool(redact)
        again = render(entries, name, red, case)
        return CheckResult(again == pdf, len(entries), name, red, None)
    name = template_name or claim.template or "incident"
    red = bool(claim.redacted if redact is None else redact)
    recorded = claim.recorded is not False
    if name.startswith("file:"):
        return CheckResult(
            False,
            claim.size,
            name,
            red,
            None,
            recorded,
            f"the PDF was made with the template file {name[5:]}.toml: give it with --template",
        )
    if claim.size > len(entries):
        return CheckResult(
            False,
            claim.size,
            name,
            red,
            None,
            recorded,
            f"the PDF shows {claim.size} entries and this journal has only {len(entries)}: "
            "pull or sync the case first",
        )
    prefix = entries[: claim.size]
    root = merkle.root([merkle.leaf_hash(e.line) for e in prefix]) if prefix else b""
    if root.hex() != claim.root_hex:
        return CheckResult(
            False,
            claim.size,
            name,
            red,
            None,
            recorded,
            f"this journal's {entry_range(claim.size)} have a different Merkle root from the "
            "one the PDF shows: it is not the journal the PDF was made from",
        )
    templates.load(name)
    again = render(prefix, name, red, case, recorded=recorded)
    return CheckResult(again == pdf, claim.size, name, red, None, recorded)


def verify_rule(entry: Entry, ctx: Context) -> None:
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


KIND_SPECS = (KindSpec(REPORT_KIND, ReportExported, verify_rule, no_summary),)
