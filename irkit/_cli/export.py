"""`irkit export`: the case in formats other tools read (CASE/UCO JSON-LD, CSV, JSONL)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from irkit._cli._common import atomic_output, case_option, echo, json_option, open_case, print_json
from irkit._cli._common import warn as warn_line
from irkit.errors import InputError, ProblemsFound

FORMATS = ("case", "csv", "jsonl")


@click.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="case: CASE/UCO 1.5 JSON-LD; csv: custody events, one row per item; jsonl: the "
    "journal as it is (verified first).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="Where to write (`-` for standard output); a file is written whole or not at all.",
)
@click.option(
    "--force",
    is_flag=True,
    help="jsonl: export a journal that does not verify, as it is (default: refuse).",
)
@case_option
@json_option
def export_cmd(fmt: str, output: str, force: bool, case_dir: Path | None, as_json: bool) -> None:
    """Write the case as FORMAT to FILE, for forensic tools and spreadsheets.

    Entries that do not parse are left out of case and csv exports (named on stderr):
    run `irkit verify` first, or export jsonl, which refuses a journal that does not verify.
    """
    case = open_case(case_dir)
    problems: list[str] = []
    entries_count = 0
    if fmt == "jsonl":
        from irkit.export import jsonl

        copy = jsonl.export(case, force=force)
        data, entries_count = copy.data, copy.entries
        problems = [str(p) for p in copy.report.problems]
    else:
        read = case.read_entries()
        if not read.entries:
            raise InputError(f"{case.root}: the journal holds no readable entry")
        entries_count = len(read.entries)
        if fmt == "case":
            from irkit.export import caseuco

            try:
                data = caseuco.dumps(read.entries)
            except ValueError as exc:
                raise ProblemsFound(f"cannot export: {exc}") from exc
        else:
            from irkit.export import csvexport

            data = csvexport.dumps(read.entries)
    for problem in problems:
        warn_line(f"exported although it does not verify: {problem}")
    if output == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    with atomic_output(output) as stream:
        stream.write(data)
    if as_json:
        print_json({"format": fmt, "output": output, "entries": entries_count, "bytes": len(data)})
    else:
        echo(f"wrote {output}: {fmt}, {entries_count} entries, {len(data):,} bytes")
