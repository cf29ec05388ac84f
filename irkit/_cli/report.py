"""`irkit report`: write a reproducible PDF and record it; or check a PDF against the case."""

from __future__ import annotations

from pathlib import Path

import click

from irkit._cli._common import case_option, echo, key_options, load_signer, open_case
from irkit.errors import InputError, ProblemsFound


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
    default="incident",
    show_default=True,
    help="Report template: incident (full report with contents), custody (one "
    "chain-of-custody form per item), backup-signoff; a NAME from "
    "$IRKIT_HOME/templates/reports/; or a PATH.toml of your organisation's own (keys: title, "
    "organisation, classification, redacted_classification, tlp, reviewers, distribution, "
    "logo, sections).",
)
@click.option(
    "--redact",
    is_flag=True,
    help="Withhold what is marked confidential (notes, their corrections, and those notes "
    "wherever a section quotes them); each shows as [REDACTED] sha256:<digest>.",
)
@click.option(
    "--check",
    "check_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Do not export: regenerate and say whether FILE is byte-identical (exit 0/1).",
)
@case_option
@key_options
def report_cmd(
    out: Path | None,
    template_name: str,
    redact: bool,
    check_file: Path | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Export the case as a PDF tied to the signed journal.

    The PDF is a pure function of the journal and template: exporting appends a signed
    `report.exported` entry with the PDF's SHA-256 and the journal size and Merkle root it
    shows, and `--check FILE` regenerates it to prove FILE is exactly what the case produces.
    """
    from irkit.report import export, templates

    case = open_case(case_dir)
    if check_file is not None:
        from irkit.record.safefile import read_input

        pdf = read_input(check_file, what="PDF", limit=4 << 30)
        result = export.check(case, pdf, template_name, redact)
        how = (
            f"report.exported entry {result.matched_entry}"
            if result.matched_entry is not None
            else "the current journal"
        )
        if result.identical:
            click.echo(
                f"IDENTICAL: {check_file} is the {result.template} report of entries "
                f"#0–#{result.size - 1} (from {how})"
            )
            return
        click.echo(f"DIFFERENT: {check_file} is not what the case produces (compared with {how})")
        raise click.exceptions.Exit(ProblemsFound.exit_code)
    templates.load(template_name)
    signer = load_signer(key_path, passphrase_file)
    if out is None:
        stem = Path(template_name).stem
        suffix = "" if stem == "incident" else f"-{stem}"
        suffix += "-redacted" if redact else ""
        case.reports_dir.mkdir(exist_ok=True)  # part of the layout; an old case may lack it
        target = case.reports_dir / f"report-{case.info.case_id}{suffix}.pdf"
    else:
        target = out
    if target.suffix.lower() != ".pdf":
        raise InputError(f"{target}: the output file must end in .pdf")
    if target.exists() and target.is_dir():
        raise InputError(f"{target} is a folder")
    if not target.parent.is_dir():  # said before rendering; the write itself decides anyway
        raise InputError(f"cannot write {target}: no folder {target.parent}; nothing was recorded")
    case.check_signer(signer, "report.exported")
    done = export.export(case, signer, template_name, redact, target)
    echo(f"wrote {target.absolute()} (sha256 {done.sha256}), recorded as entry {done.entry.seq}")
