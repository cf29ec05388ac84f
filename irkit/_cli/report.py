"""`irkit report`: write a reproducible PDF and record it; or check a PDF against the case."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from irkit._cli._common import (
    case_option,
    default_key_path,
    echo,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_json,
)
from irkit.errors import InputError, ProblemsFound

if TYPE_CHECKING:
    from irkit.formats.ed25519 import Signer
    from irkit.record.case import Case


@click.command("report")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the PDF (default: reports/report-CASE.pdf in the case folder).",
)
@click.option(
    "--template",
    "template_name",
    default=None,
    help="Report template (default: incident; with --check, the one the PDF names): "
    "incident (full report with contents), custody (one chain-of-custody form per item), "
    "backup-signoff; a NAME from $IRKIT_HOME/templates/reports/; or a PATH.toml of your "
    "organisation's own (keys: title, organisation, classification, "
    "redacted_classification, tlp, reviewers, distribution, logo, sections).",
)
@click.option(
    "--redact",
    is_flag=True,
    default=None,
    help="Withhold what is marked confidential (notes, their corrections, and those notes "
    "wherever a section quotes them); each shows as a salted commitment.",
)
@click.option(
    "--no-record",
    is_flag=True,
    help="Write the PDF without recording it in the journal (no key needed; the PDF says "
    "it is not recorded). Without a member's key on this machine this is what happens.",
)
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Do not export: regenerate the journal prefix FILE shows and say whether FILE is "
    "byte-identical (exit 0/1); the journal may have grown since.",
)
@case_option
@key_options
@json_option
def report_cmd(
    out: Path | None,
    template_name: str | None,
    redact: bool | None,
    no_record: bool,
    check_file: Path | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Export the case as a PDF tied to the signed journal.

    The PDF is a pure function of the journal and template. A member's export appends a
    signed `report.exported` entry with the PDF's SHA-256 and the journal size and Merkle
    root it shows; anyone else (or `--no-record`) gets the same report marked as not
    recorded, and the journal is left as it was. `--check FILE` regenerates a PDF to prove
    FILE is exactly what the case produces.
    """
    from irkit.report import export, templates

    case = open_case(case_dir)
    if check_file is not None:
        _check(case, check_file, template_name, redact, as_json)
        return
    name = template_name or "incident"
    red = bool(redact)
    templates.load(name)
    target = _target(case, name, red, out)
    signer, why = (None, "--no-record") if no_record else _member(case, key_path, passphrase_file)
    if signer is None:
        _pdf, digest = export.write_unrecorded(case, name, red, target)
        if as_json:
            print_json(
                {"path": str(target.absolute()), "sha256": digest, "recorded": False, "why": why}
            )
            return
        echo(f"wrote {target.absolute()} (sha256 {digest}), not recorded in the journal: {why}")
        return
    done = export.export(case, signer, name, red, target)
    if as_json:
        print_json(
            {
                "path": str(target.absolute()),
                "sha256": done.sha256,
                "recorded": True,
                "entry": done.entry.seq,
            }
        )
        return
    echo(f"wrote {target.absolute()} (sha256 {done.sha256}), recorded as entry {done.entry.seq}")


def _target(case: Case, name: str, redact: bool, out: Path | None) -> Path:
    if out is None:
        stem = Path(name).stem
        suffix = "" if stem == "incident" else f"-{stem}"
        suffix += "-redacted" if redact else ""
        case.reports_dir.mkdir(exist_ok=True)  # part of the layout; an old case may lack it
        target = Path(case.reports_dir) / f"report-{case.info.case_id}{suffix}.pdf"
    else:
        target = out
    if target.suffix.lower() != ".pdf":
        raise InputError(f"{target}: the output file must end in .pdf")
    if target.exists() and target.is_dir():
        raise InputError(f"{target} is a folder")
    if not target.parent.is_dir():  # said before rendering; the write itself decides anyway
        raise InputError(f"cannot write {target}: no folder {target.parent}; nothing was recorded")
    return target


def _member(
    case: Case, key_path: Path | None, passphrase_file: Path | None
) -> tuple[Signer | None, str]:
    """The signer to record the export with, or None and why not: no key on this machine,
    or a key that may not write to this case (a non-member, a removed member). Decided from
    the key's public fingerprint, so a non-member is never asked for a passphrase."""
    from irkit.record.keyfiles import read_public
    from irkit.report.model import REPORT_KIND

    path = key_path or default_key_path()
    if key_path is None and not path.exists():
        return None, f"no key on this machine ({path}), so not a member of this case"
    fingerprint = read_public(path).fingerprint
    reason = case.roster().may_sign(fingerprint, REPORT_KIND)
    if reason is not None:
        return None, f"key {fingerprint} may not write to this case ({reason})"
    signer = load_signer(key_path, passphrase_file)
    case.check_signer(signer, REPORT_KIND)
    return signer, ""


def _check(
    case: Case, check_file: Path, template_name: str | None, redact: bool | None, as_json: bool
) -> None:
    from irkit.record.safefile import read_input
    from irkit.report import export
    from irkit.report.model import entry_range

    pdf = read_input(check_file, what="PDF", limit=4 << 30)
    result = export.check(case, pdf, template_name, redact)
    if result.matched_entry is not None:
        how = f"report.exported entry {result.matched_entry}"
    elif result.recorded:
        how = "the journal prefix it shows; no report.exported entry here names it"
    else:
        how = "the journal prefix it shows; rendered unrecorded"
    if as_json:
        print_json(
            {
                "identical": result.identical,
                "file": str(check_file),
                "template": result.template,
                "redacted": result.redacted,
                "size": result.size,
                "matched_entry": result.matched_entry,
                "recorded": result.recorded,
                "reason": result.reason or None,
            }
        )
    elif result.identical:
        echo(
            f"IDENTICAL: {check_file} is the {result.template} report of "
            f"{entry_range(result.size)} (from {how})"
        )
    else:
        why = result.reason or f"not what the case produces (compared with {how})"
        echo(f"DIFFERENT: {check_file}: {why}")
    if not result.identical:
        raise click.exceptions.Exit(ProblemsFound.exit_code)
